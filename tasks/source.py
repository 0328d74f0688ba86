"""Where a build's context comes from: a local directory, or a git URL and ref checked out for the build."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from pydantic import BaseModel

_URL_CREDENTIALS = re.compile(r"//[^/@\s]+@")


class CheckedOutSource(BaseModel):
    context: Path
    revision: str | None = None
    source_url: str | None = None


def without_credentials(text: str) -> str:
    """``text`` with the ``user:token@`` of any URL in it removed, for labels, logs and errors."""
    return _URL_CREDENTIALS.sub("//", text)


def _git(*args: str, cwd: Path | None = None) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        shown = " ".join(without_credentials(a) for a in args)
        raise RuntimeError(f"git {shown} failed: {without_credentials(result.stderr.strip())}")
    return result.stdout.strip()


def is_git_url(location: str) -> bool:
    return location.startswith(("https://", "http://", "git@", "ssh://", "file://", "git://"))


def checkout(location: str, ref: str | None, workdir: Path | None = None) -> CheckedOutSource:
    """A local directory as it is (with its git revision when it is a repository), or a fresh clone of ``ref``."""
    if not is_git_url(location):
        context = Path(location).expanduser().resolve()
        if not context.is_dir():
            raise ValueError(f"build context {location!r} is not a directory")
        try:
            revision = _git("rev-parse", "HEAD", cwd=context)
        except (RuntimeError, FileNotFoundError):
            revision = None
        return CheckedOutSource(context=context, revision=revision)
    target = Path(tempfile.mkdtemp(prefix="eci-release-src-", dir=workdir))
    try:
        _git("clone", "--quiet", location, str(target))
        if ref:
            _git("checkout", "--quiet", ref, cwd=target)
        return CheckedOutSource(
            context=target, revision=_git("rev-parse", "HEAD", cwd=target), source_url=without_credentials(location)
        )
    except BaseException:  # a failed clone or checkout (or no git at all, or Ctrl-C) leaves nothing behind
        shutil.rmtree(target, ignore_errors=True)
        raise

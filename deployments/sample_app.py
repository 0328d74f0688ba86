"""The sample app in ``examples/hello``, staged as a build context with a version of our choosing."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

SAMPLE_APP = Path(__file__).resolve().parents[1] / "examples" / "hello"


def static_busybox() -> Path:
    found = shutil.which("busybox")
    if found is None:
        raise FileNotFoundError("no busybox on PATH: install the busybox-static package")
    path = Path(found).resolve()
    described = subprocess.run(["file", "-L", str(path)], capture_output=True, text=True).stdout
    if "statically linked" not in described:
        raise RuntimeError(f"{path} is not statically linked: install busybox-static (the image has no libc)")
    return path


def stage_sample_app(version: str, into: Path) -> Path:
    """Copy the sample app to ``into`` with the busybox binary, its page saying ``version``."""
    if not re.fullmatch(r"[\w.+-]{1,64}", version):
        raise ValueError(f"version {version!r} must be 1-64 letters, digits, '.', '+', '-' or '_'")
    context = into / "hello"
    shutil.copytree(SAMPLE_APP, context, dirs_exist_ok=True, ignore=shutil.ignore_patterns("busybox"))
    shutil.copy2(static_busybox(), context / "busybox")
    page = context / "www" / "index.html"
    page.write_text(page.read_text().replace(">dev<", f">{version}<"))
    (context / "www" / "version.txt").write_text(f"{version}\n")
    return context

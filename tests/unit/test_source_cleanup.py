"""A clone that fails leaves no temporary directory behind."""

from __future__ import annotations

import subprocess

import pytest

from tasks.source import checkout


def _repository(path):
    path.mkdir()
    (path / "Dockerfile").write_text("FROM scratch\n")
    commit = ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "one"]
    for command in (["init", "-q"], ["add", "."], commit):
        subprocess.run(["git", *command], cwd=path, check=True)
    return path


def test_a_failed_clone_removes_its_directory(tmp_path):
    workdir = tmp_path / "work"
    workdir.mkdir()
    with pytest.raises(RuntimeError, match="git clone"):
        checkout(f"file://{tmp_path / 'no-such-repository'}", None, workdir=workdir)
    assert list(workdir.iterdir()) == []


def test_a_failed_checkout_of_the_ref_removes_the_clone(tmp_path):
    origin = _repository(tmp_path / "origin")
    workdir = tmp_path / "work"
    workdir.mkdir()
    with pytest.raises(RuntimeError, match="git checkout"):
        checkout(f"file://{origin}", "no-such-ref", workdir=workdir)
    assert list(workdir.iterdir()) == []

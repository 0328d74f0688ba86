"""Build sources: credentials in git URLs never reach labels, logs or errors."""

import subprocess

import pytest

from tasks.source import checkout, without_credentials


def test_credentials_are_removed_from_urls_and_messages():
    assert without_credentials("https://bob:tok3n@git.example.com/app.git") == "https://git.example.com/app.git"
    assert "tok3n" not in without_credentials("fatal: repository 'https://bob:tok3n@h/app/' not found")
    assert without_credentials("https://git.example.com/app.git") == "https://git.example.com/app.git"


def test_a_local_git_repository_is_cloned_at_the_ref(tmp_path):
    origin = tmp_path / "origin"
    origin.mkdir()
    (origin / "Dockerfile").write_text("FROM scratch\n")
    for command in (
        ["init", "-q"],
        ["add", "."],
        ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "one"],
        ["tag", "v1"],
    ):
        subprocess.run(["git", *command], cwd=origin, check=True)
    (origin / "Dockerfile").write_text("FROM scratch\nLABEL two=2\n")
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qam", "two"], cwd=origin, check=True
    )
    source = checkout(f"file://{origin}", "v1", workdir=tmp_path)
    assert (source.context / "Dockerfile").read_text() == "FROM scratch\n"
    assert source.revision and len(source.revision) == 40
    assert source.source_url == f"file://{origin}"


def test_a_missing_context_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="is not a directory"):
        checkout(str(tmp_path / "nowhere"), None)

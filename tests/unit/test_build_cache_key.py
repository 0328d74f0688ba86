"""The build cache key: the content of the context decides, not where it lives or what is ignored."""

from __future__ import annotations

import shutil
from pathlib import Path

from tasks.build import cache_key


def _context(root: Path) -> Path:
    (root / "www").mkdir(parents=True)
    (root / "Dockerfile").write_text("FROM scratch\nCOPY www /www\n")
    (root / "www" / "index.html").write_text("v1")
    (root / ".dockerignore").write_text("notes.txt\n")
    return root


def test_same_tree_elsewhere_has_the_same_key(tmp_path):
    first = _context(tmp_path / "a")
    second = tmp_path / "b"
    shutil.copytree(first, second)
    assert cache_key(first) == cache_key(second)


def test_a_changed_file_changes_the_key(tmp_path):
    context = _context(tmp_path / "a")
    before = cache_key(context)
    (context / "www" / "index.html").write_text("v2")
    assert cache_key(context) != before


def test_ignored_files_do_not_count(tmp_path):
    context = _context(tmp_path / "a")
    before = cache_key(context)
    (context / "notes.txt").write_text("scratch notes")
    assert cache_key(context) == before


def test_build_inputs_count(tmp_path):
    context = _context(tmp_path / "a")
    base = cache_key(context)
    assert cache_key(context, build_args={"A": "1"}) != base
    assert cache_key(context, build_args={"A": "1"}) != cache_key(context, build_args={"A": "2"})
    assert cache_key(context, target="final") != base
    assert cache_key(context, platform="linux/arm64") != base
    moved = {"registry/base:1": "sha256:" + "1" * 64}
    assert cache_key(context, bases=moved) != cache_key(context, bases={"registry/base:1": "sha256:" + "2" * 64})
    (context / "Dockerfile").write_text("FROM scratch\nCOPY www /srv\n")
    assert cache_key(context) != base


def test_executable_bit_counts(tmp_path):
    context = _context(tmp_path / "a")
    before = cache_key(context)
    (context / "www" / "index.html").chmod(0o755)
    assert cache_key(context) != before

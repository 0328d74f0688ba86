"""The seed image is reproducible and holds exactly a static busybox (a layer every such image shares) and the
page."""

from __future__ import annotations

import gzip
import io
import json
import sys
import tarfile
from pathlib import Path

import pytest

from localcloud.registry.images import sha256_digest
from localcloud.registry.seed_image import SeedImageError, http_image, is_static_elf, layer, static_busybox


def _members(gzipped_tar: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(gzipped_tar))) as tar:
        return {m.name: m for m in tar.getmembers()}


def test_same_files_give_the_same_layer_bytes():
    files = {"www/index.html": (b"hello", 0o644), "bin/tool": (b"#!", 0o755)}
    assert layer(files) == layer(dict(reversed(files.items())))
    assert layer(files) != layer({**files, "www/index.html": (b"hello!", 0o644)})


def test_layer_entries_carry_no_time_owner_or_gzip_timestamp():
    built = layer({"www/index.html": (b"hello", 0o644)})
    assert built[4:8] == b"\0\0\0\0"  # gzip header MTIME
    members = _members(built)
    assert list(members) == ["www", "www/index.html"]
    for member in members.values():
        assert (member.mtime, member.uid, member.gid, member.uname, member.gname) == (0, 0, 0, "", "")


def test_http_image_is_deterministic_per_page_text():
    first_layers, first_config = http_image("v1")
    again_layers, again_config = http_image("v1")
    other_layers, _ = http_image("v2")
    assert first_layers == again_layers
    assert json.dumps(first_config, sort_keys=True) == json.dumps(again_config, sort_keys=True)
    assert first_layers[0] == other_layers[0]  # busybox: one layer every such image shares
    assert sha256_digest(first_layers[1]) != sha256_digest(other_layers[1])


def test_http_image_holds_busybox_and_the_page_and_serves_it_on_port_80():
    layers, config = http_image("hello page")
    assert [list(_members(built)) for built in layers] == [["bin", "bin/busybox"], ["www", "www/index.html"]]
    members = _members(layers[0])
    assert members["bin/busybox"].mode == 0o755
    assert members["bin/busybox"].size == static_busybox().stat().st_size
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layers[1]))) as tar:
        assert tar.extractfile("www/index.html").read() == b"hello page"
    assert config["config"]["Cmd"] == ["/bin/busybox", "httpd", "-f", "-v", "-p", "80", "-h", "/www"]
    assert config["config"]["ExposedPorts"] == {"80/tcp": {}}
    assert config["os"] == "linux"


def test_static_and_dynamic_binaries_are_told_apart():
    assert is_static_elf(static_busybox().read_bytes())
    assert not is_static_elf(Path(sys.executable).resolve().read_bytes())
    with pytest.raises(SeedImageError, match="not an ELF"):
        is_static_elf(b"#!/bin/sh\n")

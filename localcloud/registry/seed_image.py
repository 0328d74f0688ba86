"""A tiny ``FROM scratch`` web server image, built with no network and no Docker: one layer holding a static
busybox and ``/www/index.html``, run as ``busybox httpd`` on port 80.

Built reproducibly (fixed mtimes, owners and gzip header), so the same page text always gives the same digest.

    digest = push_http_image(registry, "demo/web", "v1", "hello from v1")
"""

from __future__ import annotations

import functools
import gzip
import io
import shutil
import struct
import tarfile
from pathlib import Path
from typing import Any

from localcloud.registry.images import host_architecture
from localcloud.registry.service import Registry

HTTP_PORT = 80
_PT_INTERP = 3  # ELF program header type naming a dynamic loader


class SeedImageError(Exception):
    pass


def static_busybox() -> Path:
    """The static busybox binary on this machine (Debian: ``busybox-static``)."""
    found = shutil.which("busybox")
    if found is None:
        raise SeedImageError("no busybox on PATH: install a static one (Debian: apt-get install busybox-static)")
    path = Path(found).resolve()
    if not is_static_elf(path.read_bytes()):
        raise SeedImageError(
            f"{path} is dynamically linked, so it cannot run alone in a FROM-scratch image: "
            f"install a static busybox (Debian: apt-get install busybox-static)"
        )
    return path


def is_static_elf(binary: bytes) -> bool:
    """An ELF executable with no program interpreter (no dynamic loader) runs without any libraries."""
    if binary[:4] != b"\x7fELF":
        raise SeedImageError("not an ELF binary")
    is_64_bit = binary[4] == 2
    endian = "<" if binary[5] == 1 else ">"
    if is_64_bit:
        (table_offset,) = struct.unpack_from(endian + "Q", binary, 0x20)
        entry_size, entry_count = struct.unpack_from(endian + "HH", binary, 0x36)
    else:
        (table_offset,) = struct.unpack_from(endian + "I", binary, 0x1C)
        entry_size, entry_count = struct.unpack_from(endian + "HH", binary, 0x2A)
    for index in range(entry_count):
        (segment_type,) = struct.unpack_from(endian + "I", binary, table_offset + index * entry_size)
        if segment_type == _PT_INTERP:
            return False
    return True


def layer(files: dict[str, tuple[bytes, int]]) -> bytes:
    """A gzip'd tar layer of ``{path: (content, mode)}`` with its parent directories, byte-for-byte reproducible."""
    directories = sorted({str(Path(p).parent) for p in files} - {"."})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for directory in directories:
            tar.addfile(_entry(directory + "/", tarfile.DIRTYPE, 0o755, 0))
        for path in sorted(files):
            content, mode = files[path]
            tar.addfile(_entry(path, tarfile.REGTYPE, mode, len(content)), io.BytesIO(content))
    return gzip.compress(buffer.getvalue(), compresslevel=6, mtime=0)


def _entry(name: str, kind: bytes, mode: int, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size = kind, mode, size
    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
    return info


@functools.cache
def _busybox_layer() -> bytes:
    # Every image shares it: compressing busybox once a process, not once an image, saves 0.2 s a push.
    return layer({"bin/busybox": (static_busybox().read_bytes(), 0o755)})


def http_image(page_text: str) -> tuple[list[bytes], dict[str, Any]]:
    """The layers and config of an image whose web server answers every page with ``page_text``: busybox, then
    the page."""
    config = {
        "architecture": host_architecture(),
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",  # fixed, like SOURCE_DATE_EPOCH=0 builds
        "config": {
            "Cmd": ["/bin/busybox", "httpd", "-f", "-v", "-p", str(HTTP_PORT), "-h", "/www"],
            "ExposedPorts": {f"{HTTP_PORT}/tcp": {}},
            "Labels": {"org.opencontainers.image.title": "localcloud seed web server"},
        },
    }
    return [_busybox_layer(), layer({"www/index.html": (page_text.encode(), 0o644)})], config


def push_http_image(registry: Registry, repository: str, tag: str, page_text: str) -> str:
    """Build the web server image for ``page_text`` and push it as ``repository:tag``; returns its digest."""
    layers, config = http_image(page_text)
    return registry.push_image(repository, tag, layers, config)

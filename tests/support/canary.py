"""Looking for a secret where it must never be: in bytes as they are, and inside base64 runs (docker's
``X-Registry-Auth`` header, basic-auth values, pickles of either)."""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path

_BASE64_RUN = re.compile(rb"[A-Za-z0-9+/_-]{16,}={0,2}")


def _decoded_runs(blob: bytes):
    # A run may be glued to neighbouring bytes that look like base64 (a pickle's length byte, a key name), so
    # every alignment is tried.
    for run in _BASE64_RUN.findall(blob):
        for start in range(4):
            aligned = run[start:].rstrip(b"=")
            for decode in (base64.b64decode, base64.urlsafe_b64decode):
                try:
                    yield decode(aligned + b"=" * (-len(aligned) % 4))
                except (binascii.Error, ValueError):
                    pass


def holds_secret(blob: bytes, secret: str) -> bool:
    needle = secret.encode()
    return needle in blob or any(needle in decoded for decoded in _decoded_runs(blob))


def files_holding_secret(root: Path, secret: str) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file() and holds_secret(path.read_bytes(), secret)]

"""Looking for a secret where it must never be: in bytes as they are, and inside base64 runs (docker's
``X-Registry-Auth`` header, basic-auth values, pickles of either). And the secrets to look for: the session's
log records, and every ACR temporary token localcloud issues to the suite."""

from __future__ import annotations

import base64
import binascii
import logging
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
    return bool(secrets_in(blob, [secret]))


def secrets_in(blob: bytes, secrets: list[str]) -> set[str]:
    """Which of ``secrets`` the blob holds, as they are or base64-encoded (decoding the blob once for all)."""
    needles = {secret: secret.encode() for secret in secrets}
    found = {secret for secret, needle in needles.items() if needle in blob}
    if len(found) < len(needles):
        for decoded in _decoded_runs(blob):
            found |= {secret for secret, needle in needles.items() if needle in decoded}
    return found


def files_holding_secret(root: Path, secret: str) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file() and holds_secret(path.read_bytes(), secret)]


class LogRecords(logging.Handler):
    """Every log record of the test session, as text (message and traceback)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.texts.append(self.format(record))
        except Exception:  # a record that cannot be formatted is still looked at by its parts
            self.texts.append(f"{record.msg!r} {record.args!r}")


def record_issued_tokens(local_cloud) -> list[str]:
    """Wrap the registry's token issue so the suite knows every ACR temporary token it handed out."""
    registry = local_cloud.cloud.registry
    issued: list[str] = []
    issue = registry.issue_token

    def issue_and_remember(ttl_seconds: float):
        login = issue(ttl_seconds)
        issued.append(login.password)
        return login

    registry.issue_token = issue_and_remember
    return issued

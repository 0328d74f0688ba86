"""Looking for a secret where it must never be: in bytes as they are, and inside base64 runs (docker's
``X-Registry-Auth`` header, basic-auth values, pickles of either). And the secrets to look for: the session's
log records, and every ACR temporary token localcloud issues to the suite."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _base64_cores(secret: bytes) -> set[bytes]:
    """What every base64 encoding (either alphabet) of bytes that hold ``secret`` contains, whatever bytes come
    before and after it: for each of the secret's three offsets in a 3-byte group, the characters that encode only
    the secret's own bits."""
    cores = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + secret)
        first = -(-8 * offset // 6)  # the first character no bit of the bytes before the secret reaches
        end = 8 * (offset + len(secret)) // 6  # past the last character no bit of the bytes after it reaches
        core = encoded[first:end]
        cores |= {core, core.translate(_URLSAFE)}
    return cores


def holds_secret(blob: bytes, secret: str) -> bool:
    return bool(secrets_in(blob, [secret]))


def secrets_in(blob: bytes, secrets: list[str]) -> set[str]:
    """Which of ``secrets`` the blob holds, as they are or base64-encoded, at any offset and glued to any
    neighbouring bytes."""
    return {
        secret
        for secret in secrets
        if any(needle in blob for needle in (secret.encode(), *_base64_cores(secret.encode())))
    }


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

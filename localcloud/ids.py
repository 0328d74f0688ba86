"""Resource ids in the shapes Alibaba uses (``asg-…``, ``asc-…``, ``eci-…``, ``exec-…``)."""

from __future__ import annotations

import secrets
import string
import time
import uuid
from datetime import datetime, timezone

_ALPHABET = string.ascii_lowercase + string.digits


def new_id(prefix: str, length: int = 20) -> str:
    return f"{prefix}-" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_hex_id(prefix: str) -> str:
    """OOS style: ``exec-`` + 32 hex digits."""
    return f"{prefix}-{uuid.uuid4().hex}"


def new_request_id() -> str:
    return str(uuid.uuid4()).upper()


def iso_utc(ts: float | None = None, *, minutes_only: bool = False) -> str:
    moment = datetime.fromtimestamp(time.time() if ts is None else ts, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%MZ" if minutes_only else "%Y-%m-%dT%H:%M:%SZ")


def epoch_ms(ts: float | None = None) -> int:
    return int((time.time() if ts is None else ts) * 1000)

"""The audit log: every call localcloud answered, with its parameters (secrets masked) and outcome."""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any

_SECRET_NAME = re.compile(r"(password|secret|token|signature|credential)", re.IGNORECASE)
_NOT_SECRET = {"ClientToken"}  # an idempotency key, useful in the log
# Environment variables carry application secrets in their values, whatever their keys are called.
_ENVIRONMENT_LISTS = {"EnvironmentVars", "EnvironmentVar"}
# Parameters the SDK sends as one JSON string; they are parsed so that what is inside gets masked too.
_JSON_STRINGS = {"Parameters", "Overrides"}
MASK = "******"


def _masked_value(name: str, value: Any) -> Any:
    if value in (None, ""):
        return value
    if _SECRET_NAME.search(name) and name not in _NOT_SECRET:
        return MASK
    if name in _ENVIRONMENT_LISTS and isinstance(value, list):
        return [{**entry, "Value": MASK} if isinstance(entry, dict) and "Value" in entry else entry for entry in value]
    if name in _JSON_STRINGS and isinstance(value, str):
        try:
            return mask_secrets(json.loads(value))
        except json.JSONDecodeError:
            return value
    return mask_secrets(value)


def mask_secrets(params: Any) -> Any:
    """A copy of ``params`` with secrets replaced by ``******``: values under secret-looking names, environment
    variable values, and the same inside JSON-string parameters."""
    if isinstance(params, dict):
        return {k: _masked_value(k, v) for k, v in params.items()}
    if isinstance(params, list):
        return [mask_secrets(v) for v in params]
    return params


class AuditLog:
    def __init__(self) -> None:
        self._entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def record(
        self,
        *,
        product: str,
        action: str,
        params: dict[str, Any],
        status: int,
        code: str | None,
        caller: str,
        access_key_id: str,
        mutating: bool,
        request_id: str,
    ) -> None:
        with self._lock:
            self._entries.append(
                {
                    "seq": len(self._entries) + 1,
                    "time": time.time(),
                    "product": product,
                    "action": action,
                    "caller": caller,
                    "access_key_id": access_key_id,  # who signed it, as ActionTrail shows it ("" inside the cloud)
                    "mutating": mutating,
                    "params": mask_secrets(params),
                    "status": status,
                    "code": code,
                    "request_id": request_id,
                }
            )

    def entries(self, since: int = 0) -> list[dict[str, Any]]:
        """Entries with ``seq`` greater than ``since``."""
        with self._lock:
            return [dict(e) for e in self._entries[since:]]

    def last_seq(self) -> int:
        with self._lock:
            return len(self._entries)

"""The audit log: every call localcloud answered, with its parameters (secrets masked) and outcome."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

_SECRET_NAME = re.compile(r"(password|secret|token|signature|credential)", re.IGNORECASE)
MASK = "******"


def mask_secrets(params: Any) -> Any:
    """A copy of ``params`` with every value under a secret-looking name replaced by ``******``."""
    if isinstance(params, dict):
        return {
            k: (MASK if _SECRET_NAME.search(k) and v not in (None, "") else mask_secrets(v)) for k, v in params.items()
        }
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

"""The same image pushed again inside the window is accepted once: a replayed or re-sent notification, or a
second tag for the same digest, starts no second release. Keys are whatever identifies "the same release"."""

from __future__ import annotations

import threading
import time
from typing import Hashable


class ReplayWindow:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._seen: dict[Hashable, float] = {}
        self._lock = threading.Lock()

    def _forget_old(self, now: float) -> None:
        self._seen = {key: at for key, at in self._seen.items() if now - at < self.seconds}

    def seen(self, key: Hashable) -> bool:
        with self._lock:
            self._forget_old(time.monotonic())
            return key in self._seen

    def claim(self, key: Hashable) -> bool:
        """True for the first claim of ``key`` in the window; False for a replay."""
        now = time.monotonic()
        with self._lock:
            self._forget_old(now)
            if key in self._seen:
                return False
            self._seen[key] = now
            return True

    def release(self, key: Hashable) -> None:
        """Forget a claim whose push was not accepted after all, so that a retry of it is not a replay."""
        with self._lock:
            self._seen.pop(key, None)

"""The same image pushed again inside the window is accepted once: a replayed or re-sent notification, or a
second tag for the same digest, starts no second release."""

from __future__ import annotations

import threading
import time


class ReplayWindow:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._seen: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def _forget_old(self, now: float) -> None:
        self._seen = {key: at for key, at in self._seen.items() if now - at < self.seconds}

    def seen(self, repository: str, digest: str) -> bool:
        with self._lock:
            self._forget_old(time.monotonic())
            return (repository, digest) in self._seen

    def claim(self, repository: str, digest: str) -> bool:
        """True for the first claim of (repository, digest) in the window; False for a replay."""
        now = time.monotonic()
        with self._lock:
            self._forget_old(now)
            if (repository, digest) in self._seen:
                return False
            self._seen[(repository, digest)] = now
            return True

    def release(self, repository: str, digest: str) -> None:
        """Forget a claim whose push was not accepted after all, so that a retry of it is not a replay."""
        with self._lock:
            self._seen.pop((repository, digest), None)

"""The registry's htpasswd file: ``user:bcrypt-hash`` lines, rewritten atomically.

distribution re-reads the file on the next request whenever its modification time changes (measured here: a new
user is accepted on the very next request), so every write gets a strictly newer mtime: two writes within one
timestamp tick would otherwise look like one and the second would go unseen.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Callable

import bcrypt

# The registry checks the bcrypt hash on every request; cost 4 keeps that near a millisecond. The passwords are
# long random strings, so the low cost does not make them guessable.
BCRYPT_COST = 4


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=BCRYPT_COST)).decode()


def parse(text: str) -> dict[str, str]:
    """``user -> hash``; blank lines and ``#`` comments are skipped, as distribution does."""
    entries: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, hashed = line.partition(":")
        if not sep or not user:
            raise ValueError(f"malformed htpasswd line (expected user:hash): {user[:40]!r}")
        entries[user] = hashed
    return entries


def render(entries: dict[str, str]) -> str:
    return "".join(f"{user}:{hashed}\n" for user, hashed in entries.items())


class HtpasswdFile:
    """Thread-safe edits of one htpasswd file (one localcloud owns a registry work dir)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def users(self) -> dict[str, str]:
        with self._lock:
            return self._read()

    def set_user(self, user: str, password: str) -> None:
        if ":" in user or not user:
            raise ValueError(f"an htpasswd user name must be non-empty and contain no ':': {user!r}")
        hashed = hash_password(password)
        with self._lock:
            entries = self._read()
            entries[user] = hashed
            self._write(entries)

    def remove_users(self, should_remove: Callable[[str], bool]) -> list[str]:
        """Remove every user for which ``should_remove(user)`` is true; returns the removed names."""
        with self._lock:
            entries = self._read()
            removed = [user for user in entries if should_remove(user)]
            if removed:
                self._write({u: h for u, h in entries.items() if u not in removed})
            return removed

    def _read(self) -> dict[str, str]:
        return parse(self.path.read_text()) if self.path.exists() else {}

    def _write(self, entries: dict[str, str]) -> None:
        previous_mtime = self.path.stat().st_mtime_ns if self.path.exists() else 0
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(render(entries))
        tmp.chmod(0o600)
        mtime = max(time.time_ns(), previous_mtime + 1_000)
        os.utime(tmp, ns=(mtime, mtime))
        os.replace(tmp, self.path)

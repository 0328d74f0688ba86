"""Temporary registry users, the local form of ACR's ``GetAuthorizationToken`` logins.

Each token is its own htpasswd user whose name carries its expiry (``cr_temp_user_<expiry-ms>_<random>``), so
the htpasswd file alone says which users have expired, across localcloud restarts too.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field

from localcloud.registry.htpasswd import HtpasswdFile

PREFIX = "cr_temp_user_"
_TEMPORARY_USER = re.compile(rf"^{PREFIX}(\d+)_[0-9a-f]+$")


@dataclass(frozen=True)
class TemporaryLogin:
    username: str
    password: str = field(repr=False)
    expires_at: float  # epoch seconds


def expiry_of(username: str) -> float | None:
    """The expiry (epoch seconds) of a temporary user, or None for any other user."""
    match = _TEMPORARY_USER.match(username)
    return int(match.group(1)) / 1000 if match else None


def is_expired(username: str, now: float) -> bool:
    expiry = expiry_of(username)
    return expiry is not None and expiry <= now


class TemporaryUsers:
    def __init__(self, htpasswd: HtpasswdFile) -> None:
        self.htpasswd = htpasswd

    def issue(self, ttl_seconds: float) -> TemporaryLogin:
        """A new user the registry accepts until ``ttl_seconds`` from now; expired users are purged first."""
        if ttl_seconds <= 0:
            raise ValueError(f"a temporary login needs a positive lifetime, got {ttl_seconds} s")
        now = time.time()
        self.purge_expired(now)
        expires_ms = int((now + ttl_seconds) * 1000)
        login = TemporaryLogin(
            username=f"{PREFIX}{expires_ms}_{secrets.token_hex(6)}",
            password=secrets.token_urlsafe(32),
            expires_at=expires_ms / 1000,
        )
        self.htpasswd.set_user(login.username, login.password)
        return login

    def purge_expired(self, now: float | None = None) -> list[str]:
        """Remove the temporary users whose time is up; returns their names."""
        moment = time.time() if now is None else now
        return self.htpasswd.remove_users(lambda user: is_expired(user, moment))

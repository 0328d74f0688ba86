"""The registry localcloud serves images from: one it runs (``Registry.start``) or an existing one
(``Registry.attach``).

    registry = Registry.start(Path("/tmp/lc/registry"))
    login = registry.issue_token(3600)   # docker login -u login.username -p login.password registry.address
    registry.stop()
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from localcloud.registry.client import ManifestInfo, RegistryClient
from localcloud.registry.htpasswd import HtpasswdFile
from localcloud.registry.process import Notifications, RegistryProcess
from localcloud.registry.temporary_users import TemporaryLogin, TemporaryUsers

__all__ = ["Registry", "RegistryNotManaged", "ManifestInfo", "Notifications", "TemporaryLogin"]

ADMIN_USER = "localcloud-admin"


class RegistryNotManaged(Exception):
    """Temporary logins need write access to the registry's htpasswd file, which only a started registry has."""


class Registry:
    def __init__(
        self,
        address: str,
        admin: tuple[str, str] | None,
        *,
        process: RegistryProcess | None = None,
        temporary_users: TemporaryUsers | None = None,
    ) -> None:
        self.address = address
        self._admin = admin
        self._process = process
        self._temporary_users = temporary_users
        self._client = RegistryClient(address, admin)

    def __repr__(self) -> str:
        return f"Registry({self.address!r}, managed={self._process is not None})"

    @classmethod
    def start(cls, work_dir: Path, host: str = "127.0.0.1", notifications: Notifications | None = None) -> "Registry":
        """Run ``docker-registry`` on a free port of ``host``, storing images under ``work_dir/storage`` (and
        sending its push events to ``notifications``, when given).

        A restart with the same ``work_dir`` keeps the images and the temporary logins that have not expired.
        """
        work_dir.mkdir(parents=True, exist_ok=True)
        htpasswd = HtpasswdFile(work_dir / "htpasswd")
        admin = (ADMIN_USER, secrets.token_urlsafe(32))  # a fresh admin password for every start
        htpasswd.set_user(*admin)
        temporary_users = TemporaryUsers(htpasswd)
        temporary_users.purge_expired()
        process = RegistryProcess.start(work_dir, host, htpasswd.path, notifications)
        return cls(process.address, admin, process=process, temporary_users=temporary_users)

    @classmethod
    def attach(cls, address: str, username: str | None = None, password: str | None = None) -> "Registry":
        """Use a registry that is already running (no process is started, ``issue_token`` is unavailable)."""
        if (username is None) != (password is None):
            raise ValueError("attach to a registry with both a username and a password, or with neither")
        return cls(address, (username, password) if username is not None and password is not None else None)

    def stop(self) -> None:
        """Stop the registry process this object started (a no-op for an attached registry). Idempotent."""
        self._client.close()
        if self._process is not None:
            self._process.stop()

    # -- credentials ---------------------------------------------------------------------------------------

    def admin_auth(self) -> dict[str, str] | None:
        """localcloud's own login, as a Docker ``auth_config``; None for an attached registry without one."""
        if self._admin is None:
            return None
        return {"username": self._admin[0], "password": self._admin[1]}

    def issue_token(self, ttl_seconds: float) -> TemporaryLogin:
        """A new temporary user the registry accepts for ``ttl_seconds``."""
        return self._managed_users().issue(ttl_seconds)

    def purge_expired(self) -> list[str]:
        """Remove the temporary users whose time is up; returns their names."""
        return self._managed_users().purge_expired()

    def _managed_users(self) -> TemporaryUsers:
        if self._temporary_users is None:
            raise RegistryNotManaged(
                f"the registry at {self.address} was attached, not started by localcloud, so localcloud cannot "
                f"create temporary logins for it; start it with Registry.start(work_dir) instead"
            )
        return self._temporary_users

    # -- images --------------------------------------------------------------------------------------------

    def catalog(self) -> list[str]:
        return self._client.catalog()

    def tags(self, repository: str) -> list[str]:
        return self._client.tags(repository)

    def manifest(self, repository: str, reference: str) -> ManifestInfo | None:
        return self._client.manifest(repository, reference)

    def push_image(self, repository: str, tag: str, layers: list[bytes], config: dict[str, Any]) -> str:
        """Push gzip'd tar layers and an image config as ``repository:tag``; returns the manifest digest."""
        return self._client.push_image(repository, tag, layers, config)

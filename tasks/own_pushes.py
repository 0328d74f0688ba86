"""The pushes a release makes itself, marked in the Prefect server so that the webhook receiver does not start a
second release for them.

The publish stage marks (repository, tag) right before it pushes and adds the digest once the registry took it;
the registry's notification can arrive before that, so until then the mark covers any digest of the tag. A mark
counts for ``MARK_SECONDS``; a person's push of the same tag in that window is taken for the release's own.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import VariableFilter, VariableFilterName
from prefect.variables import Variable
from pydantic import BaseModel

from tasks.logs import logger
from tasks.variables import write_variable

MARK_SECONDS = 600
_PREFIX = "eci-release-own-push-"


def _name(repository: str, tag: str) -> str:
    # Variable names allow lower-case letters, digits, '-' and '_': a hash of the reference it is.
    return _PREFIX + hashlib.sha256(f"{repository}:{tag}".encode()).hexdigest()[:40]


def _now() -> datetime:
    return datetime.now(timezone.utc)


class OwnPush(BaseModel):
    repository: str
    tag: str
    flow_run_id: str
    digest: str | None = None
    expires_at: datetime

    @classmethod
    def mark(cls, repository: str, tag: str, flow_run_id: str) -> "OwnPush":
        mark = cls(
            repository=repository,
            tag=tag,
            flow_run_id=flow_run_id,
            expires_at=_now() + timedelta(seconds=MARK_SECONDS),
        )
        mark._save()
        _forget_expired()
        return mark

    def pushed(self, digest: str) -> None:
        self.model_copy(update={"digest": digest})._save()

    def failed(self) -> None:
        """The push did not happen: a person's next push of the tag is theirs."""
        Variable.unset(_name(self.repository, self.tag))

    def _save(self) -> None:
        write_variable(_name(self.repository, self.tag), self.model_dump(mode="json"))

    @classmethod
    def find(cls, repository: str, tag: str, digest: str) -> "OwnPush | None":
        """The release's mark that covers this push, if one does."""
        value = Variable.get(_name(repository, tag))
        if not value:
            return None
        mark = cls.model_validate(value)
        if mark.expires_at < _now() or mark.digest not in (None, digest):
            return None
        return mark


def _forget_expired() -> None:
    """Marks of pushes whose time is up go, so they do not pile up in the server (best effort)."""
    try:
        with get_client(sync_client=True) as client:
            found = client.request(
                "POST",
                "/variables/filter",
                json={
                    "variables": VariableFilter(name=VariableFilterName(like_=_PREFIX + "%")).model_dump(),
                    "limit": 200,
                },
            ).json()
            for variable in found:
                value = variable.get("value")
                expires_at = isinstance(value, dict) and value.get("expires_at")
                if expires_at and datetime.fromisoformat(expires_at) < _now():
                    client.delete_variable_by_name(variable["name"])
    except Exception as error:
        logger().warning("could not remove expired push marks: %s", error)

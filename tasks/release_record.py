"""The durable record of a group's last release, and its pin, kept in the Prefect server as variables.

Variables live in the server, so every worker on every machine sees the same record: it is written before the
release's first change to the cloud and before each step acts (the OOS execution and the probe's scaling activity
as soon as they exist), so the ``rollback`` deployment, the report, recovery and the next run know what the last
one did and what it left: image before and after, OOS executions, probe, the processes suspended before it.

A group rolled back by hand is pinned: scheduled and push-triggered runs leave it alone until a manual release
or ``eci-release unpin`` lifts the pin.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Literal

from prefect.variables import Variable
from pydantic import BaseModel, Field

from tasks.logs import logger
from tasks.models import HealthCheck
from tasks.variables import write_variable
from tasks.waiting import Durations

Trigger = Literal["manual", "nightly", "push", "rollback", "recover"]
# "verifying" is not written any more (the verify changes nothing); records from before are still read.
RecordState = Literal[
    "started", "probing", "rolling-out", "verifying", "rolling-back", "released", "rolled_back", "failed"
]
# A record left in one of these states belongs to a release that did not end: recovery finishes it.
UNFINISHED: tuple[RecordState, ...] = ("started", "probing", "rolling-out", "verifying", "rolling-back")
# Triggers that act on their own (a schedule, a registry push); a pin holds them off.
AUTOMATIC_TRIGGERS = ("nightly", "push")
MESSAGE_LIMIT = 1000


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _variable_name(kind: str, group_id: str) -> str:
    # Variable names allow lower-case letters, digits, '-' and '_'.
    return f"eci-release-{kind}-" + re.sub(r"[^a-z0-9_-]+", "-", group_id.lower())


class ReleaseRecord(BaseModel):
    group_id: str
    group_name: str
    trigger: Trigger
    flow_run_id: str | None
    state: RecordState
    step: str = Field(description="the step in progress or the last one done")
    scaling_configuration_id: str
    container: str
    image_before: str
    image_after: str
    suspended_before: list[str] = Field(default_factory=list, description="processes suspended before the release")
    # Not every instance before the release: a record is a Prefect variable of at most 5000 characters, and a group
    # of 200 instances has more ids than that.
    standby_before: list[str] = Field(
        default_factory=list, description="instances already in Standby before the release: a rollback leaves them"
    )
    changed: list[str] = Field(default_factory=list, description="what the release changed in the cloud, in order")
    execution_id: str | None = None
    rollback_execution_id: str | None = None
    probe_client_token: str | None = Field(
        None, description="the probe scale-out's ClientToken, noted before the call: finds it if its answer is lost"
    )
    probe_activity_id: str | None = None
    probe_instance_id: str | None = None
    health_check: HealthCheck | None = Field(
        None, description="the release's own: recovery checks a rollout that ended unseen with it (None: not kept)"
    )
    released_from: str | None = Field(
        None, description="the image before the last successful release: where a rollback goes"
    )
    message: str = ""
    timings: dict[str, float] = Field(default_factory=dict, description="seconds per stage of a release that ended")
    batches: int = Field(0, description="the OOS batches of a release that ended")
    waits: dict[str, float] = Field(
        default_factory=dict,
        description="seconds each kind of wait took (probe scale-out, probe removal, first batch, batch): what the "
        "next release's polls close in on",
    )
    updated_at: str = Field(default_factory=_now)

    @property
    def unfinished(self) -> bool:
        return self.state in UNFINISHED

    @classmethod
    def load(cls, group_id: str) -> "ReleaseRecord | None":
        value = Variable.get(_variable_name("record", group_id))
        return cls.model_validate(value) if value else None

    def save(self, **changes) -> "ReleaseRecord":
        """Write the record with ``changes`` applied; returns the record as written."""
        record = self.model_copy(update={**changes, "updated_at": _now()})
        record.message = record.message[:MESSAGE_LIMIT]  # a variable holds 5000 characters at most
        write_variable(_variable_name("record", self.group_id), record.model_dump(mode="json"))
        return record

    def save_or_log(self, **changes) -> "ReleaseRecord":
        """``save``, for the steps after the release changed the cloud: a Prefect API hiccup there is logged
        and must not turn a good rollout into a rollback."""
        try:
            return self.save(**changes)
        except Exception as error:
            logger().error("could not write the release record of %s: %s", self.group_name, error)
            return self.model_copy(update=changes)


class Journal:
    """The record of a release in progress. Each step notes what recovery would need before it acts; the first
    note, made before the first change, must reach the server (a release that cannot leave a record does not
    start); later ones are ``save_or_log``."""

    def __init__(self, record: ReleaseRecord, *, saved: bool = False) -> None:
        self.record = record
        self.saved = saved  # True for a record already in the server: later notes must not stop what uses it
        self.durations = Durations(record.waits)  # the waits' lengths, written with the next note

    def note(self, **changes) -> None:
        changes.setdefault("waits", dict(self.durations.seconds))
        if not self.saved:
            self.record = self.record.save(**changes)
            self.saved = True
        else:
            self.record = self.record.save_or_log(**changes)

    def remember(self, **changes) -> None:
        """Keep what recovery does not need (it finds it again from what was noted) for the next note: one Prefect
        call fewer between two of the cloud's waits."""
        self.record = self.record.model_copy(update=changes)

    def changing(self, what: str, **changes) -> None:
        """Note, before it happens, a change to the cloud that a rollback must undo."""
        self.note(changed=[*self.record.changed, what], **changes)

    @property
    def changed_anything(self) -> bool:
        return bool(self.record.changed)


class Pin(BaseModel):
    group_id: str
    image: str
    flow_run_id: str | None
    reason: str
    pinned_at: str = Field(default_factory=_now)

    @classmethod
    def load(cls, group_id: str) -> "Pin | None":
        value = Variable.get(_variable_name("pin", group_id))
        return cls.model_validate(value) if value else None

    def save(self) -> None:
        write_variable(_variable_name("pin", self.group_id), self.model_dump(mode="json"))

    @staticmethod
    def lift(group_id: str) -> bool:
        """Remove the group's pin; True when there was one."""
        return Variable.unset(_variable_name("pin", group_id))

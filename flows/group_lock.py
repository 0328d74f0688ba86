"""One release per scaling group at a time, whatever started it, across every worker.

The lock is a Prefect global concurrency limit of one slot named after the group id: it lives in the server, so
it holds across processes and machines, and it is lease-based (renewed while held), so a crashed holder frees the
group once its lease runs out (the server's repossessor service revokes expired leases). The limit is created when
missing; it is never skipped (``strict``).

Without a Prefect server (no ``PREFECT_API_URL``: each ``eci-release`` process starts a temporary one on the Prefect
home's database) there is no repossessor, and a killed process would hold the slot for ever. There the lock is an
exclusive file lock in the Prefect home: every process on the machine shares that database, and the operating
system frees the lock the moment its holder dies.

While a release holds the group, later runs for it wait. When several wait, the newest request wins: a run that
gets the lock ends as superseded, naming the newest run for the same group that was asked for after it and is
still waiting, running or completed (a failed or cancelled run supersedes nothing). Runs for the group are the
ones tagged with it (a run carries the group and trigger tags before it waits: a fan-out creates its children with
them, every other run tags itself) and the deployment runs
due now that no worker has started yet, whose parameters name the group: pushes a second apart make runs that
start in any order. A run a person started (manual, rollback) is never superseded by
a nightly run: that one would then find the group pinned, or deploy after it.
"""

from __future__ import annotations

import fcntl
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterExpectedStartTime,
    FlowRunFilterState,
    FlowRunFilterStateType,
    FlowRunFilterTags,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.concurrency.asyncio import ConcurrencySlotAcquisitionError
from prefect.concurrency.sync import concurrency
from prefect.context import FlowRunContext
from prefect.exceptions import ObjectAlreadyExists
from prefect.settings import PREFECT_API_URL, PREFECT_HOME

from tasks.logs import logger
from tasks.models import ScalingGroupRef
from tasks.rate_limits import GROUP_LOCK_PREFIX, recount_sharing
from tasks.release_record import AUTOMATIC_TRIGGERS

CLOCK_SLACK = timedelta(seconds=10)
# Every deployment of prefect.yaml carries this tag.
DEPLOYMENT_TAG = "eci-release"
# Renewed every few seconds while held; a holder that died frees the group after this long.
LEASE_SECONDS = 60


class Superseded(Exception):
    def __init__(self, newer: FlowRun):
        super().__init__(f"superseded by the newer run {newer.name!r} ({newer.id}) for the same scaling group")
        self.newer = newer


def limit_name(group_id: str) -> str:
    return GROUP_LOCK_PREFIX + group_id


def group_tag(group_id: str) -> str:
    return f"eci-release-group:{group_id}"


_TRIGGER_TAG = "eci-release-trigger:"


def trigger_tag(trigger: str) -> str:
    return _TRIGGER_TAG + trigger


# A run in one of these states is a request that still stands (or that was carried out).
_STANDING = {StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING, StateType.PAUSED, StateType.COMPLETED}


def _requested_at(run: FlowRun):
    # When the run was asked for: its creation for a run started now (from the UI, the API or a shell), the time
    # it was scheduled for when a schedule created it long before. Not when it happened to start running: a
    # worker (or a shell's temporary server) may start a newer request first.
    return run.expected_start_time or run.created


def run_trigger(run: FlowRun) -> str:
    """What started a run: its trigger tag once it runs, before that its ``trigger`` parameter."""
    for tag in run.tags:
        if tag.startswith(_TRIGGER_TAG):
            return tag.removeprefix(_TRIGGER_TAG)
    return str(run.parameters.get("trigger", "manual"))


def superseding_run(me: FlowRun, my_trigger: str, runs: list[FlowRun]) -> FlowRun | None:
    """The newest of ``runs`` (all for my group) that supersedes me, or None."""
    person_started = my_trigger not in AUTOMATIC_TRIGGERS
    later = [
        run
        for run in runs
        if run.id != me.id
        and run.state_type in _STANDING
        and _requested_at(run) > _requested_at(me)
        and not (person_started and run_trigger(run) in AUTOMATIC_TRIGGERS)
    ]
    return max(later, key=_requested_at) if later else None


def _create_if_missing(name: str) -> None:
    """Create the group's limit unless it exists."""
    with get_client(sync_client=True) as client:
        try:
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
            logger().info("created the concurrency limit %s (1 slot)", name)
        except ObjectAlreadyExists:  # another run of the group created it since
            pass


def _announce(run: FlowRun, tags: list[str]) -> None:
    """Tag this run with its group and trigger: the queue the newest-wins rule reads. Prefect replaces a run's tags
    whole, so this writes the tags the engine loaded at the start plus these: a tag added to the run in between
    would be lost (nothing in the pipeline adds one)."""
    missing = [tag for tag in tags if tag not in run.tags]
    if missing:
        with get_client(sync_client=True) as client:
            client.update_flow_run(run.id, tags=[*run.tags, *missing])


def _names_group(run: FlowRun, group: ScalingGroupRef) -> bool:
    target = run.parameters.get("target")
    named = run.parameters.get("scaling_group") or (target.get("scaling_group") if isinstance(target, dict) else None)
    return named in (group.scaling_group_id, group.scaling_group_name)


def _runs_of_group(group: ScalingGroupRef) -> list[FlowRun]:
    with get_client(sync_client=True) as client:
        announced = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[group_tag(group.scaling_group_id)])),
            sort=FlowRunSort.START_TIME_DESC,
            limit=200,
        )
        not_started = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                tags=FlowRunFilterTags(all_=[DEPLOYMENT_TAG]),
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED, StateType.PENDING])),
                # Due now (a little slack for a worker whose clock is behind the server's), not scheduled later.
                expected_start_time=FlowRunFilterExpectedStartTime(before_=datetime.now(timezone.utc) + CLOCK_SLACK),
            ),
            sort=FlowRunSort.EXPECTED_START_TIME_DESC,
            limit=200,
        )
    return announced + [run for run in not_started if _names_group(run, group)]


def _server_slot(name: str):
    return concurrency(name, occupy=1, strict=True, lease_duration=LEASE_SECONDS)


@contextmanager
def _one_slot(name: str):
    """The group's one slot: the server's lease-based limit, or without a server a file lock (see above)."""
    if PREFECT_API_URL.value():
        with ExitStack() as held:
            try:
                held.enter_context(_server_slot(name))
            except ConcurrencySlotAcquisitionError:  # no limit yet: the group's first release, or one starting with it
                _create_if_missing(name)  # (which may have created it since: then this one goes on to wait its turn)
                held.enter_context(_server_slot(name))
            yield
        return
    path = Path(PREFECT_HOME.value()) / "locks" / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # waits; freed by the OS if this process dies
        try:
            yield
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)


@contextmanager
def hold_group(group: ScalingGroupRef, trigger: str):
    """Hold the group's lock for the body; raises ``Superseded`` when a newer request for the group exists."""
    group_id = group.scaling_group_id
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        raise RuntimeError("hold_group works inside a flow run only")
    me = context.flow_run
    _announce(me, [group_tag(group_id), trigger_tag(trigger)])
    logger().info("waiting for the release lock of %s", group_id)
    with _one_slot(limit_name(group_id)):
        newer = superseding_run(me, trigger, _runs_of_group(group))
        if newer is not None:
            raise Superseded(newer)
        logger().info("holding the release lock of %s", group_id)
        recount_sharing()  # this run is one more release sharing the read limits
        yield

"""The fan-out flow: one image to many scaling groups at once.

find every group -> create the missing rate limits -> build and publish (or resolve) the image once, pinned by
digest -> the canary's release alone (when there is one) -> every other group's release at once -> the result and its
report. Each group's release is its own run of the ``release`` deployment, a subflow of this run, so the work pool's
workers (on any machine) share the fan-out, and each takes its group's lock and rolls back only its own group. A
failed group does not stop the others; a failed canary keeps the rest from starting."""

from __future__ import annotations

import time

from prefect import flow, runtime
from prefect.artifacts import create_markdown_artifact
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, FlowRunFilterState, FlowRunFilterStateType
from prefect.client.schemas.objects import TERMINAL_STATES, FlowRun
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound

from blocks.credentials import AlibabaCloudCredentials
from blocks.registry import AcrRegistry
from flows.fan_out_outcome import (
    FanOutGroup,
    FanOutResult,
    GroupOutcome,
    check_groups,
    fan_out_result,
    group_outcome,
    not_started,
    render_markdown,
    stop_reason,
    waves,
)
from flows.group_lock import group_tag, trigger_tag
from flows.inputs import credentials_or_environment, for_target, registry_for
from flows.parameters import ImageSpec, RolloutSpec, SourceSpec, TargetSpec
from flows.release import image_to_release
from tasks.logs import logger
from tasks.models import ImageRef, ScalingGroupRef
from tasks.rate_limits import DEFAULT_RATES, create_missing
from tasks.release_record import ReleaseRecord
from tasks.target import find_target
from tasks.timeline import Stopwatch

RELEASE_DEPLOYMENT = "release/release"
_ENDED = FlowRunFilterState(type=FlowRunFilterStateType(any_=sorted(TERMINAL_STATES)))
POLL_SECONDS = 0.5  # one Prefect API call a poll answers for every run of the wave that ended


@flow(name="fan-out")
def fan_out(
    groups: list[FanOutGroup],
    container: str,
    image: ImageSpec,
    source: SourceSpec | None = None,
    canary: FanOutGroup | None = None,
    rollout: RolloutSpec = RolloutSpec(),
    credentials: AlibabaCloudCredentials | None = None,
    registry: AcrRegistry | None = None,
    wave_timeout_seconds: float = 7200,
) -> FanOutResult:
    """Release one image to many ECI scaling groups at once, each as its own run of the release deployment under
    its group's lock: the canary first when there is one, and the other groups only once it succeeded.

    Args:
        groups: the scaling groups (id or name, and a region when not the credentials')
        container: the container in each group's scaling configuration that gets the image
        image: the repository and the tag to push or deploy, or a digest to deploy as it is
        source: what to build (once, for every group); empty to deploy an image already in the registry
        canary: a group released alone first; the others start only when it succeeded
        rollout: how OOS rolls each group's instances and how the new image is verified
        credentials: the Alibaba Cloud Credentials block; empty: from the environment of each worker
        registry: the ACR Registry block; empty: from the environment of each worker
        wave_timeout_seconds: how long to wait for a wave's releases; one still running then goes on, reported
            unfinished
    """
    credentials_resolved = credentials_or_environment(credentials)
    region = credentials_resolved.region_id
    check_groups(groups, canary, region)
    blocks = {"credentials": _reference(credentials), "registry": _reference(registry)}
    release_deployment = _release_deployment_id()
    # Every group is checked before anything is built or started: a wrong one costs nothing. All at once: one by
    # one, 20 groups took 40 s of a busy Prefect server's round trips.
    lookups = {
        group.label: find_target.submit(
            for_target(credentials_resolved, _target(group, container)), group.scaling_group
        )
        for group in [canary, *groups]
        if group
    }
    found = {label: lookup.result() for label, lookup in lookups.items()}
    create_missing(DEFAULT_RATES)
    image_ref, _ = image_to_release(
        image, source, registry_for(image, registry), credentials_resolved, Stopwatch(), skipped={}
    )
    outcomes: list[GroupOutcome] = []
    stopped = None
    for wave in waves(groups, canary):
        if stopped:
            outcomes += [not_started(g, g.region_id or region, stopped, found[g.label].scaling_group_id) for g in wave]
            continue
        started = {
            g.label: _start(release_deployment, found[g.label], container, image_ref, rollout, blocks) for g in wave
        }
        logger().info("started the releases of %s", ", ".join(f"{g} ({r.name})" for g, r in started.items()))
        ended = wait_for_runs(started, wave_timeout_seconds)
        wave_outcomes = [
            group_outcome(
                g,
                g.region_id or region,
                found[g.label].scaling_group_id,
                ended[g.label],
                ReleaseRecord.load(found[g.label].scaling_group_id),
                wave_timeout_seconds,
            )
            for g in wave
        ]
        for outcome in wave_outcomes:
            logger().info("%s: %s: %s", outcome.group, outcome.status, outcome.message)
        outcomes += wave_outcomes
        stopped = stop_reason(wave_outcomes)
    result = fan_out_result(image_ref.pinned, outcomes)
    create_markdown_artifact(
        markdown=render_markdown(result),
        key="fan-out",
        description=f"fan-out to {len(outcomes)} group(s): {result.status}",
    )
    return result


def _target(group: FanOutGroup, container: str) -> TargetSpec:
    return TargetSpec(scaling_group=group.scaling_group, container=container, region_id=group.region_id)


def _release_deployment_id():
    try:
        with get_client(sync_client=True) as client:
            return client.read_deployment_by_name(RELEASE_DEPLOYMENT).id
    except ObjectNotFound:
        raise RuntimeError(
            f"no deployment {RELEASE_DEPLOYMENT} on the Prefect server: a fan-out runs each group's release there. "
            "Point PREFECT_API_URL at a Prefect server with the deployments of prefect.yaml and a worker "
            "(`eci-release up` starts one), or release one group at a time"
        ) from None


def _reference(block) -> dict | None:
    """What a release run is given for a block: a reference to the saved block, never its contents; None keeps it
    empty, so the run takes its credentials from the worker's environment as this one did."""
    if block is None:
        return None
    return block.model_dump(context={"serialize_blocks_as_references": True})  # refuses a block never saved


def _start(
    deployment_id, group: ScalingGroupRef, container: str, image: ImageRef, rollout: RolloutSpec, blocks: dict
) -> FlowRun:
    """Create the group's release run (a subflow of this run) and return at once; a fan-out run that is retried
    finds the runs it created before instead of starting them again."""
    return run_deployment(
        deployment_id,
        parameters={
            "target": {"scaling_group": group.scaling_group_id, "container": container, "region_id": group.region_id},
            "image": {"repository": image.repository, "digest": image.digest},
            "source": None,
            "rollout": rollout.model_dump(mode="json"),
            "trigger": "manual",
            "mode": "release",
            **blocks,
        },
        flow_run_name=f"{runtime.flow_run.name}-{group.scaling_group_name}",
        # Tagged for its group's queue from the start, so the run need not tag itself (flows/group_lock.py).
        tags=[group_tag(group.scaling_group_id), trigger_tag("manual")],
        idempotency_key=f"fan-out-{runtime.flow_run.id}-{group.scaling_group_id}",
        timeout=0,
    )


def wait_for_runs(runs: dict[str, FlowRun], timeout: float) -> dict[str, FlowRun]:
    """The runs as they are once all have ended, or when ``timeout`` seconds have passed."""
    latest = dict(runs)
    label_of = {run.id: label for label, run in runs.items()}
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            pending = [run.id for run in latest.values() if not (run.state and run.state.is_final())]
            if not pending:
                return latest
            # A poll asks only for the runs that ended since (mostly none: a small answer for the Prefect server,
            # which is busy with the runs themselves); at the deadline, for the others as they are.
            at_deadline = time.monotonic() >= deadline
            if not at_deadline:
                time.sleep(POLL_SECONDS)
            wanted = FlowRunFilter(id=FlowRunFilterId(any_=pending), state=None if at_deadline else _ENDED)
            for run in client.read_flow_runs(flow_run_filter=wanted):
                latest[label_of[run.id]] = run
            if at_deadline:
                return latest

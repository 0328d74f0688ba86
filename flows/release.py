"""The release flow: build -> publish -> update-scaling-config -> probe (one new instance, health-checked) ->
rolling-update (OOS, a health gate between batches) -> verify, with a rollback to the exact snapshot when anything
fails, or the run is stopped, after the cloud was changed. An unfinished release a crash left is recovered first."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Callable, Literal

from prefect import flow, runtime
from prefect.artifacts import create_markdown_artifact
from prefect.states import Cancelled

from blocks.credentials import AlibabaCloudCredentials
from blocks.registry import AcrRegistry
from flows.group_lock import Superseded, hold_group
from flows.inputs import credentials_or_environment, for_target, registry_for
from flows.outcome import StageOutputs, release_result
from flows.parameters import ImageSpec, RolloutSpec, SourceSpec, TargetSpec
from flows.plan import plan_release
from flows.recovery import finish_unfinished
from flows.report import render_markdown
from tasks.build import build_image
from tasks.cloud_views import group_instances
from tasks.logs import logger
from tasks.models import ConfigSnapshot, ImageRef, InstanceState, ReleaseResult, ScalingGroupRef
from tasks.probe import probe_new_instance
from tasks.processes import standby
from tasks.publish import publish_image, resolve_existing_image
from tasks.release_record import AUTOMATIC_TRIGGERS, Journal, Pin, ReleaseRecord, Trigger
from tasks.rollback import rollback_release
from tasks.rolling_update import rolling_update
from tasks.scaling_config import update_scaling_config
from tasks.target import checkout_source, find_target, take_snapshot
from tasks.timeline import Stopwatch, cloud_spans
from tasks.verify import HealthGate, verify_release


class ReleaseFailed(RuntimeError):
    """The release did not complete; ``result`` says what happened and what was rolled back."""

    def __init__(self, result: ReleaseResult):
        super().__init__(result.message)
        self.result = result


def _artifact_key(kind: str, group: str) -> str:
    return f"{kind}-" + re.sub(r"[^a-z0-9-]+", "-", group.lower()).strip("-")


def _publish_report(result: ReleaseResult, group: str) -> None:
    create_markdown_artifact(
        markdown=render_markdown(result, group),
        key=_artifact_key("release", group),
        description=f"release to {group}: {result.status}",
    )


def _publish_plan(result: ReleaseResult, group: str) -> ReleaseResult:
    create_markdown_artifact(
        markdown=f"# Plan for `{group}`\n\n```\n{result.message}\n```\n",
        key=_artifact_key("plan", group),
        description=f"what a release to {group} would do",
    )
    return result


def _instances_now(credentials, group, container: str) -> list[InstanceState]:
    """For the report after a rollback; a failure to read them must not hide the release's own failure."""
    try:
        return group_instances(credentials, group, container)
    except Exception as error:
        logger().error("could not read the group's instances after the rollback: %s", error)
        return []


def builds(image: ImageSpec, source: SourceSpec | None) -> bool:
    """Whether the release builds its image from the source; if not, it deploys one the registry has."""
    return source is not None and image.digest is None


def image_to_release(
    image: ImageSpec, source: SourceSpec | None, registry, credentials, watch: Stopwatch, skipped: dict[str, str]
) -> tuple[ImageRef, bool]:
    """Build and publish from the source, or resolve the existing image. Returns (image, whether anything was
    built or pushed)."""
    if not builds(image, source):
        with watch.stage("publish"):
            image_ref = resolve_existing_image(registry, credentials, image.digest or image.tag)
        skipped["build"] = "an existing image was given"
        skipped["publish"] = f"deploying {image_ref.pinned} as it is in the registry"
        return image_ref, False
    checked_out = checkout_source(source.context, source.ref)
    try:
        with watch.stage("build"):
            built = build_image(
                Path(checked_out.context),
                source.dockerfile,
                source.build_args,
                source.target,
                source.platform,
                checked_out.revision,
                checked_out.source_url,
                registry,
                credentials,
                return_state=True,
            ).result()
    finally:
        if checked_out.source_url:  # a clone made for this build
            shutil.rmtree(checked_out.context, ignore_errors=True)
    with watch.stage("publish"):
        published = publish_image(built, registry, credentials, image.tag)
    if not built.built:
        skipped["build"] = f"unchanged tree: reused {built.image_id[:19]}"
    if not published.pushed:
        skipped["publish"] = f"the registry already had {published.image.digest} as {image.tag}"
    return published.image, built.built or published.pushed


@flow(name="release")
def release(
    target: TargetSpec,
    image: ImageSpec,
    source: SourceSpec | None = None,
    rollout: RolloutSpec = RolloutSpec(),
    credentials: AlibabaCloudCredentials | None = None,
    registry: AcrRegistry | None = None,
    trigger: Trigger = "manual",
    mode: Literal["release", "plan"] = "release",
) -> ReleaseResult:
    """Release an image to an ECI scaling group: from a source (build and push) or an image already in the
    registry (a tag or a digest), then roll it out and verify it. One release per group at a time; a newer
    request for the same group supersedes a waiting one. The plan mode changes nothing: it says what a release
    would do.

    Args:
        target: the scaling group and the container that gets the image
        image: the repository and the tag to push or deploy, or a digest to deploy as it is
        source: what to build; empty to deploy an image already in the registry
        rollout: how OOS rolls the instances and how the new image is verified
        credentials: the Alibaba Cloud Credentials block; empty: from the environment
        registry: the ACR Registry block; empty: from the environment
        trigger: what started the run; nightly and push runs leave a pinned group alone
        mode: release, or plan: show what a release would do (image, configuration diff, batches, calls, ETA)
    """
    credentials = credentials_or_environment(credentials)
    registry = registry_for(image, registry)
    # The target is checked before anything is built or pushed: a wrong group costs nothing.
    group = find_target(for_target(credentials, target), target.scaling_group)
    if mode == "plan":  # reads only: no lock, no record
        plan = plan_release(credentials, registry, group, target, image, source, rollout)
        return _publish_plan(plan, group.scaling_group_name)
    return run_holding_group(
        group,
        trigger,
        lambda: release_held(credentials, registry, group, target, image, source, rollout, trigger),
    )


def run_holding_group(group: ScalingGroupRef, trigger: Trigger, release_it: Callable[[], ReleaseResult]):
    """Run ``release_it`` holding the group's lock, under the pin's rules: nightly and push runs leave a pinned group
    alone, a successful manual release lifts the pin, a successful rollback sets it. Returns the result (also
    published as the report), or a Cancelled state when a newer request superseded this run."""
    try:
        with hold_group(group, trigger):
            pin = Pin.load(group.scaling_group_id)
            if pin and trigger in AUTOMATIC_TRIGGERS:
                result = _held_off_by_pin(group.scaling_group_name, pin, trigger)
            else:
                result = release_it()
                if trigger == "rollback":
                    result = _pin(group.scaling_group_id, result)
                elif pin and trigger == "manual":
                    Pin.lift(group.scaling_group_id)
                    logger().info("a manual release lifts the pin of %s to %s", group.scaling_group_name, pin.image)
    except Superseded as superseded:
        logger().warning("release to %s: %s", group.scaling_group_name, superseded)
        return Cancelled(message=str(superseded))
    _publish_report(result, group.scaling_group_name)
    return result


def _pin(group_id: str, result: ReleaseResult) -> ReleaseResult:
    """A group rolled back by hand stays on that image: nightly and push runs leave it alone."""
    Pin(
        group_id=group_id,
        image=result.image.pinned,
        flow_run_id=str(runtime.flow_run.id),
        reason="rolled back by hand",
    ).save()
    return result.model_copy(update={"pin": result.image.pinned})


def _held_off_by_pin(group_name: str, pin: Pin, trigger: str) -> ReleaseResult:
    result = ReleaseResult(
        status="pinned",
        pin=pin.image,
        message=(
            f"{group_name} is pinned to {pin.image} ({pin.reason}): {trigger} runs leave it alone until a "
            "manual release or `eci-release unpin` lifts the pin"
        ),
    )
    logger().warning(result.message)
    return result


def release_held(
    credentials: AlibabaCloudCredentials,
    registry: AcrRegistry,
    group: ScalingGroupRef,
    target: TargetSpec,
    image: ImageSpec,
    source: SourceSpec | None,
    rollout: RolloutSpec,
    trigger: Trigger,
) -> ReleaseResult:
    """The release proper, with the group's lock held. Raises ``ReleaseFailed`` when it failed (rolled back, or with
    nothing changed); a stop (SIGTERM, a cancel) rolls back too, then ends the run as Prefect says. ``credentials``
    are the registry's; the group's calls are made in its own region."""
    registry_credentials, credentials = credentials, for_target(credentials, target)
    previous = ReleaseRecord.load(group.scaling_group_id)
    recovery = finish_unfinished(credentials, group, rollout, previous)
    if recovery is not None and not recovery.complete:  # nothing more is done to a group left inconsistent
        raise ReleaseFailed(
            ReleaseResult(
                status="failed",
                recovery=recovery,
                message=f"{group.scaling_group_name}: {recovery.found}; recovery did not finish: {recovery.done}",
            )
        )
    if recovery is not None:
        previous = ReleaseRecord.load(group.scaling_group_id)  # as recovery left it
    watch, skipped = Stopwatch(), {}
    group = find_target(credentials, group.scaling_group_id)  # as it is now that this release holds it
    before = take_snapshot(credentials, group, target.container)  # no such container: fails before any build
    image_ref, produced = image_to_release(image, source, registry, registry_credentials, watch, skipped)
    if builds(image, source):
        # A build took a while: snapshot again right before the write, so that a rollback restores what was there
        # when the release changed it.
        group = find_target(credentials, group.scaling_group_id)
        before = take_snapshot(credentials, group, target.container)
    instances_before = group_instances(credentials, group, target.container)
    journal = Journal(_record(before, image_ref, trigger, rollout, standby(credentials, group), previous))
    outputs = StageOutputs(
        group_name=group.scaling_group_name,
        image=image_ref,
        config_before=before.image,
        instances_before=instances_before,
        produced=produced,
        recovery=recovery,
    )
    try:
        _change_and_verify(credentials, before, image_ref, journal, rollout, watch, skipped, outputs)
    except BaseException as error:  # a stop (TerminationSignal, KeyboardInterrupt) is a failure too
        result = _undo(credentials, before, journal, outputs, rollout, watch, skipped, error)
        if isinstance(error, Exception):
            raise ReleaseFailed(result) from error
        raise
    result = release_result(_so_far(credentials, outputs, journal, watch, skipped))
    if journal.changed_anything:
        journal.note(
            state="released",
            step="done",
            message=result.message,
            # What a rollback goes back to; after a rollback, nothing (a second one would undo the first).
            released_from=None if trigger == "rollback" else before.image,
            timings=result.timings,  # what a plan's ETA scales from
            batches=outputs.rollout.batches if outputs.rollout else 0,
        )
    return result


def _change_and_verify(
    credentials: AlibabaCloudCredentials,
    before: ConfigSnapshot,
    image_ref: ImageRef,
    journal: Journal,
    rollout: RolloutSpec,
    watch: Stopwatch,
    skipped: dict[str, str],
    outputs: StageOutputs,
) -> None:
    """update-scaling-config -> probe -> rolling-update -> verify; each stage's output goes into ``outputs``."""
    pinned = image_ref.pinned
    gate = HealthGate(credentials, before, pinned, rollout.health_check)
    with watch.stage("update-scaling-config"):
        outputs.change = update_scaling_config(credentials, before, image_ref, journal)
    if not outputs.change.written:
        skipped["update-scaling-config"] = "the configuration already held the image"
    if outputs.change.written or any(i.image != pinned for i in outputs.instances_before):
        with watch.stage("probe"):
            outputs.probe = probe_new_instance(
                credentials,
                before,
                pinned,
                journal,
                rollout.health_check,
                rollout.scale_out_timeout_seconds,
            )
    else:
        skipped["probe"] = "nothing to change: no probe instance started"
    with watch.stage("rolling-update"):
        outputs.rollout = rolling_update(
            credentials,
            before,
            pinned,
            journal,
            gate,
            rollout.batch_number,
            rollout.batch_pause,
            rollout.timeout_seconds,
        )
    if outputs.rollout.status == "Skipped":
        skipped["rolling-update"] = outputs.rollout.skipped_reason or "skipped"
    # The verify changes nothing: a release that dies here after a successful rollout is found finished by recovery
    # (after a skipped rollout it is rolled back, which leaves the group as it was).
    with watch.stage("verify"):
        probed = outputs.probe is not None and outputs.probe.instance_id is not None
        outputs.swept = verify_release(credentials, before, pinned, gate if journal.changed_anything else None, probed)
    outputs.health_checked = list(gate.checked)


def _so_far(
    credentials, outputs: StageOutputs, journal: Journal, watch: Stopwatch, skipped: dict[str, str]
) -> StageOutputs:
    """The stages' outputs with what the journal and the stopwatch know now, and the cloud's own timings."""
    record = journal.record
    executions = [e for e in (record.execution_id, record.rollback_execution_id) if e]
    cloud = cloud_spans(credentials, watch.origin, executions, record.probe_activity_id)
    return outputs.model_copy(
        update=dict(
            changed=record.changed,
            execution_id=record.execution_id,
            timings=watch.timings,
            timeline=sorted([*watch.spans, *cloud], key=lambda span: span.start),
            skipped=dict(skipped),
        )
    )


def _undo(
    credentials,
    before: ConfigSnapshot,
    journal: Journal,
    outputs: StageOutputs,
    rollout: RolloutSpec,
    watch: Stopwatch,
    skipped: dict[str, str],
    error: BaseException,
) -> ReleaseResult:
    """Roll back what the release changed (nothing to do when it changed nothing), and say so."""
    rolled_back = None
    if journal.changed_anything:
        with watch.stage("rollback"):
            rolled_back = rollback_release(
                credentials,
                before,
                journal,
                rollout.batch_number,
                rollout.timeout_seconds,
                rollout.scale_out_timeout_seconds,
            )
    result = release_result(
        _so_far(credentials, outputs, journal, watch, skipped),
        error=error,
        rollback=rolled_back,
        instances_now=_instances_now(credentials, before.group, before.container_name),
    )
    if journal.changed_anything:
        # A rollback that could not finish leaves the record unfinished: recovery (the next release, or
        # `eci-release recover`) tries again.
        state = "rolling-back" if rolled_back and not rolled_back.complete else result.status
        journal.note(state=state, step="rollback", message=result.message)
    try:
        _publish_report(result, before.group.scaling_group_name)
    except Exception as error:  # the report must not hide the failure it reports
        logger().error("could not publish the release report: %s", error)
    return result


def _record(
    before: ConfigSnapshot,
    image: ImageRef,
    trigger: Trigger,
    rollout: RolloutSpec,
    standby_before: list[str],
    previous: ReleaseRecord | None,
) -> ReleaseRecord:
    """The release's record as it starts; saved (to the Prefect server) only once the release is about to change
    something, so a run that changes nothing leaves the last real release's record in place. What a rollback
    would go back to carries over from the ``previous`` record until this release succeeds."""
    return ReleaseRecord(
        released_from=previous.released_from if previous else None,
        waits=previous.waits if previous else {},  # what this release's polls close in on
        group_id=before.group.scaling_group_id,
        group_name=before.group.scaling_group_name,
        trigger=trigger,
        flow_run_id=str(runtime.flow_run.id) if runtime.flow_run.id else None,
        state="started",
        step="update-scaling-config",
        scaling_configuration_id=before.scaling_configuration_id,
        container=before.container_name,
        image_before=before.image,
        image_after=image.pinned,
        suspended_before=before.group.suspended_processes,
        standby_before=standby_before,
        health_check=rollout.health_check,
    )

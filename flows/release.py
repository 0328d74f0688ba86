"""The release flow: build -> publish -> update-scaling-config -> rolling-update -> verify-scale-out, with a
rollback to the exact snapshot when anything fails after the cloud was changed."""

from __future__ import annotations

import re
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from prefect import flow, runtime
from prefect.artifacts import create_markdown_artifact
from prefect.states import Cancelled

from blocks.credentials import AlibabaCloudCredentials
from blocks.registry import AcrRegistry
from flows.group_lock import Superseded, hold_group
from flows.inputs import credentials_or_environment, registry_for
from flows.parameters import ImageSpec, RolloutSpec, SourceSpec, TargetSpec
from flows.report import render_markdown
from tasks.build import build_image
from tasks.cloud_views import find_group, group_instances
from tasks.logs import logger
from tasks.models import (
    ConfigSnapshot,
    ImageRef,
    InstanceState,
    ReleaseResult,
    RolloutResult,
    ScalingGroupRef,
    Verification,
)
from tasks.publish import publish_image, resolve_existing_image
from tasks.release_record import AUTOMATIC_TRIGGERS, Pin, ReleaseRecord, Trigger
from tasks.rollback import rollback_release
from tasks.rolling_update import rolling_update
from tasks.scaling_config import snapshot, update_scaling_config
from tasks.source import checkout
from tasks.verify import sweep, verify_scale_out


class ReleaseFailed(RuntimeError):
    """The release did not complete; ``result`` says what happened and what was rolled back."""

    def __init__(self, result: ReleaseResult):
        super().__init__(result.message)
        self.result = result


class _Stopwatch:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str):
        started = time.monotonic()
        try:
            yield
        finally:
            self.timings[name] = round(time.monotonic() - started, 3)


def _publish_report(result: ReleaseResult, group: str) -> None:
    key = "release-" + re.sub(r"[^a-z0-9-]+", "-", group.lower()).strip("-")
    create_markdown_artifact(
        markdown=render_markdown(result, group), key=key, description=f"release to {group}: {result.status}"
    )


def _instances_now(credentials, group, container: str) -> list[InstanceState]:
    """For the report after a rollback; a failure to read them must not hide the release's own failure."""
    try:
        return group_instances(credentials, group, container)
    except Exception as error:
        logger().error("could not read the group's instances after the rollback: %s", error)
        return []


def _image_to_release(
    image: ImageSpec, source: SourceSpec | None, registry, credentials, watch: _Stopwatch, skipped: dict[str, str]
) -> tuple[ImageRef, bool]:
    """Build and publish from the source, or resolve the existing image. Returns (image, whether anything was
    built or pushed)."""
    if source is None or image.digest is not None:
        with watch.stage("publish"):
            image_ref = resolve_existing_image(registry, credentials, image.digest or image.tag)
        skipped["build"] = "an existing image was given"
        skipped["publish"] = f"deploying {image_ref.pinned} as it is in the registry"
        return image_ref, False
    checked_out = checkout(source.context, source.ref)
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
) -> ReleaseResult:
    """Release an image to an ECI scaling group: from a source (build and push) or an image already in the
    registry (a tag or a digest), then roll it out and verify it. One release per group at a time; a newer
    request for the same group supersedes a waiting one.

    Args:
        target: the scaling group and the container that gets the image
        image: the repository and the tag to push or deploy, or a digest to deploy as it is
        source: what to build; empty to deploy an image already in the registry
        rollout: how OOS rolls the instances and how the new image is verified
        credentials: the Alibaba Cloud Credentials block; empty: from the environment
        registry: the ACR Registry block; empty: from the environment
        trigger: what started the run; nightly and push runs leave a pinned group alone
    """
    credentials = credentials_or_environment(credentials)
    registry = registry_for(image, registry)
    # The target is checked before anything is built or pushed: a wrong group costs nothing.
    group = find_group(credentials, target.scaling_group)
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
    group,
    target: TargetSpec,
    image: ImageSpec,
    source: SourceSpec | None,
    rollout: RolloutSpec,
    trigger: Trigger,
) -> ReleaseResult:
    """The release proper, with the group's lock held. Raises ``ReleaseFailed`` when it had to roll back."""
    watch = _Stopwatch()
    skipped: dict[str, str] = {}
    snapshot(credentials, group, target.container)  # fails early, before any build, when there is no such container
    image_ref, produced = _image_to_release(image, source, registry, credentials, watch, skipped)

    # Snapshot right before the write, so a rollback restores what was there when the release changed it.
    group = find_group(credentials, group.scaling_group_id)
    before = snapshot(credentials, group, target.container)
    instances_before = group_instances(credentials, group, target.container)
    record = _record(before, image_ref, trigger)
    if before.image != image_ref.pinned:  # written before the first change; a run that changes nothing writes none
        record = record.save(state="started", step="update-scaling-config")
    rollout_result: RolloutResult | None = None
    try:
        with watch.stage("update-scaling-config"):
            change = update_scaling_config(credentials, before, image_ref)
        if not change.written:
            skipped["update-scaling-config"] = "the configuration already held the image"
        with watch.stage("rolling-update"):
            rollout_result = rolling_update(
                credentials,
                before,
                image_ref.pinned,
                rollout.batch_number,
                rollout.batch_pause,
                rollout.timeout_seconds,
            )
        if rollout_result.status == "Skipped":
            skipped["rolling-update"] = rollout_result.skipped_reason or "skipped"
        changed = change.written or rollout_result.status != "Skipped"
        if changed:
            record = record.save_or_log(
                state="verifying", step="verify-scale-out", execution_id=rollout_result.execution_id
            )
        with watch.stage("verify-scale-out"):
            if changed:
                verification = verify_scale_out(
                    credentials,
                    before,
                    image_ref.pinned,
                    rollout.health_path,
                    rollout.health_port,
                    rollout.timeout_seconds,
                )
            else:
                verification = Verification(
                    swept=sweep(credentials, before, image_ref.pinned),
                    note="nothing changed: instances swept, no probe instance started",
                )
                skipped["verify-scale-out"] = verification.note
    except Exception as error:
        execution_id = rollout_result.execution_id if rollout_result else getattr(error, "execution_id", None)
        with watch.stage("rollback"):
            rolled_back = rollback_release(
                credentials,
                before,
                image_ref.pinned,
                execution_id,
                [i.instance_id for i in instances_before],
                rollout.batch_number,
                rollout.timeout_seconds,
            )
        outcome = "rolled back" if rolled_back.complete else "ROLLBACK INCOMPLETE, check the group"
        result = ReleaseResult(
            status="rolled_back" if rolled_back.complete else "failed",
            image=image_ref,
            config_before=before.image,
            config_after=before.image if rolled_back.complete else None,
            execution_id=execution_id,
            instances_before=instances_before,
            instances_after=_instances_now(credentials, group, target.container),
            rollback=rolled_back,
            timings=watch.timings,
            skipped=skipped,
            message=f"release of {image_ref.pinned} failed ({error}); {outcome}: {rolled_back.message}",
        )
        record.save_or_log(state=result.status, step="rollback", execution_id=execution_id, message=result.message)
        _publish_report(result, group.scaling_group_name)
        raise ReleaseFailed(result) from error

    unchanged = not produced and not changed
    result = ReleaseResult(
        status="unchanged" if unchanged else "released",
        image=image_ref,
        config_before=before.image,
        config_after=change.image_after,
        execution_id=rollout_result.execution_id,
        instances_before=instances_before,
        instances_after=verification.swept,
        verification=verification,
        timings=watch.timings,
        skipped=skipped,
        message=(
            f"{group.scaling_group_name} already runs {image_ref.pinned}; nothing changed"
            if unchanged
            else f"{group.scaling_group_name} runs {image_ref.pinned} on {len(verification.swept)} instance(s)"
        ),
    )
    if changed:
        record.save_or_log(
            state="released",
            step="done",
            probe_instance_id=verification.probe_instance_id,
            message=result.message,
            # What a rollback goes back to; after a rollback, nothing (a second one would undo the first).
            released_from=None if trigger == "rollback" else before.image,
        )
    return result


def _record(before: ConfigSnapshot, image: ImageRef, trigger: Trigger) -> ReleaseRecord:
    """The release's record as it starts; saved (to the Prefect server) only once the release changes something,
    so a run that changes nothing leaves the last real release's record in place. What a rollback would go back
    to carries over until this release succeeds."""
    previous = ReleaseRecord.load(before.group.scaling_group_id)
    return ReleaseRecord(
        released_from=previous.released_from if previous else None,
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
    )

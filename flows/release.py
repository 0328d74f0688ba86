"""The release flow: build -> publish -> update-scaling-config -> rolling-update -> verify-scale-out, with a
rollback to the exact snapshot when anything fails after the cloud was changed."""

from __future__ import annotations

import re
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows.inputs import load_credentials, load_registry
from flows.parameters import ImageSpec, RolloutSpec, SourceSpec, TargetSpec
from flows.report import render_markdown
from tasks.build import build_image
from tasks.cloud_views import find_group, group_instances
from tasks.logs import logger
from tasks.models import ImageRef, InstanceState, ReleaseResult, RolloutResult, Verification
from tasks.publish import publish_image, resolve_existing_image
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
            )
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
    target: TargetSpec, image: ImageSpec, source: SourceSpec | None = None, rollout: RolloutSpec = RolloutSpec()
) -> ReleaseResult:
    """Release an image to an ECI scaling group: from a source (build and push) or an image already in the
    registry (a tag or a digest), then roll it out and verify it."""
    credentials = load_credentials(target.credentials_block)
    registry = load_registry(image)
    watch = _Stopwatch()
    skipped: dict[str, str] = {}
    # The target is checked before anything is built or pushed: a wrong group costs nothing.
    group = find_group(credentials, target.scaling_group)
    snapshot(credentials, group, target.container)
    image_ref, produced = _image_to_release(image, source, registry, credentials, watch, skipped)

    # Snapshot right before the write, so a rollback restores what was there when the release changed it.
    group = find_group(credentials, group.scaling_group_id)
    before = snapshot(credentials, group, target.container)
    instances_before = group_instances(credentials, group, target.container)
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
    _publish_report(result, group.scaling_group_name)
    return result

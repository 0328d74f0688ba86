"""The rollback flow: put a group back on the image it ran before its last successful release, verified as a
release is, and pin it there so that nightly and push runs leave it alone until a manual release or an unpin."""

from __future__ import annotations

from prefect import flow

from blocks.credentials import AlibabaCloudCredentials
from blocks.registry import AcrRegistry
from flows.inputs import credentials_or_environment, registry_for
from flows.parameters import ImageSpec, RolloutSpec, TargetSpec
from flows.release import release_held, run_holding_group
from tasks.cloud_views import TargetError, find_group
from tasks.models import ImageRef, ReleaseResult, ScalingGroupRef
from tasks.release_record import ReleaseRecord


@flow(name="rollback")
def rollback(
    scaling_group: str,
    rollout: RolloutSpec = RolloutSpec(),
    credentials: AlibabaCloudCredentials | None = None,
    registry: AcrRegistry | None = None,
) -> ReleaseResult:
    """Roll the group back to the image it ran before its last successful release (from the release record).

    Args:
        scaling_group: scaling group id (asg-...) or name
        rollout: how OOS rolls the instances and how the image is verified
        credentials: the Alibaba Cloud Credentials block; empty: from the environment
        registry: the ACR Registry block; empty: from the environment
    """
    credentials = credentials_or_environment(credentials)
    group = find_group(credentials, scaling_group)

    def back_to_the_previous_image() -> ReleaseResult:
        # Read with the lock held, so a release that was running cannot change it underneath.
        target, image = _previous_release(group)
        return release_held(credentials, registry_for(image, registry), group, target, image, None, rollout, "rollback")

    return run_holding_group(group, "rollback", back_to_the_previous_image)


def _previous_release(group: ScalingGroupRef) -> tuple[TargetSpec, ImageSpec]:
    record = ReleaseRecord.load(group.scaling_group_id)
    if record is None or record.released_from is None:
        why = (
            "it has no release record"
            if record is None
            else f"its last change was a rollback (to {record.image_after}); release an image to move it"
            if record.trigger == "rollback"
            else "no release to it has succeeded since it was created or last rolled back"
        )
        raise TargetError(f"nothing to roll {group.scaling_group_name} back to: {why}")
    previous = ImageRef.parse_pinned(record.released_from)
    return (
        TargetSpec(scaling_group=group.scaling_group_id, container=record.container),
        ImageSpec(repository=previous.repository, digest=previous.digest),
    )

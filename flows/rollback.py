"""The rollback flow: put a group back on the image it ran before its last release, verified as a release is,
and pin it there so that nightly and push runs leave it alone until a manual release or an unpin."""

from __future__ import annotations

from prefect import flow

from blocks.credentials import AlibabaCloudCredentials
from blocks.registry import AcrRegistry
from flows.inputs import credentials_or_environment
from flows.parameters import ImageSpec, RolloutSpec, TargetSpec
from flows.release import release
from tasks.cloud_views import TargetError, find_group
from tasks.models import ImageRef, ReleaseResult
from tasks.release_record import ReleaseRecord


@flow(name="rollback")
def rollback(
    scaling_group: str,
    rollout: RolloutSpec = RolloutSpec(),
    credentials: AlibabaCloudCredentials | None = None,
    registry: AcrRegistry | None = None,
) -> ReleaseResult:
    """Roll the group back to the image it ran before its last release (read from the release record).

    Args:
        scaling_group: scaling group id (asg-...) or name
        rollout: how OOS rolls the instances and how the image is verified
        credentials: the Alibaba Cloud Credentials block; empty: from the environment
        registry: the ACR Registry block; empty: from the environment
    """
    group = find_group(credentials_or_environment(credentials), scaling_group)
    record = ReleaseRecord.load(group.scaling_group_id)
    if record is None:
        raise TargetError(f"{group.scaling_group_name} has no release record: there is no earlier image to go back to")
    previous = ImageRef.parse_pinned(record.image_before)
    return release(
        target=TargetSpec(scaling_group=group.scaling_group_id, container=record.container),
        image=ImageSpec(repository=previous.repository, digest=previous.digest),
        rollout=rollout,
        credentials=credentials,
        registry=registry,
        trigger="rollback",
    )

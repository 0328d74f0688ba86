"""The release's first steps as tasks of the flow: find the target group and snapshot its configuration, and check
out the source. Thin wrappers: the functions themselves stay plain, for the CLI and the tests."""

from __future__ import annotations

from blocks.credentials import AlibabaCloudCredentials
from tasks.cloud_views import find_group, require_room_for_one
from tasks.models import ConfigSnapshot, ScalingGroupRef
from tasks.scaling_config import snapshot
from tasks.source import checkout
from tasks.task_policy import stage_task


@stage_task("find-target")
def find_target(credentials: AlibabaCloudCredentials, scaling_group: str) -> ScalingGroupRef:
    """The group by id or name: an Active ECI group that can run an instance (so a release can be verified)."""
    return require_room_for_one(find_group(credentials, scaling_group))


@stage_task("snapshot")
def take_snapshot(credentials: AlibabaCloudCredentials, group: ScalingGroupRef, container: str) -> ConfigSnapshot:
    return snapshot(credentials, group, container)


checkout_source = stage_task("checkout")(checkout)

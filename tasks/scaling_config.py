"""update-scaling-config: point the group's active ECI scaling configuration at the pinned image.

The configuration is snapshotted first (for rollback), written with ``IncrementalUpdate`` so only the
image changes, and read back. When it already holds the image, nothing is written.
"""

from __future__ import annotations

from alibabacloud_ess20220222 import models as ess

from blocks.credentials import AlibabaCloudCredentials
from tasks.cloud_calls import call
from tasks.cloud_views import TargetError
from tasks.logs import logger
from tasks.models import ConfigChange, ConfigSnapshot, ImageRef, ScalingGroupRef
from tasks.release_record import Journal, ReleaseRecord
from tasks.task_policy import stage_task


class ConfigWriteFailed(RuntimeError):
    pass


def read_containers(credentials: AlibabaCloudCredentials, configuration_id: str) -> list[dict]:
    client = credentials.get_ess_client()
    body = call(
        lambda: client.describe_eci_scaling_configurations(
            ess.DescribeEciScalingConfigurationsRequest(
                region_id=credentials.region_id, scaling_configuration_ids=[configuration_id]
            )
        ),
        what="ess DescribeEciScalingConfigurations",
    ).body
    if not body.scaling_configurations:
        raise TargetError(f"scaling configuration {configuration_id} does not exist")
    return [c.to_map() for c in body.scaling_configurations[0].containers]


def snapshot(credentials: AlibabaCloudCredentials, group: ScalingGroupRef, container_name: str) -> ConfigSnapshot:
    containers = read_containers(credentials, group.active_scaling_configuration_id)
    names = [c["Name"] for c in containers]
    if container_name not in names:
        raise TargetError(
            f"the active configuration of {group.scaling_group_name} has no container "
            f"{container_name!r}; its containers are {names}"
        )
    return ConfigSnapshot(
        group=group,
        scaling_configuration_id=group.active_scaling_configuration_id,
        container_name=container_name,
        containers=containers,
    )


def _write_image(credentials: AlibabaCloudCredentials, configuration_id: str, container: str, image: str) -> None:
    """IncrementalUpdate: only this container's image changes; everything else stays as it is."""
    client = credentials.get_ess_client()
    request = ess.ModifyEciScalingConfigurationRequest(
        scaling_configuration_id=configuration_id,
        containers_update_type="IncrementalUpdate",
        containers=[ess.ModifyEciScalingConfigurationRequestContainers(name=container, image=image)],
    )
    call(lambda: client.modify_eci_scaling_configuration(request), what="ess ModifyEciScalingConfiguration")


@stage_task("update-scaling-config")
def update_scaling_config(
    credentials: AlibabaCloudCredentials, before: ConfigSnapshot, image: ImageRef, journal: Journal
) -> ConfigChange:
    log = logger()
    target = image.pinned
    if before.image == target:
        log.info("update-scaling-config: %s already runs %s, nothing written", before.scaling_configuration_id, target)
        return ConfigChange(image_after=target, written=False)
    journal.changing("configuration written", state="started", step="update-scaling-config")
    _write_image(credentials, before.scaling_configuration_id, before.container_name, target)
    after = {c["Name"]: c["Image"] for c in read_containers(credentials, before.scaling_configuration_id)}
    if after.get(before.container_name) != target:
        raise ConfigWriteFailed(
            f"wrote {target} to {before.scaling_configuration_id} but it reads back "
            f"{after.get(before.container_name)!r}"
        )
    log.info("update-scaling-config: %s now runs %s (was %s)", before.scaling_configuration_id, target, before.image)
    return ConfigChange(image_after=target, written=True)


def restore(credentials: AlibabaCloudCredentials, before: ConfigSnapshot) -> None:
    """Put the snapshot's image back (the only field the release wrote, so nothing else is touched) and check
    that every container now reads back exactly as snapshotted."""
    _write_image(credentials, before.scaling_configuration_id, before.container_name, before.image)
    after = read_containers(credentials, before.scaling_configuration_id)
    if after != before.containers:
        changed = sorted(
            {
                key
                for old, new in zip(before.containers, after)
                for key in old.keys() | new.keys()
                if old.get(key) != new.get(key)
            }
        )
        raise ConfigWriteFailed(
            f"restored the image of {before.container_name} in {before.scaling_configuration_id}, but the "
            f"configuration still differs from the snapshot (fields: {changed or 'container list'}); it was "
            "changed by someone else during the release"
        )


def recorded_snapshot(
    credentials: AlibabaCloudCredentials, group: ScalingGroupRef, record: ReleaseRecord
) -> ConfigSnapshot:
    """The snapshot an unfinished release took, rebuilt from its record: the configuration as it is now with the
    recorded container back on the image it had, and the group as it was (the processes suspended before)."""
    containers = read_containers(credentials, record.scaling_configuration_id)
    if record.container not in [c["Name"] for c in containers]:
        raise TargetError(
            f"scaling configuration {record.scaling_configuration_id} has no container {record.container}"
        )
    return ConfigSnapshot(
        group=group.model_copy(update={"suspended_processes": record.suspended_before}),
        scaling_configuration_id=record.scaling_configuration_id,
        container_name=record.container,
        containers=[{**c, "Image": record.image_before} if c["Name"] == record.container else c for c in containers],
    )

"""update-scaling-config: point the group's active ECI scaling configuration at the pinned image.

The configuration is snapshotted first (for rollback), written with ``IncrementalUpdate`` so only the
image changes, and read back. When it already holds the image, nothing is written.
"""

from __future__ import annotations

from alibabacloud_ess20220222 import models as ess
from prefect import task

from blocks.credentials import AlibabaCloudCredentials
from tasks.cloud_calls import call
from tasks.cloud_views import TargetError
from tasks.logs import logger
from tasks.models import ConfigChange, ConfigSnapshot, ImageRef, ScalingGroupRef


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


def _modify(
    credentials: AlibabaCloudCredentials, configuration_id: str, update_type: str, containers: list[dict]
) -> None:
    client = credentials.get_ess_client()
    request = ess.ModifyEciScalingConfigurationRequest(
        scaling_configuration_id=configuration_id,
        containers_update_type=update_type,
        containers=[ess.ModifyEciScalingConfigurationRequestContainers().from_map(c) for c in containers],
    )
    call(lambda: client.modify_eci_scaling_configuration(request), what="ess ModifyEciScalingConfiguration")


@task(name="update-scaling-config")
def update_scaling_config(
    credentials: AlibabaCloudCredentials, before: ConfigSnapshot, image: ImageRef
) -> ConfigChange:
    log = logger()
    target = image.pinned
    if before.image == target:
        log.info("update-scaling-config: %s already runs %s, nothing written", before.scaling_configuration_id, target)
        return ConfigChange(before=before, image_after=target, written=False)
    _modify(
        credentials,
        before.scaling_configuration_id,
        "IncrementalUpdate",
        [{"Name": before.container_name, "Image": target}],
    )
    after = {c["Name"]: c["Image"] for c in read_containers(credentials, before.scaling_configuration_id)}
    if after.get(before.container_name) != target:
        raise ConfigWriteFailed(
            f"wrote {target} to {before.scaling_configuration_id} but it reads back "
            f"{after.get(before.container_name)!r}"
        )
    log.info("update-scaling-config: %s now runs %s (was %s)", before.scaling_configuration_id, target, before.image)
    return ConfigChange(before=before, image_after=target, written=True)


def restore(credentials: AlibabaCloudCredentials, before: ConfigSnapshot) -> None:
    """Put the configuration's containers back exactly as snapshotted, and check it."""
    _modify(credentials, before.scaling_configuration_id, "RenewUpdate", before.containers)
    after = read_containers(credentials, before.scaling_configuration_id)
    restored = [(c["Name"], c["Image"]) for c in after]
    expected = [(c["Name"], c["Image"]) for c in before.containers]
    if restored != expected:
        raise ConfigWriteFailed(
            f"restoring {before.scaling_configuration_id} read back {restored}, expected {expected}"
        )

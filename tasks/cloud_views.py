"""Reads of the target group shared by the stages: the group itself, its InService instances and the image
each one runs, and scaling activities."""

from __future__ import annotations

import json
from functools import partial

from alibabacloud_eci20180808 import models as eci
from alibabacloud_ess20220222 import models as ess

from blocks.credentials import AlibabaCloudCredentials
from tasks.cloud_calls import call
from tasks.models import InstanceState, ScalingGroupRef
from tasks.waiting import poll

# Every lifecycle state an instance of a scaling group can be in.
ALL_STATES = ("Pending", "Pending:Wait", "InService", "Standby", "Protected", "Stopped", "Removing", "Removing:Wait")


class TargetError(ValueError):
    """The target named in the parameters does not exist or cannot be released to; nothing was changed."""


def find_group(credentials: AlibabaCloudCredentials, group: str) -> ScalingGroupRef:
    """The group by id (``asg-…``) or name; it must be an Active ECI group with an active configuration."""
    client = credentials.get_ess_client()
    region = credentials.region_id
    request = (
        ess.DescribeScalingGroupsRequest(region_id=region, scaling_group_ids=[group])
        if group.startswith("asg-")
        else ess.DescribeScalingGroupsRequest(region_id=region, scaling_group_name=group)
    )
    found = call(lambda: client.describe_scaling_groups(request), what="ess DescribeScalingGroups").body.scaling_groups
    if not found:
        raise TargetError(f"no scaling group {group!r} in region {region}: check the name or id and the region")
    if len(found) > 1:
        raise TargetError(f"{len(found)} scaling groups are named {group!r} in {region}; name it by id instead")
    g = found[0]
    if g.group_type != "ECI":
        raise TargetError(f"scaling group {group!r} is of type {g.group_type}; this pipeline releases to ECI groups")
    if g.lifecycle_state != "Active":
        raise TargetError(f"scaling group {group!r} is {g.lifecycle_state}; enable it first")
    if not g.active_scaling_configuration_id:
        raise TargetError(f"scaling group {group!r} has no active scaling configuration")
    return ScalingGroupRef(
        scaling_group_id=g.scaling_group_id,
        scaling_group_name=g.scaling_group_name,
        region_id=region,
        active_scaling_configuration_id=g.active_scaling_configuration_id,
        min_size=g.min_size,
        max_size=g.max_size,
        total_capacity=g.total_capacity or 0,
        suspended_processes=list(g.suspended_processes or []),
    )


def require_room_for_one(group: ScalingGroupRef) -> ScalingGroupRef:
    """A release is verified on at least one instance: a group that cannot run one is refused before any write."""
    if group.max_size < 1:
        raise TargetError(
            f"scaling group {group.scaling_group_name!r} has MaxSize {group.max_size}: it cannot run an instance, "
            "so no release to it can be verified; raise its MaxSize to 1 or more"
        )
    return group


def members(
    credentials: AlibabaCloudCredentials,
    group: ScalingGroupRef,
    states: tuple[str, ...] = ("InService",),
    instance_ids: list[str] | None = None,
) -> list:
    """The group's scaling instances in ``states`` (every page)."""
    client = credentials.get_ess_client()
    found = []
    page = 1
    while True:
        request = ess.DescribeScalingInstancesRequest(
            region_id=group.region_id,
            scaling_group_id=group.scaling_group_id,
            lifecycle_states=list(states),
            instance_ids=instance_ids,
            page_number=page,
            page_size=100,
        )
        body = call(partial(client.describe_scaling_instances, request), what="ess DescribeScalingInstances").body
        found += body.scaling_instances
        if len(found) >= (body.total_count or 0) or not body.scaling_instances:
            return found
        page += 1


def group_instances(
    credentials: AlibabaCloudCredentials,
    group: ScalingGroupRef,
    container_name: str,
    states: tuple[str, ...] = ("InService",),
    instance_ids: list[str] | None = None,
) -> list[InstanceState]:
    """Instances of the group in ``states`` with the image their ``container_name`` container runs."""
    found = members(credentials, group, states, instance_ids)
    details = container_groups(credentials, [m.instance_id for m in found])
    result = []
    for member in found:
        detail = details.get(member.instance_id)
        container = next((c for c in (detail.containers if detail else []) if c.name == container_name), None)
        result.append(
            InstanceState(
                instance_id=member.instance_id,
                lifecycle_state=member.lifecycle_state,
                status=detail.status if detail else "Unknown",
                ip=detail.intranet_ip if detail else "",
                image=container.image if container else None,
            )
        )
    return result


def container_groups(credentials: AlibabaCloudCredentials, ids: list[str]) -> dict:
    """ECI container groups by id (DescribeContainerGroups takes at most 20 ids a call)."""
    client = credentials.get_eci_client()
    found = {}
    for start in range(0, len(ids), 20):
        request = eci.DescribeContainerGroupsRequest(
            region_id=credentials.region_id, container_group_ids=json.dumps(ids[start : start + 20]), limit=20
        )
        body = call(partial(client.describe_container_groups, request), what="eci DescribeContainerGroups").body
        found.update({g.container_group_id: g for g in body.container_groups})
    return found


def scaling_activity(credentials: AlibabaCloudCredentials, activity_id: str):
    client = credentials.get_ess_client()
    body = call(
        lambda: client.describe_scaling_activities(
            ess.DescribeScalingActivitiesRequest(region_id=credentials.region_id, scaling_activity_ids=[activity_id])
        ),
        what="ess DescribeScalingActivities",
    ).body
    return body.scaling_activities[0] if body.scaling_activities else None


def wait_for_activity(
    credentials: AlibabaCloudCredentials, activity_id: str, timeout: float, expected: float | None = None
):
    """The scaling activity once it has left InProgress; the polls close in on ``expected`` seconds when given."""

    def finished():
        activity = scaling_activity(credentials, activity_id)
        return activity if activity is not None and activity.status_code != "InProgress" else None

    return poll(finished, what=f"scaling activity {activity_id}", timeout=timeout, expected=expected)

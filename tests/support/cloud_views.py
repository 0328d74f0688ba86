"""Reads of the cloud through the SDKs that many tests need: the seeded group, its instances, activities."""

from __future__ import annotations

import json

from alibabacloud_eci20180808 import models as eci
from alibabacloud_ess20220222 import models as ess

from tests.support.sdk import SdkClients
from tests.support.waiting import wait_until

REGION = "cn-hangzhou"
SEEDED_GROUP = "ess-eci-test"


def group_by_name(sdk: SdkClients, name: str = SEEDED_GROUP) -> ess.DescribeScalingGroupsResponseBodyScalingGroups:
    body = sdk.ess.describe_scaling_groups(
        ess.DescribeScalingGroupsRequest(region_id=REGION, scaling_group_name=name)
    ).body
    assert body is not None and len(body.scaling_groups) == 1, f"group {name} not found"
    return body.scaling_groups[0]


def instances(
    sdk: SdkClients, group_id: str, *states: str
) -> list[ess.DescribeScalingInstancesResponseBodyScalingInstances]:
    found, page = [], 1
    while True:  # pages of 100, the most the API gives
        body = sdk.ess.describe_scaling_instances(
            ess.DescribeScalingInstancesRequest(
                region_id=REGION,
                scaling_group_id=group_id,
                lifecycle_states=list(states) or None,
                page_size=100,
                page_number=page,
            )
        ).body
        assert body is not None
        found += body.scaling_instances
        if not body.scaling_instances or len(found) >= body.total_count:
            return found
        page += 1


def container_groups(sdk: SdkClients, ids: list[str]) -> list[eci.DescribeContainerGroupsResponseBodyContainerGroups]:
    found = []
    for start in range(0, max(len(ids), 1), 20):  # 20 ids a call, the most the API takes
        chunk = json.dumps(ids[start : start + 20])
        body = sdk.eci.describe_container_groups(
            eci.DescribeContainerGroupsRequest(region_id=REGION, container_group_ids=chunk)
        ).body
        assert body is not None
        found += body.container_groups
    return found


def wait_activity(
    sdk: SdkClients, activity_id: str, timeout: float = 60
) -> ess.DescribeScalingActivitiesResponseBodyScalingActivities:
    """Wait until the activity has left InProgress and return it."""

    def finished():
        body = sdk.ess.describe_scaling_activities(
            ess.DescribeScalingActivitiesRequest(region_id=REGION, scaling_activity_ids=[activity_id])
        ).body
        activity = body.scaling_activities[0]
        return activity if activity.status_code != "InProgress" else None

    return wait_until(finished, timeout=timeout, what=f"scaling activity {activity_id} to finish")


def active_configuration(
    sdk: SdkClients, group
) -> ess.DescribeEciScalingConfigurationsResponseBodyScalingConfigurations:
    body = sdk.ess.describe_eci_scaling_configurations(
        ess.DescribeEciScalingConfigurationsRequest(
            region_id=REGION, scaling_configuration_ids=[group.active_scaling_configuration_id]
        )
    ).body
    assert body is not None and len(body.scaling_configurations) == 1
    return body.scaling_configurations[0]

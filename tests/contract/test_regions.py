"""One localcloud serves several regions: a call sees only its RegionId's groups, instances and executions, and a
resource of another region gets the cloud's not-found error."""

from __future__ import annotations

import json
from typing import Iterator

import pytest
from alibabacloud_eci20180808 import models as eci
from alibabacloud_ess20220222 import models as ess
from alibabacloud_oos20190601 import models as oos

from tests.conftest import scenario_loaded
from tests.support.cloud_views import REGION
from tests.support.errors import api_error
from tests.support.images import push_image
from tests.support.waiting import wait_until

OTHER = "cn-beijing"
TEMPLATE = "ACS-ESS-RollingUpdateByUpdateContainerGroup"


@pytest.fixture
def two_regions(local_cloud, control) -> Iterator[dict]:
    """The seeded group in the default region, and one more in cn-beijing."""
    groups = [{}, {"name": "ess-eci-beijing", "region_id": OTHER, "configuration_name": "beijing-config"}]
    yield from scenario_loaded(control, {"scaling_groups": groups})


def _groups(sdk, region: str) -> list:
    return sdk.ess.describe_scaling_groups(ess.DescribeScalingGroupsRequest(region_id=region)).body.scaling_groups


def _instance_images(sdk, region: str, group_id: str) -> dict[str, str]:
    members = sdk.ess.describe_scaling_instances(
        ess.DescribeScalingInstancesRequest(region_id=region, scaling_group_id=group_id)
    ).body.scaling_instances
    ids = [i.instance_id for i in members]
    found = sdk.eci.describe_container_groups(
        eci.DescribeContainerGroupsRequest(region_id=region, container_group_ids=json.dumps(ids))
    ).body.container_groups
    return {g.container_group_id: g.containers[0].image for g in found}


def _listed(sdk, region: str, execution_id: str) -> list:
    return sdk.oos.list_executions(
        oos.ListExecutionsRequest(region_id=region, execution_id=execution_id)
    ).body.executions


def test_each_region_lists_only_its_own_groups_and_instances(two_regions, sdk):
    [here], [there] = _groups(sdk, REGION), _groups(sdk, OTHER)
    assert (here.scaling_group_name, here.region_id) == ("ess-eci-test", REGION)
    assert (there.scaling_group_name, there.region_id) == ("ess-eci-beijing", OTHER)
    there_instances = _instance_images(sdk, OTHER, there.scaling_group_id)
    assert len(there_instances) == 2
    # The Beijing instances are container groups in Beijing, and nowhere else.
    elsewhere = sdk.eci.describe_container_groups(
        eci.DescribeContainerGroupsRequest(region_id=REGION, container_group_ids=json.dumps(list(there_instances)))
    ).body.container_groups
    assert elsewhere == []


def test_a_group_asked_for_in_another_region_does_not_exist_there(two_regions, sdk):
    [here] = _groups(sdk, REGION)
    error = api_error(
        lambda: sdk.ess.describe_scaling_activities(
            ess.DescribeScalingActivitiesRequest(region_id=OTHER, scaling_group_id=here.scaling_group_id)
        )
    )
    assert (error.status_code, error.code) == (404, "InvalidScalingGroupId.NotFound")
    assert "does not exist in this region" in error.message


def test_a_rolling_update_runs_in_its_region_and_is_seen_only_there(two_regions, sdk, local_cloud, control):
    [here], [there] = _groups(sdk, REGION), _groups(sdk, OTHER)
    image = push_image(local_cloud, "beijing", "released in Beijing")
    parameters = {
        "invokeType": "invoke",
        "scalingGroupId": there.scaling_group_id,
        "scalingConfigurationId": there.active_scaling_configuration_id,
        "containerConfigure": [{"Name": "nginx", "Image": image}],
    }
    started = sdk.oos.start_execution(
        oos.StartExecutionRequest(region_id=OTHER, template_name=TEMPLATE, parameters=json.dumps(parameters))
    ).body.execution
    done = wait_until(
        lambda: next((e for e in _listed(sdk, OTHER, started.execution_id) if e.status == "Success"), None),
        timeout=60,
        what="the Beijing rollout to succeed",
    )
    assert done.execution_id == started.execution_id
    assert set(_instance_images(sdk, OTHER, there.scaling_group_id).values()) == {image}
    assert image not in _instance_images(sdk, REGION, here.scaling_group_id).values()
    # From the default region the execution does not exist: not listed, not to be answered or cancelled.
    assert _listed(sdk, REGION, started.execution_id) == []
    error = api_error(
        lambda: sdk.oos.cancel_execution(
            oos.CancelExecutionRequest(region_id=REGION, execution_id=started.execution_id)
        )
    )
    assert (error.status_code, error.code) == (404, "EntityNotExists.Execution")

"""A group in another region than the credentials' is released there: its calls, its OOS execution and its
instances in its region, the default region's group untouched."""

from __future__ import annotations

import json

import pytest
from alibabacloud_eci20180808 import models as eci
from alibabacloud_ess20220222 import models as ess
from alibabacloud_oos20190601 import models as oos

from flows.parameters import ImageSpec, TargetSpec
from flows.release import release
from localcloud.control_client import ControlClient
from tasks.models import ImageRef
from tests.conftest import scenario_loaded
from tests.e2e.conftest import REPOSITORY
from tests.support.consistency import inconsistencies
from tests.support.images import push_image
from tests.support.sdk import SdkClients

BEIJING = "cn-beijing"


@pytest.fixture
def two_regions(on_simulated_cloud):
    control = ControlClient(on_simulated_cloud.info.control_url)
    beijing = {"name": "ess-eci-beijing", "region_id": BEIJING, "configuration_name": "beijing-config"}
    yield from scenario_loaded(control, {"scaling_groups": [{}, beijing]})


def _images_in(sdk, region: str) -> set[str]:
    [group] = sdk.ess.describe_scaling_groups(ess.DescribeScalingGroupsRequest(region_id=region)).body.scaling_groups
    members = sdk.ess.describe_scaling_instances(
        ess.DescribeScalingInstancesRequest(region_id=region, scaling_group_id=group.scaling_group_id)
    ).body.scaling_instances
    ids = json.dumps([i.instance_id for i in members])
    found = sdk.eci.describe_container_groups(
        eci.DescribeContainerGroupsRequest(region_id=region, container_group_ids=ids)
    ).body.container_groups
    return {g.containers[0].image for g in found}


def test_a_group_in_another_region_is_released_in_its_region(two_regions, on_simulated_cloud):
    sdk = SdkClients.for_cloud(on_simulated_cloud.info)
    image = ImageRef.parse_pinned(push_image(on_simulated_cloud, "beijing", "for Beijing"))
    result = release(
        target=TargetSpec(scaling_group="ess-eci-beijing", container="nginx", region_id=BEIJING),
        image=ImageSpec(repository=REPOSITORY, digest=image.digest),
    )
    assert result.status == "released", result.message
    assert _images_in(sdk, BEIJING) == {image.pinned}
    listed = sdk.oos.list_executions(
        oos.ListExecutionsRequest(region_id=BEIJING, execution_id=result.execution_id)
    ).body.executions
    assert [e.status for e in listed] == ["Success"]
    assert inconsistencies(sdk, two_regions["seed_image"], 2) == []  # the default region's group, untouched

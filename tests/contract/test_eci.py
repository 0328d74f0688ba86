"""ECI 2018-08-08 through the real SDK client, on simulated instances and, where a test is about them, on real
containers behind every instance."""

from __future__ import annotations

import pytest
from alibabacloud_eci20180808 import models as eci

from tests.support.cloud_views import REGION, container_groups, group_by_name, instances
from tests.support.errors import api_error
from tests.support.http import page
from tests.support.images import SEEDED_REPOSITORY, push_image
from tests.support.waiting import wait_until


def _update(sdk, group_id: str, image: str) -> None:
    sdk.eci.update_container_group(
        eci.UpdateContainerGroupRequest(
            region_id=REGION,
            container_group_id=group_id,
            update_type="IncrementalUpdate",
            container=[eci.UpdateContainerGroupRequestContainer(name="nginx", image=image)],
        )
    )


def _status_after_update(sdk, group_id: str) -> eci.DescribeContainerGroupsResponseBodyContainerGroups:
    def settled():
        [group] = container_groups(sdk, [group_id])
        return group if group.status in ("Running", "Failed") else None

    return wait_until(settled, timeout=60, what=f"{group_id} to settle")


@pytest.mark.runtimes("docker")
def test_each_instance_is_a_real_container_answering_on_its_own_address(seeded, sdk):
    ids = [i.instance_id for i in instances(sdk, group_by_name(sdk).scaling_group_id)]
    groups = container_groups(sdk, ids)
    assert {g.container_group_id for g in groups} == set(ids)
    assert len({g.intranet_ip for g in groups}) == 2
    for group in groups:
        assert group.status == "Running"
        assert group.containers[0].image == seeded["seed_image"]
        assert group.containers[0].ready is True
        assert page(group.intranet_ip) == "localcloud seed image\n"


@pytest.mark.runtimes("docker")
def test_in_place_update_keeps_the_address_and_serves_the_new_image(seeded, sdk, local_cloud):
    image = push_image(local_cloud, "eci-v2", "eci contract v2\n")
    group_id = instances(sdk, group_by_name(sdk).scaling_group_id)[0].instance_id
    [before] = container_groups(sdk, [group_id])
    _update(sdk, group_id, image)
    assert container_groups(sdk, [group_id])[0].status == "Updating"
    after = _status_after_update(sdk, group_id)
    assert after.status == "Running"
    assert after.intranet_ip == before.intranet_ip
    assert after.containers[0].image == image
    assert page(after.intranet_ip) == "eci contract v2\n"


@pytest.mark.runtimes("simulated", "docker")
def test_an_image_that_cannot_be_pulled_fails_the_instance(seeded, sdk, local_cloud):
    registry = local_cloud.cloud.registry.address
    group_id = instances(sdk, group_by_name(sdk).scaling_group_id)[0].instance_id
    _update(sdk, group_id, f"{registry}/{SEEDED_REPOSITORY}:no-such-tag")
    after = _status_after_update(sdk, group_id)
    assert after.status == "Failed"
    events = sdk.eci.describe_container_group_events(
        eci.DescribeContainerGroupEventsRequest(region_id=REGION, container_group_ids=f'["{group_id}"]')
    ).body
    reasons = [e.reason for d in events.data for e in d.events]
    assert "ErrImagePull" in reasons


@pytest.mark.runtimes("simulated", "docker")
def test_a_crash_looping_container_fails_the_instance(seeded, sdk, local_cloud, control):
    image = push_image(local_cloud, "crashy", "crashy\n")
    control.add_fault(kind="crash_loop", image="@" + image.split("@")[1])
    group_id = instances(sdk, group_by_name(sdk).scaling_group_id)[0].instance_id
    _update(sdk, group_id, image)
    after = _status_after_update(sdk, group_id)
    assert after.status == "Failed"
    assert after.containers[0].current_state.reason == "CrashLoopBackOff"


def test_unknown_container_group_is_404(seeded, sdk):
    error = api_error(lambda: _update(sdk, "eci-doesnotexist", "x/y:z"))
    assert (error.status_code, error.code) == (404, "InvalidContainerGroupId.NotFound")


def test_container_group_ids_must_be_a_json_array(seeded, sdk):
    error = api_error(
        lambda: sdk.eci.describe_container_groups(
            eci.DescribeContainerGroupsRequest(region_id=REGION, container_group_ids="eci-1,eci-2")
        )
    )
    assert error.code == "InvalidParameter" and "ContainerGroupIds" in error.message

"""ESS 2022-02-22 through the real SDK client: every action the pipeline and OOS use."""

from __future__ import annotations

import pytest
from alibabacloud_ess20220222 import models as ess

from tests.support.cloud_views import (
    REGION,
    active_configuration,
    container_groups,
    group_by_name,
    instances,
    wait_activity,
)
from tests.support.errors import api_error


@pytest.mark.runtimes("simulated", "docker")
def test_seeded_group_is_an_active_eci_group_with_two_instances(seeded, sdk):
    group = group_by_name(sdk)
    assert (group.group_type, group.lifecycle_state, group.min_size, group.max_size) == ("ECI", "Active", 0, 5)
    assert group.active_capacity == 2 and group.total_capacity == 2
    assert group.suspended_processes == []
    members = instances(sdk, group.scaling_group_id, "InService")
    assert len(members) == 2
    assert all(i.instance_id.startswith("eci-") and i.private_ip_address.startswith("127.") for i in members)
    assert {i.scaling_configuration_id for i in members} == {group.active_scaling_configuration_id}


def test_groups_are_regional_and_unknown_ids_are_ignored(seeded, sdk):
    other_region = sdk.ess.describe_scaling_groups(ess.DescribeScalingGroupsRequest(region_id="cn-beijing")).body
    assert other_region.scaling_groups == [] and other_region.total_count == 0
    unknown = sdk.ess.describe_scaling_groups(
        ess.DescribeScalingGroupsRequest(region_id=REGION, scaling_group_ids=["asg-doesnotexist"])
    ).body
    assert unknown.scaling_groups == []


def test_region_is_required(seeded, sdk):
    error = api_error(lambda: sdk.ess.describe_scaling_groups(ess.DescribeScalingGroupsRequest()))
    assert (error.status_code, error.code) == (400, "MissingParameter")
    assert "RegionId" in error.message


def test_unknown_group_is_404(seeded, sdk):
    error = api_error(
        lambda: sdk.ess.scale_with_adjustment(
            ess.ScaleWithAdjustmentRequest(
                scaling_group_id="asg-nope", adjustment_type="QuantityChangeInCapacity", adjustment_value=1
            )
        )
    )
    assert (error.status_code, error.code) == (404, "InvalidScalingGroupId.NotFound")


def test_active_configuration_describes_the_nginx_container(seeded, sdk):
    configuration = active_configuration(sdk, group_by_name(sdk))
    assert configuration.lifecycle_state == "Active"
    assert [c.name for c in configuration.containers] == ["nginx"]
    assert configuration.containers[0].image == seeded["seed_image"]
    assert [p.port for p in configuration.containers[0].ports] == [80]


def test_incremental_update_changes_only_the_image(seeded, sdk):
    group = group_by_name(sdk)
    configuration_id = group.active_scaling_configuration_id
    new_image = seeded["seed_image"].replace(":seed", ":v2")
    sdk.ess.modify_eci_scaling_configuration(
        ess.ModifyEciScalingConfigurationRequest(
            scaling_configuration_id=configuration_id,
            containers_update_type="IncrementalUpdate",
            containers=[ess.ModifyEciScalingConfigurationRequestContainers(name="nginx", image=new_image)],
        )
    )
    container = active_configuration(sdk, group).containers[0]
    assert container.image == new_image
    assert [p.port for p in container.ports] == [80]  # untouched by an incremental update


def test_renew_update_replaces_the_container_list(seeded, sdk):
    group = group_by_name(sdk)
    sdk.ess.modify_eci_scaling_configuration(
        ess.ModifyEciScalingConfigurationRequest(
            scaling_configuration_id=group.active_scaling_configuration_id,
            containers_update_type="RenewUpdate",
            containers=[ess.ModifyEciScalingConfigurationRequestContainers(name="web", image=seeded["seed_image"])],
        )
    )
    containers = active_configuration(sdk, group).containers
    assert [(c.name, c.ports) for c in containers] == [("web", [])]


def test_unknown_configuration_is_refused(seeded, sdk):
    error = api_error(
        lambda: sdk.ess.modify_eci_scaling_configuration(
            ess.ModifyEciScalingConfigurationRequest(
                scaling_configuration_id="asc-nope",
                containers_update_type="IncrementalUpdate",
                containers=[ess.ModifyEciScalingConfigurationRequestContainers(name="nginx", image="x")],
            )
        )
    )
    assert (error.status_code, error.code) == (404, "InvalidScalingConfigurationId.NotFound")


def test_create_configuration_and_switch_the_active_one(seeded, sdk):
    group = group_by_name(sdk)
    old_id = group.active_scaling_configuration_id
    created = sdk.ess.create_eci_scaling_configuration(
        ess.CreateEciScalingConfigurationRequest(
            scaling_group_id=group.scaling_group_id,
            scaling_configuration_name="second",
            cpu=1.0,
            memory=2.0,
            containers=[
                ess.CreateEciScalingConfigurationRequestContainers(
                    name="nginx", image=seeded["seed_image"], tty=False, gpu=1
                )
            ],
        )
    )
    new_id = created.body.scaling_configuration_id
    [described] = sdk.ess.describe_eci_scaling_configurations(
        ess.DescribeEciScalingConfigurationsRequest(region_id=REGION, scaling_configuration_ids=[new_id])
    ).body.scaling_configurations
    assert (described.cpu, described.memory) == (1.0, 2.0)
    assert (described.containers[0].tty, described.containers[0].gpu) == (False, 1)  # typed, not "False"/"1"
    assert new_id.startswith("asc-") and new_id != old_id
    assert group_by_name(sdk).active_scaling_configuration_id == old_id  # a new configuration is not active yet
    sdk.ess.modify_scaling_group(
        ess.ModifyScalingGroupRequest(scaling_group_id=group.scaling_group_id, active_scaling_configuration_id=new_id)
    )
    body = sdk.ess.describe_eci_scaling_configurations(
        ess.DescribeEciScalingConfigurationsRequest(region_id=REGION, scaling_group_id=group.scaling_group_id)
    ).body
    states = {c.scaling_configuration_id: c.lifecycle_state for c in body.scaling_configurations}
    assert states == {old_id: "Inactive", new_id: "Active"}


@pytest.mark.runtimes("simulated", "docker")
def test_scale_out_starts_an_instance_on_the_active_configuration(seeded, sdk):
    group = group_by_name(sdk)
    started = sdk.ess.scale_with_adjustment(
        ess.ScaleWithAdjustmentRequest(
            scaling_group_id=group.scaling_group_id, adjustment_type="QuantityChangeInCapacity", adjustment_value=1
        )
    )
    activity_id = started.body.scaling_activity_id
    busy = api_error(
        lambda: sdk.ess.scale_with_adjustment(
            ess.ScaleWithAdjustmentRequest(
                scaling_group_id=group.scaling_group_id, adjustment_type="QuantityChangeInCapacity", adjustment_value=1
            )
        )
    )
    assert busy.code == "ScalingActivityInProgress"
    activity = wait_activity(sdk, activity_id)
    assert activity.status_code == "Successful" and activity.progress == 100
    assert len(activity.created_instances) == 1
    new_id = activity.created_instances[0]
    [new] = [i for i in instances(sdk, group.scaling_group_id) if i.instance_id == new_id]
    assert new.lifecycle_state == "InService"
    assert new.scaling_configuration_id == group.active_scaling_configuration_id
    [container_group] = container_groups(sdk, [new_id])
    assert container_group.status == "Running"
    assert group_by_name(sdk).active_capacity == 3


def test_the_same_client_token_starts_one_activity(seeded, sdk):
    group = group_by_name(sdk)
    request = ess.ScaleWithAdjustmentRequest(
        scaling_group_id=group.scaling_group_id,
        client_token="release-7",
        adjustment_type="QuantityChangeInCapacity",
        adjustment_value=1,
    )
    first = sdk.ess.scale_with_adjustment(request).body
    again = sdk.ess.scale_with_adjustment(request).body  # a retry after a lost response
    assert again.scaling_activity_id == first.scaling_activity_id
    assert again.request_id != first.request_id
    wait_activity(sdk, first.scaling_activity_id)
    assert len(instances(sdk, group.scaling_group_id)) == 3


def test_scale_out_is_clamped_to_max_size_and_rejected_when_nothing_changes(seeded, sdk):
    group = group_by_name(sdk)
    started = sdk.ess.scale_with_adjustment(
        ess.ScaleWithAdjustmentRequest(
            scaling_group_id=group.scaling_group_id, adjustment_type="TotalCapacity", adjustment_value=2
        )
    )
    activity = wait_activity(sdk, started.body.scaling_activity_id)
    assert activity.status_code == "Rejected"
    assert "total capacity will not change" in activity.status_message


def test_suspended_scale_out_really_stops_scale_outs(seeded, sdk):
    group = group_by_name(sdk)
    sdk.ess.suspend_processes(
        ess.SuspendProcessesRequest(scaling_group_id=group.scaling_group_id, processes=["ScaleOut", "HealthCheck"])
    )
    assert group_by_name(sdk).suspended_processes == ["ScaleOut", "HealthCheck"]
    started = sdk.ess.scale_with_adjustment(
        ess.ScaleWithAdjustmentRequest(
            scaling_group_id=group.scaling_group_id, adjustment_type="QuantityChangeInCapacity", adjustment_value=1
        )
    )
    activity = wait_activity(sdk, started.body.scaling_activity_id)
    assert activity.status_code == "Rejected" and "ScaleOut process" in activity.status_message
    assert len(instances(sdk, group.scaling_group_id)) == 2
    sdk.ess.resume_processes(
        ess.ResumeProcessesRequest(scaling_group_id=group.scaling_group_id, processes=["ScaleOut", "HealthCheck"])
    )
    assert group_by_name(sdk).suspended_processes == []


def test_unknown_process_is_refused(seeded, sdk):
    group = group_by_name(sdk)
    error = api_error(
        lambda: sdk.ess.suspend_processes(
            ess.SuspendProcessesRequest(scaling_group_id=group.scaling_group_id, processes=["Everything"])
        )
    )
    assert error.code == "InvalidParameter" and "Everything" in error.message


@pytest.mark.runtimes("simulated", "docker")
def test_remove_instances_releases_exactly_those_instances(seeded, sdk):
    group = group_by_name(sdk)
    first, second = (i.instance_id for i in instances(sdk, group.scaling_group_id))
    removed = sdk.ess.remove_instances(
        ess.RemoveInstancesRequest(region_id=REGION, scaling_group_id=group.scaling_group_id, instance_ids=[first])
    )
    assert [i.lifecycle_state for i in instances(sdk, group.scaling_group_id) if i.instance_id == first] == ["Removing"]
    activity = wait_activity(sdk, removed.body.scaling_activity_id)
    assert activity.status_code == "Successful" and activity.destroyed_instances == [first]
    assert [i.instance_id for i in instances(sdk, group.scaling_group_id)] == [second]
    assert container_groups(sdk, [first]) == []


def test_remove_below_min_size_is_refused(seeded, sdk):
    group = group_by_name(sdk)
    sdk.ess.modify_scaling_group(ess.ModifyScalingGroupRequest(scaling_group_id=group.scaling_group_id, min_size=2))
    victim = instances(sdk, group.scaling_group_id)[0].instance_id
    error = api_error(
        lambda: sdk.ess.remove_instances(
            ess.RemoveInstancesRequest(region_id=REGION, scaling_group_id=group.scaling_group_id, instance_ids=[victim])
        )
    )
    assert error.code == "IncorrectCapacity.MinSize"
    assert len(instances(sdk, group.scaling_group_id, "InService")) == 2


def test_standby_round_trip_and_wrong_state_refused(seeded, sdk):
    group = group_by_name(sdk)
    instance_id = instances(sdk, group.scaling_group_id)[0].instance_id
    sdk.ess.enter_standby(ess.EnterStandbyRequest(scaling_group_id=group.scaling_group_id, instance_ids=[instance_id]))
    assert [i.instance_id for i in instances(sdk, group.scaling_group_id, "Standby")] == [instance_id]
    again = api_error(
        lambda: sdk.ess.enter_standby(
            ess.EnterStandbyRequest(scaling_group_id=group.scaling_group_id, instance_ids=[instance_id])
        )
    )
    assert again.code == "IncorrectInstanceStatus"
    sdk.ess.exit_standby(ess.ExitStandbyRequest(scaling_group_id=group.scaling_group_id, instance_ids=[instance_id]))
    assert len(instances(sdk, group.scaling_group_id, "InService")) == 2

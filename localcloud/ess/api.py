"""ESS 2022-02-22 actions on the wire. Lists are flat JSON arrays, as the 2022 SDK models parse them."""

from __future__ import annotations

from typing import Any

from localcloud.containers import apply_update, normalize_containers
from localcloud.errors import ApiError, invalid_parameter, missing_parameter
from localcloud.ess.model import (
    COUNTED_STATES,
    EciScalingConfiguration,
    EssModel,
    ScalingActivity,
    ScalingGroup,
    ScalingInstance,
)
from localcloud.gateway.products import ESS
from localcloud.gateway.request import ApiRequest
from localcloud.ids import iso_utc
from localcloud.pagination import page_by_number


def _region(req: ApiRequest) -> str:
    region = req.region_id
    if not region:
        raise missing_parameter("RegionId")
    return region


def _group_for(ess: EssModel, req: ApiRequest) -> ScalingGroup:
    """The group named by ScalingGroupId, in RegionId when the call carries one."""
    return ess.group(req.str("ScalingGroupId", required=True), req.region_id)


# -- rendering ---------------------------------------------------------------------------------------------------


def render_group(ess: EssModel, group: ScalingGroup) -> dict[str, Any]:
    members = ess.members(group.id, COUNTED_STATES)

    def count(*states: str) -> int:
        return sum(1 for i in members if i.lifecycle_state in states)

    return {
        "ScalingGroupId": group.id,
        "ScalingGroupName": group.name,
        "RegionId": group.region_id,
        "GroupType": group.group_type,
        "LifecycleState": group.lifecycle_state,
        "ActiveScalingConfigurationId": group.active_configuration_id or "",
        "MinSize": group.min_size,
        "MaxSize": group.max_size,
        "TotalCapacity": len(members),
        "TotalInstanceCount": len(members),
        "ActiveCapacity": count("InService"),
        "PendingCapacity": count("Pending"),
        "RemovingCapacity": count("Removing"),
        "StandbyCapacity": count("Standby"),
        "ProtectedCapacity": count("Protected"),
        "PendingWaitCapacity": 0,
        "RemovingWaitCapacity": 0,
        "StoppedCapacity": 0,
        "SuspendedProcesses": list(group.suspended_processes),
        "DefaultCooldown": group.default_cooldown,
        "RemovalPolicies": list(group.removal_policies),
        "HealthCheckType": "ECS",
        "HealthCheckTypes": ["ECS"],
        "MultiAZPolicy": "PRIORITY",
        "ScalingPolicy": "release",
        "VSwitchId": group.vswitch_id,
        "VSwitchIds": [group.vswitch_id],
        "VpcId": group.vpc_id,
        "CreationTime": iso_utc(group.created_at, minutes_only=True),
        "ModificationTime": iso_utc(group.modified_at, minutes_only=True),
        "GroupDeletionProtection": False,
        "LoadBalancerIds": [],
        "DBInstanceIds": [],
    }


def render_configuration(configuration: EciScalingConfiguration) -> dict[str, Any]:
    return {
        "ScalingConfigurationId": configuration.id,
        "ScalingConfigurationName": configuration.name,
        "ScalingGroupId": configuration.group_id,
        "RegionId": configuration.region_id,
        "LifecycleState": configuration.lifecycle_state,
        "ContainerGroupName": configuration.container_group_name,
        "Cpu": configuration.cpu,
        "Memory": configuration.memory,
        "RestartPolicy": configuration.restart_policy,
        "SecurityGroupId": configuration.security_group_id,
        "CreationTime": iso_utc(configuration.created_at, minutes_only=True),
        "Containers": [
            {k: v for k, v in c.items() if k not in ("Ready", "RestartCount", "CurrentState")}
            for c in configuration.containers
        ],
    }


def render_instance(ess: EssModel, instance: ScalingInstance) -> dict[str, Any]:
    container_group = ess.eci.groups.get(instance.instance_id)
    return {
        "InstanceId": instance.instance_id,
        "ScalingInstanceId": instance.instance_id,
        "ScalingGroupId": instance.group_id,
        "ScalingConfigurationId": instance.configuration_id,
        "LifecycleState": instance.lifecycle_state,
        "HealthStatus": instance.health_status,
        "CreationType": instance.creation_type,
        "CreationTime": iso_utc(instance.created_at, minutes_only=True),
        "CreatedTime": iso_utc(instance.created_at),
        "ScalingActivityId": instance.activity_id,
        "ZoneId": instance.zone_id,
        "PrivateIpAddress": container_group.intranet_ip if container_group else "",
        "Entrusted": True,
        "WarmupState": "NoNeedWarmup",
        "WeightedCapacity": 1,
    }


def render_activity(activity: ScalingActivity) -> dict[str, Any]:
    return {
        "ScalingActivityId": activity.id,
        "ScalingGroupId": activity.group_id,
        "StatusCode": activity.status_code,
        "StatusMessage": activity.status_message,
        "Progress": activity.progress,
        "Cause": activity.cause,
        "Description": activity.description,
        "StartTime": iso_utc(activity.started_at),
        "EndTime": iso_utc(activity.ended_at) if activity.ended_at else "",
        "TotalCapacity": str(activity.total_capacity),
        "CreatedCapacity": len(activity.created_instances),
        "CreatedInstances": list(activity.created_instances),
        "DestroyedCapacity": len(activity.destroyed_instances),
        "DestroyedInstances": list(activity.destroyed_instances),
        "ScalingInstanceNumber": len(activity.created_instances) or len(activity.destroyed_instances),
        "ErrorCode": activity.error_code,
        "ErrorMessage": activity.error_message,
        "TriggerSourceType": "APIs",
    }


# -- groups -------------------------------------------------------------------------------------------------------


@ESS.action("DescribeScalingGroups")
def describe_scaling_groups(ess: EssModel, req: ApiRequest) -> dict[str, Any]:
    region = _region(req)
    ids = req.list("ScalingGroupIds")
    names = req.list("ScalingGroupNames") + ([req.str("ScalingGroupName")] if req.str("ScalingGroupName") else [])
    group_type = req.str("GroupType")
    groups = [
        g
        for g in sorted(ess.groups.values(), key=lambda g: g.created_at)
        if g.region_id == region
        and (not ids or g.id in ids)
        and (not names or g.name in names)
        and (group_type is None or g.group_type == group_type)
    ]
    page, number, size = page_by_number(groups, req)
    return {
        "ScalingGroups": [render_group(ess, g) for g in page],
        "TotalCount": len(groups),
        "PageNumber": number,
        "PageSize": size,
    }


@ESS.action("ModifyScalingGroup", mutating=True)
def modify_scaling_group(ess: EssModel, req: ApiRequest) -> dict[str, Any]:
    group = _group_for(ess, req)
    min_size = req.int("MinSize", default=group.min_size)
    max_size = req.int("MaxSize", default=group.max_size)
    if not 0 <= min_size <= max_size:
        raise invalid_parameter("MinSize", f"MinSize ({min_size}) must be from 0 to MaxSize ({max_size}).")
    configuration_id = req.str("ActiveScalingConfigurationId")
    if configuration_id:
        ess.activate(group, ess.configuration(configuration_id))
    group.min_size, group.max_size = min_size, max_size
    group.name = req.str("ScalingGroupName", default=group.name)
    group.default_cooldown = req.int("DefaultCooldown", default=group.default_cooldown)
    group.removal_policies = req.list("RemovalPolicies") or group.removal_policies
    return {}


# -- configurations ------------------------------------------------------------------------------------------------


@ESS.action("DescribeEciScalingConfigurations")
def describe_eci_scaling_configurations(ess: EssModel, req: ApiRequest) -> dict[str, Any]:
    region = _region(req)
    group_id = req.str("ScalingGroupId")
    ids = req.list("ScalingConfigurationIds")
    names = req.list("ScalingConfigurationNames")
    configurations = [
        c
        for c in sorted(ess.configurations.values(), key=lambda c: c.created_at)
        if c.region_id == region
        and (group_id is None or c.group_id == group_id)
        and (not ids or c.id in ids)
        and (not names or c.name in names)
    ]
    page, number, size = page_by_number(configurations, req)
    return {
        "ScalingConfigurations": [render_configuration(c) for c in page],
        "TotalCount": len(configurations),
        "PageNumber": number,
        "PageSize": size,
    }


@ESS.action("CreateEciScalingConfiguration", mutating=True)
def create_eci_scaling_configuration(ess: EssModel, req: ApiRequest) -> dict[str, Any]:
    group = ess.group(req.str("ScalingGroupId", required=True))
    if group.group_type != "ECI":
        raise ApiError(
            400,
            "IncorrectScalingGroupType",
            f"The scaling group {group.id} is of type {group.group_type}; ECI configurations need ECI.",
        )
    containers = apply_update([], normalize_containers(req.get("Containers"), "Containers"), "RenewUpdate")
    if not containers:
        raise missing_parameter("Containers.1.Name")
    configuration = ess.create_configuration(
        group, name=req.str("ScalingConfigurationName"), containers=containers, fields=req.params
    )
    return {"ScalingConfigurationId": configuration.id}


@ESS.action("ModifyEciScalingConfiguration", mutating=True)
def modify_eci_scaling_configuration(ess: EssModel, req: ApiRequest) -> dict[str, Any]:
    configuration = ess.configuration(req.str("ScalingConfigurationId", required=True))
    changes = normalize_containers(req.get("Containers"), "Containers")
    if changes:
        configuration.containers = apply_update(
            configuration.containers, changes, req.str("ContainersUpdateType", default="RenewUpdate")
        )
    ess.apply_fields(configuration, req.params)
    return {}


# -- instances and activities ----------------------------------------------------------------------------------------


@ESS.action("DescribeScalingInstances")
def describe_scaling_instances(ess: EssModel, req: ApiRequest) -> dict[str, Any]:
    region = _region(req)
    group_id = req.str("ScalingGroupId")
    ids = req.list("InstanceIds")
    states = req.list("LifecycleStates") or ([req.str("LifecycleState")] if req.str("LifecycleState") else [])
    configuration_id = req.str("ScalingConfigurationId")
    creation_types = req.list("CreationTypes") or ([req.str("CreationType")] if req.str("CreationType") else [])
    activity_id = req.str("ScalingActivityId")
    health = req.str("HealthStatus")
    instances = [
        i
        for i in sorted(ess.instances.values(), key=lambda i: i.created_at)
        if i.region_id == region
        and (group_id is None or i.group_id == group_id)
        and (not ids or i.instance_id in ids)
        and (not states or i.lifecycle_state in states)
        and (configuration_id is None or i.configuration_id == configuration_id)
        and (not creation_types or i.creation_type in creation_types)
        and (activity_id is None or i.activity_id == activity_id)
        and (health is None or i.health_status == health)
    ]
    page, number, size = page_by_number(instances, req, max_size=100)
    return {
        "ScalingInstances": [render_instance(ess, i) for i in page],
        "TotalCount": len(instances),
        "TotalSpotCount": 0,
        "PageNumber": number,
        "PageSize": size,
    }


@ESS.action("DescribeScalingActivities")
def describe_scaling_activities(ess: EssModel, req: ApiRequest) -> dict[str, Any]:
    region = _region(req)
    group_id = req.str("ScalingGroupId")
    ids = req.list("ScalingActivityIds")
    if bool(group_id) == bool(ids):
        raise invalid_parameter("ScalingGroupId", "Specify exactly one of ScalingGroupId and ScalingActivityIds.")
    if group_id:
        ess.group(group_id, region)
    status = req.str("StatusCode")
    activities = [
        a
        for a in sorted(ess.activities.values(), key=lambda a: a.started_at, reverse=True)
        if ess.groups.get(a.group_id) is not None
        and ess.groups[a.group_id].region_id == region
        and (group_id is None or a.group_id == group_id)
        and (not ids or a.id in ids)
        and (status is None or a.status_code == status)
    ]
    page, number, size = page_by_number(activities, req)
    return {
        "ScalingActivities": [render_activity(a) for a in page],
        "TotalCount": len(activities),
        "PageNumber": number,
        "PageSize": size,
    }


@ESS.action("ScaleWithAdjustment", mutating=True)
def scale_with_adjustment(ess: EssModel, req: ApiRequest) -> dict[str, Any]:
    group = _group_for(ess, req)
    adjustment_type = req.str("AdjustmentType", required=True)
    value = req.int("AdjustmentValue", required=True)
    current = len(ess.members(group.id))
    if adjustment_type == "QuantityChangeInCapacity":
        if not -1000 <= value <= 1000:
            raise invalid_parameter("AdjustmentValue", "QuantityChangeInCapacity takes -1000 to 1000.")
        target = current + value
    elif adjustment_type == "PercentChangeInCapacity":
        if not -100 <= value <= 10000:
            raise invalid_parameter("AdjustmentValue", "PercentChangeInCapacity takes -100 to 10000.")
        change = int(current * value / 100)
        minimum = req.int("MinAdjustmentMagnitude", default=0)
        if value > 0:
            change = max(change, minimum)
        target = current + change
    elif adjustment_type == "TotalCapacity":
        if not 0 <= value <= 2000:
            raise invalid_parameter("AdjustmentValue", "TotalCapacity takes 0 to 2000.")
        target = value
    else:
        raise invalid_parameter(
            "AdjustmentType", "Valid values: QuantityChangeInCapacity, PercentChangeInCapacity, TotalCapacity."
        )
    activity = ess.adjust(group, target, cause=f"ScaleWithAdjustment {adjustment_type} {value}")
    return {"ScalingActivityId": activity.id}


@ESS.action("RemoveInstances", mutating=True)
def remove_instances(ess: EssModel, req: ApiRequest) -> dict[str, Any]:
    group = _group_for(ess, req)
    activity = ess.remove(group, [str(i) for i in req.list("InstanceIds", required=True)])
    return {"ScalingActivityId": activity.id, "IgnoredInstances": []}


def _standby(ess: EssModel, req: ApiRequest, enter: bool) -> dict[str, Any]:
    group = _group_for(ess, req)
    activity = ess.move_standby(group, [str(i) for i in req.list("InstanceIds", required=True)], enter)
    return {"ScalingActivityId": activity.id}


@ESS.action("EnterStandby", mutating=True)
def enter_standby(ess: EssModel, req: ApiRequest) -> dict[str, Any]:
    return _standby(ess, req, enter=True)


@ESS.action("ExitStandby", mutating=True)
def exit_standby(ess: EssModel, req: ApiRequest) -> dict[str, Any]:
    return _standby(ess, req, enter=False)


def _processes(ess: EssModel, req: ApiRequest, suspended: bool) -> dict[str, Any]:
    group = _group_for(ess, req)
    ess.set_suspended(group, [str(p) for p in req.list("Processes", required=True)], suspended)
    return {}


@ESS.action("SuspendProcesses", mutating=True)
def suspend_processes(ess: EssModel, req: ApiRequest) -> dict[str, Any]:
    return _processes(ess, req, suspended=True)


@ESS.action("ResumeProcesses", mutating=True)
def resume_processes(ess: EssModel, req: ApiRequest) -> dict[str, Any]:
    return _processes(ess, req, suspended=False)

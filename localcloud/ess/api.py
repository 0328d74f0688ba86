"""ESS 2022-02-22 actions on the wire: each parses its request, makes one call to the ESS model and renders what
it returns. Lists are flat JSON arrays, as the 2022 SDK models parse them."""

from __future__ import annotations

from typing import Any

from localcloud.containers import normalize_containers
from localcloud.errors import invalid_parameter, missing_parameter
from localcloud.ess.model import ConfigurationSettings, EssModel
from localcloud.ess.records import EciScalingConfiguration, ScalingActivity, ScalingGroupView, ScalingInstanceView
from localcloud.ess.states import IN_SERVICE, PENDING, PROTECTED, REMOVING, STANDBY
from localcloud.gateway.products import ESS
from localcloud.gateway.request import ApiRequest
from localcloud.ids import iso_utc
from localcloud.pagination import page_by_number


def _region(req: ApiRequest) -> str:
    region = req.region_id
    if not region:
        raise missing_parameter("RegionId")
    return region


def _one_or_many(req: ApiRequest, name: str) -> list[Any]:
    """A filter given as ``Names`` (a list) or as ``Name`` (one value)."""
    return req.list(f"{name}s") or ([req.str(name)] if req.str(name) else [])


def _settings(req: ApiRequest) -> ConfigurationSettings:
    """The top-level fields localcloud models; others are not kept (they would come back as strings where the SDK
    expects numbers and booleans)."""
    return ConfigurationSettings(
        name=req.str("ScalingConfigurationName"),
        container_group_name=req.str("ContainerGroupName"),
        restart_policy=req.str("RestartPolicy"),
        security_group_id=req.str("SecurityGroupId"),
        cpu=req.float("Cpu"),
        memory=req.float("Memory"),
    )


# -- rendering ---------------------------------------------------------------------------------------------------


def render_group(view: ScalingGroupView) -> dict[str, Any]:
    group, members = view.group, view.members

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
        "ActiveCapacity": count(IN_SERVICE),
        "PendingCapacity": count(PENDING),
        "RemovingCapacity": count(REMOVING),
        "StandbyCapacity": count(STANDBY),
        "ProtectedCapacity": count(PROTECTED),
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


def render_instance(view: ScalingInstanceView) -> dict[str, Any]:
    instance = view.instance
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
        "PrivateIpAddress": view.private_ip,
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
    groups = ess.describe_groups(
        _region(req),
        ids=req.list("ScalingGroupIds"),
        names=req.list("ScalingGroupNames") + ([req.str("ScalingGroupName")] if req.str("ScalingGroupName") else []),
        group_type=req.str("GroupType"),
    )
    page, number, size = page_by_number(groups, req)
    return {
        "ScalingGroups": [render_group(g) for g in page],
        "TotalCount": len(groups),
        "PageNumber": number,
        "PageSize": size,
    }


@ESS.action("ModifyScalingGroup", mutating=True)
def modify_scaling_group(ess: EssModel, req: ApiRequest) -> dict[str, Any]:
    ess.modify_group(
        req.str("ScalingGroupId", required=True),
        req.region_id,
        min_size=req.int("MinSize"),
        max_size=req.int("MaxSize"),
        configuration_id=req.str("ActiveScalingConfigurationId"),
        name=req.str("ScalingGroupName"),
        default_cooldown=req.int("DefaultCooldown"),
        removal_policies=req.list("RemovalPolicies"),
    )
    return {}


# -- configurations ------------------------------------------------------------------------------------------------


@ESS.action("DescribeEciScalingConfigurations")
def describe_eci_scaling_configurations(ess: EssModel, req: ApiRequest) -> dict[str, Any]:
    configurations = ess.describe_configurations(
        _region(req),
        group_id=req.str("ScalingGroupId"),
        ids=req.list("ScalingConfigurationIds"),
        names=req.list("ScalingConfigurationNames"),
    )
    page, number, size = page_by_number(configurations, req)
    return {
        "ScalingConfigurations": [render_configuration(c) for c in page],
        "TotalCount": len(configurations),
        "PageNumber": number,
        "PageSize": size,
    }


@ESS.action("CreateEciScalingConfiguration", mutating=True)
def create_eci_scaling_configuration(ess: EssModel, req: ApiRequest) -> dict[str, Any]:
    configuration = ess.create_configuration(
        req.str("ScalingGroupId", required=True),
        containers=normalize_containers(req.get("Containers"), "Containers"),
        settings=_settings(req),
    )
    return {"ScalingConfigurationId": configuration.id}


@ESS.action("ModifyEciScalingConfiguration", mutating=True)
def modify_eci_scaling_configuration(ess: EssModel, req: ApiRequest) -> dict[str, Any]:
    ess.modify_configuration(
        req.str("ScalingConfigurationId", required=True),
        containers=normalize_containers(req.get("Containers"), "Containers"),
        update_type=req.str("ContainersUpdateType", default="RenewUpdate"),
        settings=_settings(req),
    )
    return {}


# -- instances and activities ----------------------------------------------------------------------------------------


@ESS.action("DescribeScalingInstances")
def describe_scaling_instances(ess: EssModel, req: ApiRequest) -> dict[str, Any]:
    instances = ess.describe_instances(
        _region(req),
        group_id=req.str("ScalingGroupId"),
        ids=req.list("InstanceIds"),
        states=_one_or_many(req, "LifecycleState"),
        configuration_id=req.str("ScalingConfigurationId"),
        creation_types=_one_or_many(req, "CreationType"),
        activity_id=req.str("ScalingActivityId"),
        health_status=req.str("HealthStatus"),
    )
    page, number, size = page_by_number(instances, req, max_size=100)
    return {
        "ScalingInstances": [render_instance(i) for i in page],
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
    activities = ess.describe_activities(region, group_id=group_id, ids=ids, status=req.str("StatusCode"))
    page, number, size = page_by_number(activities, req)
    return {
        "ScalingActivities": [render_activity(a) for a in page],
        "TotalCount": len(activities),
        "PageNumber": number,
        "PageSize": size,
    }


@ESS.action("ScaleWithAdjustment", mutating=True)
def scale_with_adjustment(ess: EssModel, req: ApiRequest) -> dict[str, Any]:
    activity = ess.scale_with_adjustment(
        req.str("ScalingGroupId", required=True),
        req.region_id,
        adjustment_type=req.str("AdjustmentType", required=True),
        value=req.int("AdjustmentValue", required=True),
        min_adjustment_magnitude=req.int("MinAdjustmentMagnitude", default=0),
    )
    return {"ScalingActivityId": activity.id}


@ESS.action("RemoveInstances", mutating=True)
def remove_instances(ess: EssModel, req: ApiRequest) -> dict[str, Any]:
    activity = ess.remove_instances(
        req.str("ScalingGroupId", required=True),
        req.region_id,
        [str(i) for i in req.list("InstanceIds", required=True)],
    )
    return {"ScalingActivityId": activity.id, "IgnoredInstances": []}


def _standby(ess: EssModel, req: ApiRequest, enter: bool) -> dict[str, Any]:
    activity = ess.move_standby(
        req.str("ScalingGroupId", required=True),
        req.region_id,
        [str(i) for i in req.list("InstanceIds", required=True)],
        enter,
    )
    return {"ScalingActivityId": activity.id}


@ESS.action("EnterStandby", mutating=True)
def enter_standby(ess: EssModel, req: ApiRequest) -> dict[str, Any]:
    return _standby(ess, req, enter=True)


@ESS.action("ExitStandby", mutating=True)
def exit_standby(ess: EssModel, req: ApiRequest) -> dict[str, Any]:
    return _standby(ess, req, enter=False)


def _processes(ess: EssModel, req: ApiRequest, suspended: bool) -> dict[str, Any]:
    ess.set_suspended(
        req.str("ScalingGroupId", required=True),
        req.region_id,
        [str(p) for p in req.list("Processes", required=True)],
        suspended,
    )
    return {}


@ESS.action("SuspendProcesses", mutating=True)
def suspend_processes(ess: EssModel, req: ApiRequest) -> dict[str, Any]:
    return _processes(ess, req, suspended=True)


@ESS.action("ResumeProcesses", mutating=True)
def resume_processes(ess: EssModel, req: ApiRequest) -> dict[str, Any]:
    return _processes(ess, req, suspended=False)

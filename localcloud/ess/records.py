"""What ESS remembers: scaling groups, their scaling configurations, instances and scaling activities, as
JSON-able dataclasses; and what Describe* shows of them together with what it shows from elsewhere."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from localcloud.ess.states import IN_PROGRESS, PENDING


@dataclass
class ScalingGroup:
    id: str
    name: str
    region_id: str
    min_size: int
    max_size: int
    active_configuration_id: str | None = None
    group_type: str = "ECI"
    lifecycle_state: str = "Active"
    suspended_processes: list[str] = field(default_factory=list)
    default_cooldown: int = 300
    removal_policies: list[str] = field(default_factory=lambda: ["OldestScalingConfiguration", "OldestInstance"])
    vswitch_id: str = "vsw-localcloud"
    vpc_id: str = "vpc-localcloud"
    zone_id: str = ""
    created_at: float = field(default_factory=time.time)
    modified_at: float = field(default_factory=time.time)


@dataclass
class EciScalingConfiguration:
    id: str
    name: str
    group_id: str
    region_id: str
    containers: list[dict[str, Any]]
    lifecycle_state: str = "Inactive"
    container_group_name: str = "localcloud-eci"
    cpu: float = 2.0
    memory: float = 4.0
    restart_policy: str = "Always"
    security_group_id: str = "sg-localcloud"
    created_at: float = field(default_factory=time.time)


@dataclass
class ScalingInstance:
    instance_id: str
    group_id: str
    configuration_id: str
    region_id: str
    zone_id: str
    activity_id: str
    lifecycle_state: str = PENDING
    health_status: str = "Healthy"
    creation_type: str = "AutoCreated"
    created_at: float = field(default_factory=time.time)


@dataclass
class ScalingActivity:
    id: str
    group_id: str
    cause: str
    description: str
    status_code: str = IN_PROGRESS
    status_message: str = ""
    progress: int = 0
    created_instances: list[str] = field(default_factory=list)
    destroyed_instances: list[str] = field(default_factory=list)
    total_capacity: int = 0
    error_code: str = ""
    error_message: str = ""
    started_at: float = field(default_factory=time.time)
    ended_at: float | None = None


@dataclass(frozen=True)
class ScalingGroupView:
    group: ScalingGroup
    members: list[ScalingInstance]  # the instances counted towards its capacity, oldest first


@dataclass(frozen=True)
class ScalingInstanceView:
    instance: ScalingInstance
    private_ip: str  # its container group's address, empty until it has one

"""Scaling groups of the ECI type, their scaling configurations, instances and scaling activities.

Instances move Pending -> InService (-> Standby -> InService) -> Removing; activities InProgress ->
Successful / Warning / Failed, or are Rejected at once. A suspended ScaleOut or ScaleIn process really stops
the matching activities.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from localcloud.eci.model import EciModel
from localcloud.errors import ApiError
from localcloud.ids import new_id
from localcloud.kernel import Kernel

SCALING_PROCESSES = ("ScaleIn", "ScaleOut", "HealthCheck", "AlarmNotification", "ScheduledAction")
# States that count towards the group's capacity.
COUNTED_STATES = ("InService", "Pending", "Standby", "Protected", "Removing")


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
    lifecycle_state: str = "Pending"
    health_status: str = "Healthy"
    creation_type: str = "AutoCreated"
    created_at: float = field(default_factory=time.time)


@dataclass
class ScalingActivity:
    id: str
    group_id: str
    cause: str
    description: str
    status_code: str = "InProgress"
    status_message: str = ""
    progress: int = 0
    created_instances: list[str] = field(default_factory=list)
    destroyed_instances: list[str] = field(default_factory=list)
    total_capacity: int = 0
    error_code: str = ""
    error_message: str = ""
    started_at: float = field(default_factory=time.time)
    ended_at: float | None = None


def group_not_found(group_id: str) -> ApiError:
    return ApiError(
        404,
        "InvalidScalingGroupId.NotFound",
        f"The specified scaling group {group_id!r} does not exist in this region.",
    )


class EssModel:
    def __init__(self, kernel: Kernel, eci: EciModel) -> None:
        self.kernel = kernel
        self.eci = eci
        self.groups: dict[str, ScalingGroup] = {}
        self.configurations: dict[str, EciScalingConfiguration] = {}
        self.instances: dict[str, ScalingInstance] = {}
        self.activities: dict[str, ScalingActivity] = {}

    # -- lookups ---------------------------------------------------------------------------------------------

    def group(self, group_id: str, region_id: str | None = None) -> ScalingGroup:
        group = self.groups.get(group_id)
        if group is None or (region_id is not None and group.region_id != region_id):
            raise group_not_found(group_id)
        return group

    def configuration(self, configuration_id: str) -> EciScalingConfiguration:
        configuration = self.configurations.get(configuration_id)
        if configuration is None:
            raise ApiError(
                404,
                "InvalidScalingConfigurationId.NotFound",
                f"The specified scaling configuration {configuration_id!r} does not exist.",
            )
        return configuration

    def members(self, group_id: str, states: tuple[str, ...] = COUNTED_STATES) -> list[ScalingInstance]:
        return sorted(
            (i for i in self.instances.values() if i.group_id == group_id and i.lifecycle_state in states),
            key=lambda i: i.created_at,
        )

    def member(self, group: ScalingGroup, instance_id: str, states: tuple[str, ...], rule: str) -> ScalingInstance:
        """The group's instance ``instance_id``, which must be in one of ``states`` for the action at hand."""
        instance = self.instances.get(instance_id)
        if instance is None or instance.group_id != group.id:
            raise ApiError(
                404,
                "InvalidInstanceId.NotFound",
                f"The instance {instance_id!r} is not in the scaling group {group.id}.",
            )
        if instance.lifecycle_state not in states:
            raise ApiError(
                400,
                "IncorrectInstanceStatus",
                f"The instance {instance_id} is {instance.lifecycle_state}; it {rule} {' or '.join(states)}.",
            )
        return instance

    def activity_in_progress(self, group_id: str) -> ScalingActivity | None:
        return next(
            (a for a in self.activities.values() if a.group_id == group_id and a.status_code == "InProgress"), None
        )

    def require_ready_for_activity(self, group: ScalingGroup) -> None:
        if group.lifecycle_state != "Active":
            raise ApiError(
                400,
                "IncorrectScalingGroupStatus",
                f"The scaling group {group.id} is {group.lifecycle_state}; it must be Active.",
            )
        running = self.activity_in_progress(group.id)
        if running is not None:
            raise ApiError(
                400,
                "ScalingActivityInProgress",
                f"The scaling group {group.id} has a scaling activity in progress ({running.id}); "
                "wait for it to finish.",
            )

    # -- groups ------------------------------------------------------------------------------------------------

    def create_group(self, *, name: str, region_id: str, min_size: int, max_size: int) -> ScalingGroup:
        group = ScalingGroup(
            id=new_id("asg"),
            name=name,
            region_id=region_id,
            min_size=min_size,
            max_size=max_size,
            zone_id=f"{region_id}-k",
        )
        self.groups[group.id] = group
        return group

    def seed_instances(self, group: ScalingGroup, count: int) -> ScalingActivity:
        """Scenario loading: start ``count`` instances the way a scale-out does, whatever the group's limits."""
        activity = ScalingActivity(
            id=new_id("asa"), group_id=group.id, cause="localcloud scenario", description=f"Seed {count} instance(s)."
        )
        self.activities[activity.id] = activity
        self._scale_out(group, activity, count)
        return activity

    # -- configurations ----------------------------------------------------------------------------------------

    def create_configuration(
        self, group: ScalingGroup, *, name: str | None, containers: list[dict[str, Any]], fields: dict[str, Any]
    ) -> EciScalingConfiguration:
        configuration = EciScalingConfiguration(
            id=new_id("asc"), name=name or "", group_id=group.id, region_id=group.region_id, containers=containers
        )
        configuration.name = configuration.name or configuration.id
        self.apply_fields(configuration, fields)
        self.configurations[configuration.id] = configuration
        if group.active_configuration_id is None:
            self.activate(group, configuration)
        return configuration

    def activate(self, group: ScalingGroup, configuration: EciScalingConfiguration) -> None:
        if configuration.group_id != group.id:
            raise ApiError(
                400,
                "InvalidScalingConfigurationId.NotFound",
                f"The scaling configuration {configuration.id} does not belong to the scaling group {group.id}.",
            )
        previous = self.configurations.get(group.active_configuration_id or "")
        if previous is not None:
            previous.lifecycle_state = "Inactive"
        configuration.lifecycle_state = "Active"
        group.active_configuration_id = configuration.id
        group.modified_at = time.time()

    @staticmethod
    def apply_fields(configuration: EciScalingConfiguration, fields: dict[str, Any]) -> None:
        """Take the top-level fields localcloud models from request parameters; others are not kept (they would
        come back as strings where the SDK expects numbers and booleans)."""
        simple = {
            "ContainerGroupName": "container_group_name",
            "RestartPolicy": "restart_policy",
            "SecurityGroupId": "security_group_id",
            "ScalingConfigurationName": "name",
        }
        for wire, attribute in simple.items():
            if fields.get(wire):
                setattr(configuration, attribute, fields[wire])
        for wire, attribute in (("Cpu", "cpu"), ("Memory", "memory")):
            if fields.get(wire) not in (None, ""):
                setattr(configuration, attribute, float(fields[wire]))

    # -- processes -------------------------------------------------------------------------------------------

    def set_suspended(self, group: ScalingGroup, processes: list[str], suspended: bool) -> None:
        unknown = [p for p in processes if p not in SCALING_PROCESSES]
        if unknown:
            raise ApiError(
                400,
                "InvalidParameter",
                f"Unknown scaling process {unknown[0]!r}; valid values: {', '.join(SCALING_PROCESSES)}.",
            )
        current = set(group.suspended_processes)
        current = current | set(processes) if suspended else current - set(processes)
        group.suspended_processes = [p for p in SCALING_PROCESSES if p in current]

    # -- standby ---------------------------------------------------------------------------------------------

    def move_standby(self, group: ScalingGroup, instance_ids: list[str], enter: bool) -> ScalingActivity:
        """EnterStandby (InService -> Standby) or ExitStandby (Standby -> InService), all or nothing."""
        if self.activity_in_progress(group.id) is not None:
            raise ApiError(
                400,
                "IncorrectScalingGroupStatus",
                f"The scaling group {group.id} has a scaling activity in progress; try again later.",
            )
        source, target = ("InService", "Standby") if enter else ("Standby", "InService")
        chosen = [self.member(group, instance_id, (source,), "must be") for instance_id in instance_ids]
        for instance in chosen:
            instance.lifecycle_state = target
        activity = ScalingActivity(
            id=new_id("asa"),
            group_id=group.id,
            cause=f"{'Enter' if enter else 'Exit'} standby via API",
            description=f"{source} -> {target}",
            status_code="Successful",
            progress=100,
            ended_at=time.time(),
            total_capacity=len(self.members(group.id)),
        )
        self.activities[activity.id] = activity
        return activity

    # -- scaling ---------------------------------------------------------------------------------------------

    def adjust(self, group: ScalingGroup, target_capacity: int, cause: str) -> ScalingActivity:
        """Start the activity that takes the group to ``target_capacity`` (clamped to Min/Max)."""
        self.require_ready_for_activity(group)
        current = len(self.members(group.id))
        target = max(group.min_size, min(group.max_size, target_capacity))
        activity = ScalingActivity(
            id=new_id("asa"),
            group_id=group.id,
            cause=cause,
            description=f"Adjust capacity from {current} to {target}.",
            total_capacity=current,
        )
        self.activities[activity.id] = activity
        process = "ScaleOut" if target > current else "ScaleIn"
        if target == current:
            self._reject(
                activity,
                "To execute the specified scaling rule, the total capacity will not change "
                f"(it is {current}; MinSize {group.min_size}, MaxSize {group.max_size}).",
            )
        elif process in group.suspended_processes:
            self._reject(activity, f"The {process} process of the scaling group {group.id} is suspended.")
        elif target > current:
            self._scale_out(group, activity, target - current)
        else:
            victims = self.members(group.id, ("InService",))[: current - target]
            self._scale_in(group, activity, victims)
        return activity

    def remove(self, group: ScalingGroup, instance_ids: list[str]) -> ScalingActivity:
        """RemoveInstances: exactly these instances leave the group and are released."""
        self.require_ready_for_activity(group)
        victims = [
            self.member(group, i, ("InService", "Standby", "Protected"), "can be removed only when")
            for i in instance_ids
        ]
        remaining = len(self.members(group.id)) - len(victims)
        if remaining < group.min_size:
            raise ApiError(
                400,
                "IncorrectCapacity.MinSize",
                f"Removing {len(victims)} instance(s) would leave {remaining}, below the group's "
                f"MinSize {group.min_size}.",
            )
        activity = ScalingActivity(
            id=new_id("asa"),
            group_id=group.id,
            cause="Remove instances via API",
            description=f"Remove {', '.join(instance_ids)}.",
            total_capacity=len(self.members(group.id)),
        )
        self.activities[activity.id] = activity
        self._scale_in(group, activity, victims)
        return activity

    def launch_instances(self, group: ScalingGroup, count: int, activity: ScalingActivity) -> list[ScalingInstance]:
        """Create ``count`` Pending instances from the active configuration (their ECI groups start now)."""
        configuration = self.configuration(group.active_configuration_id or "")
        launched = []
        for _ in range(count):
            containers = [dict(c) for c in configuration.containers]
            if wrong_image := self.kernel.faults.launch_image(group.id):
                containers = [{**c, "Image": wrong_image} for c in containers]
            container_group = self.eci.create(
                name=configuration.container_group_name,
                region_id=group.region_id,
                zone_id=group.zone_id,
                containers=containers,
                cpu=configuration.cpu,
                memory=configuration.memory,
                restart_policy=configuration.restart_policy,
            )
            instance = ScalingInstance(
                instance_id=container_group.id,
                group_id=group.id,
                configuration_id=configuration.id,
                region_id=group.region_id,
                zone_id=group.zone_id,
                activity_id=activity.id,
            )
            self.instances[instance.instance_id] = instance
            activity.created_instances.append(instance.instance_id)
            launched.append(instance)
        return launched

    def _reject(self, activity: ScalingActivity, message: str) -> None:
        activity.status_code = "Rejected"
        activity.status_message = message
        activity.ended_at = time.time()

    def _scale_out(self, group: ScalingGroup, activity: ScalingActivity, count: int) -> None:
        if group.active_configuration_id is None:
            self._reject(activity, f"The scaling group {group.id} has no active scaling configuration.")
            return
        self.launch_instances(group, count, activity)
        self.kernel.spawn(f"scale-out-{activity.id}", self._follow, activity.id, "ScaleOut", self._settle_scale_out)

    def _follow(self, activity_id: str, kind: str, settle: Callable[[ScalingActivity], list[str] | None]) -> None:
        """Poll until ``settle`` (run under the lock) returns the instances that failed, then complete the
        activity. A ``stuck_activity`` fault keeps it InProgress."""
        if not self.kernel.sleep(self.kernel.latencies.activity_overhead):
            return
        while self.kernel.sleep(0.05):
            with self.kernel.lock:
                activity = self.activities.get(activity_id)
                if activity is None:  # the state was reset under it
                    return
                if self.kernel.faults.activity_stuck(activity.group_id):
                    continue
                failed = settle(activity)
                if failed is None:
                    continue
                self._complete(activity, failed, kind)
                self.kernel.changed()
                return

    def _settle_scale_out(self, activity: ScalingActivity) -> list[str] | None:
        """New instances whose container group is Running go InService; failed ones are released."""
        states = {iid: self.eci.groups.get(iid) for iid in activity.created_instances}
        done = [iid for iid, g in states.items() if g is None or g.status in ("Running", "Failed")]
        activity.progress = int(100 * len(done) / max(1, len(states)))
        if len(done) < len(states):
            return None
        failed = []
        for instance_id, container_group in states.items():
            instance = self.instances.get(instance_id)
            if instance is None:
                continue
            if container_group is not None and container_group.status == "Running":
                instance.lifecycle_state = "InService"
            else:
                failed.append(instance_id)
                self.instances.pop(instance_id, None)
                self.eci.release(instance_id)
        return failed

    def _scale_in(self, group: ScalingGroup, activity: ScalingActivity, victims: list[ScalingInstance]) -> None:
        for instance in victims:
            instance.lifecycle_state = "Removing"
            activity.destroyed_instances.append(instance.instance_id)
            self.eci.release(instance.instance_id)
        self.kernel.spawn(f"scale-in-{activity.id}", self._follow, activity.id, "ScaleIn", self._settle_scale_in)

    def _settle_scale_in(self, activity: ScalingActivity) -> list[str] | None:
        """Removed instances leave the group once their container groups are gone."""
        if any(iid in self.eci.groups for iid in activity.destroyed_instances):
            return None
        for instance_id in activity.destroyed_instances:
            self.instances.pop(instance_id, None)
        return []

    def _complete(self, activity: ScalingActivity, failed: list[str], kind: str) -> None:
        touched = activity.created_instances if kind == "ScaleOut" else activity.destroyed_instances
        activity.progress = 100
        activity.ended_at = time.time()
        activity.total_capacity = len(self.members(activity.group_id))
        if not failed:
            activity.status_code = "Successful"
            activity.status_message = f"{kind} of {len(touched)} instance(s) succeeded."
            return
        activity.status_code = "Failed" if len(failed) == len(touched) else "Warning"
        activity.error_code = "InstanceStartFailed"
        activity.error_message = (
            f"{len(failed)} of {len(touched)} instance(s) failed to start: "
            f"{', '.join(failed)}. See ECI DescribeContainerGroupEvents."
        )
        activity.status_message = activity.error_message

    def clear(self) -> None:
        """Forget every group, configuration, instance and activity (their container groups are ECI's to clear)."""
        for records in (self.groups, self.configurations, self.instances, self.activities):
            records.clear()

    # -- persistence -------------------------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        return {
            "groups": [asdict(g) for g in self.groups.values()],
            "configurations": [asdict(c) for c in self.configurations.values()],
            "instances": [asdict(i) for i in self.instances.values()],
            "activities": [asdict(a) for a in self.activities.values()],
        }

    def from_state(self, state: dict[str, Any]) -> None:
        self.groups = {g["id"]: ScalingGroup(**g) for g in state.get("groups", [])}
        self.configurations = {c["id"]: EciScalingConfiguration(**c) for c in state.get("configurations", [])}
        self.instances = {i["instance_id"]: ScalingInstance(**i) for i in state.get("instances", [])}
        self.activities = {a["id"]: ScalingActivity(**a) for a in state.get("activities", [])}

    def resume(self) -> None:
        """After a restart: finish the activities that were in progress."""
        for activity in self.activities.values():
            if activity.status_code == "InProgress":
                kind, settle = (
                    ("ScaleOut", self._settle_scale_out)
                    if activity.created_instances
                    else ("ScaleIn", self._settle_scale_in)
                )
                self.kernel.spawn(f"resume-{activity.id}", self._follow, activity.id, kind, settle)

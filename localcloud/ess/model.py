"""ESS: scaling groups of the ECI type, their scaling configurations, instances and scaling activities; what
each action changes, finds and refuses.

Instances move Pending -> InService (-> Standby -> InService) -> Removing; activities InProgress ->
Successful / Warning / Failed, or are Rejected at once. A suspended ScaleOut or ScaleIn process really stops
the matching activities.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, fields
from typing import Any, Callable

from localcloud.containers import apply_update
from localcloud.eci import states as container_group_states
from localcloud.eci.model import EciModel
from localcloud.errors import ApiError, invalid_parameter, missing_parameter
from localcloud.ess.capacity import requested_capacity
from localcloud.ess.records import (
    EciScalingConfiguration,
    ScalingActivity,
    ScalingGroup,
    ScalingGroupView,
    ScalingInstance,
    ScalingInstanceView,
)
from localcloud.ess.states import (
    ACTIVITY,
    COUNTED_STATES,
    FAILED,
    IN_PROGRESS,
    IN_SERVICE,
    INSTANCE,
    PROTECTED,
    REJECTED,
    REMOVING,
    STANDBY,
    SUCCESSFUL,
    WARNING,
)
from localcloud.ids import new_id
from localcloud.kernel import Kernel

SCALING_PROCESSES = ("ScaleIn", "ScaleOut", "HealthCheck", "AlarmNotification", "ScheduledAction")


@dataclass(frozen=True)
class ConfigurationSettings:
    """The top-level fields of a scaling configuration localcloud keeps; None leaves a field as it is."""

    name: str | None = None
    container_group_name: str | None = None
    restart_policy: str | None = None
    security_group_id: str | None = None
    cpu: float | None = None
    memory: float | None = None


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
            (a for a in self.activities.values() if a.group_id == group_id and a.status_code == IN_PROGRESS), None
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

    # -- Describe* ---------------------------------------------------------------------------------------------

    def describe_groups(
        self, region_id: str, *, ids: list[str], names: list[str], group_type: str | None
    ) -> list[ScalingGroupView]:
        """The region's groups, oldest first; an empty list or None filter matches all."""
        return [
            ScalingGroupView(g, self.members(g.id))
            for g in sorted(self.groups.values(), key=lambda g: g.created_at)
            if g.region_id == region_id
            and (not ids or g.id in ids)
            and (not names or g.name in names)
            and (group_type is None or g.group_type == group_type)
        ]

    def describe_configurations(
        self, region_id: str, *, group_id: str | None, ids: list[str], names: list[str]
    ) -> list[EciScalingConfiguration]:
        return [
            c
            for c in sorted(self.configurations.values(), key=lambda c: c.created_at)
            if c.region_id == region_id
            and (group_id is None or c.group_id == group_id)
            and (not ids or c.id in ids)
            and (not names or c.name in names)
        ]

    def describe_instances(
        self,
        region_id: str,
        *,
        group_id: str | None,
        ids: list[str],
        states: list[str],
        configuration_id: str | None,
        creation_types: list[str],
        activity_id: str | None,
        health_status: str | None,
    ) -> list[ScalingInstanceView]:
        found = [
            i
            for i in sorted(self.instances.values(), key=lambda i: i.created_at)
            if i.region_id == region_id
            and (group_id is None or i.group_id == group_id)
            and (not ids or i.instance_id in ids)
            and (not states or i.lifecycle_state in states)
            and (configuration_id is None or i.configuration_id == configuration_id)
            and (not creation_types or i.creation_type in creation_types)
            and (activity_id is None or i.activity_id == activity_id)
            and (health_status is None or i.health_status == health_status)
        ]
        return [ScalingInstanceView(i, self._private_ip(i.instance_id)) for i in found]

    def describe_activities(
        self, region_id: str, *, group_id: str | None, ids: list[str], status: str | None
    ) -> list[ScalingActivity]:
        """The region's activities, newest first: of one group (which must exist there), or by id."""
        if group_id:
            self.group(group_id, region_id)
        return [
            a
            for a in sorted(self.activities.values(), key=lambda a: a.started_at, reverse=True)
            if a.group_id in self.groups
            and self.groups[a.group_id].region_id == region_id
            and (group_id is None or a.group_id == group_id)
            and (not ids or a.id in ids)
            and (status is None or a.status_code == status)
        ]

    def _private_ip(self, instance_id: str) -> str:
        container_group = self.eci.groups.get(instance_id)
        return container_group.intranet_ip if container_group else ""

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

    def modify_group(
        self,
        group_id: str,
        region_id: str | None,
        *,
        min_size: int | None,
        max_size: int | None,
        configuration_id: str | None,
        name: str | None,
        default_cooldown: int | None,
        removal_policies: list[str],
    ) -> None:
        """ModifyScalingGroup: what is None (or empty) stays as it is."""
        group = self.group(group_id, region_id)
        min_size = group.min_size if min_size is None else min_size
        max_size = group.max_size if max_size is None else max_size
        if not 0 <= min_size <= max_size:
            raise invalid_parameter("MinSize", f"MinSize ({min_size}) must be from 0 to MaxSize ({max_size}).")
        if configuration_id:
            self._activate(group, self.configuration(configuration_id))
        group.min_size, group.max_size = min_size, max_size
        group.name = name or group.name
        group.default_cooldown = group.default_cooldown if default_cooldown is None else default_cooldown
        group.removal_policies = removal_policies or group.removal_policies

    # -- configurations ----------------------------------------------------------------------------------------

    def create_configuration(
        self, group_id: str, *, containers: list[dict[str, Any]], settings: ConfigurationSettings
    ) -> EciScalingConfiguration:
        """A new ECI scaling configuration of the group; the group's first becomes its active one."""
        group = self.group(group_id)
        if group.group_type != "ECI":
            raise ApiError(
                400,
                "IncorrectScalingGroupType",
                f"The scaling group {group.id} is of type {group.group_type}; ECI configurations need ECI.",
            )
        containers = apply_update([], containers, "RenewUpdate")
        if not containers:
            raise missing_parameter("Containers.1.Name")
        configuration_id = new_id("asc")
        configuration = EciScalingConfiguration(
            id=configuration_id,
            name=configuration_id,
            group_id=group.id,
            region_id=group.region_id,
            containers=containers,
        )
        self._apply(configuration, settings)
        self.configurations[configuration.id] = configuration
        if group.active_configuration_id is None:
            self._activate(group, configuration)
        return configuration

    def modify_configuration(
        self,
        configuration_id: str,
        *,
        containers: list[dict[str, Any]],
        update_type: str,
        settings: ConfigurationSettings,
    ) -> None:
        """ModifyEciScalingConfiguration: ``containers`` (if any) change the configuration's as ``update_type``
        says (RenewUpdate, IncrementalUpdate)."""
        configuration = self.configuration(configuration_id)
        if containers:
            configuration.containers = apply_update(configuration.containers, containers, update_type)
        self._apply(configuration, settings)

    def _activate(self, group: ScalingGroup, configuration: EciScalingConfiguration) -> None:
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
    def _apply(configuration: EciScalingConfiguration, settings: ConfigurationSettings) -> None:
        for setting in fields(settings):
            value = getattr(settings, setting.name)
            if value is not None:
                setattr(configuration, setting.name, value)

    # -- processes -------------------------------------------------------------------------------------------

    def set_suspended(self, group_id: str, region_id: str | None, processes: list[str], suspended: bool) -> None:
        """SuspendProcesses / ResumeProcesses."""
        group = self.group(group_id, region_id)
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

    def move_standby(
        self, group_id: str, region_id: str | None, instance_ids: list[str], enter: bool
    ) -> ScalingActivity:
        """EnterStandby (InService -> Standby) or ExitStandby (Standby -> InService), all or nothing."""
        group = self.group(group_id, region_id)
        if self.activity_in_progress(group.id) is not None:
            raise ApiError(
                400,
                "IncorrectScalingGroupStatus",
                f"The scaling group {group.id} has a scaling activity in progress; try again later.",
            )
        source, target = (IN_SERVICE, STANDBY) if enter else (STANDBY, IN_SERVICE)
        chosen = [self.member(group, instance_id, (source,), "must be") for instance_id in instance_ids]
        for instance in chosen:
            INSTANCE.move(instance, target)
        activity = ScalingActivity(
            id=new_id("asa"),
            group_id=group.id,
            cause=f"{'Enter' if enter else 'Exit'} standby via API",
            description=f"{source} -> {target}",
            progress=100,
            ended_at=time.time(),
            total_capacity=len(self.members(group.id)),
        )
        ACTIVITY.move(activity, SUCCESSFUL)  # done at once
        self.activities[activity.id] = activity
        return activity

    # -- scaling ---------------------------------------------------------------------------------------------

    def scale_with_adjustment(
        self,
        group_id: str,
        region_id: str | None,
        *,
        adjustment_type: str,
        value: int,
        min_adjustment_magnitude: int = 0,
    ) -> ScalingActivity:
        """Start the activity that takes the group to the capacity the adjustment asks for, clamped to MinSize
        and MaxSize (see ``capacity``)."""
        group = self.group(group_id, region_id)
        current = len(self.members(group.id))
        requested = requested_capacity(current, adjustment_type, value, min_adjustment_magnitude)
        self.require_ready_for_activity(group)
        target = max(group.min_size, min(group.max_size, requested))
        activity = ScalingActivity(
            id=new_id("asa"),
            group_id=group.id,
            cause=f"ScaleWithAdjustment {adjustment_type} {value}",
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
            victims = self.members(group.id, (IN_SERVICE,))[: current - target]
            self._scale_in(group, activity, victims)
        return activity

    def remove_instances(self, group_id: str, region_id: str | None, instance_ids: list[str]) -> ScalingActivity:
        """RemoveInstances: exactly these instances leave the group and are released."""
        group = self.group(group_id, region_id)
        self.require_ready_for_activity(group)
        victims = [
            self.member(group, i, (IN_SERVICE, STANDBY, PROTECTED), "can be removed only when") for i in instance_ids
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

    def _launch_instances(self, group: ScalingGroup, count: int, activity: ScalingActivity) -> list[ScalingInstance]:
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
        ACTIVITY.move(activity, REJECTED)
        activity.status_message = message
        activity.ended_at = time.time()

    def _scale_out(self, group: ScalingGroup, activity: ScalingActivity, count: int) -> None:
        if group.active_configuration_id is None:
            self._reject(activity, f"The scaling group {group.id} has no active scaling configuration.")
            return
        self._launch_instances(group, count, activity)
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
        done = [
            iid
            for iid, g in states.items()
            if g is None or g.status in (container_group_states.RUNNING, container_group_states.FAILED)
        ]
        activity.progress = int(100 * len(done) / max(1, len(states)))
        if len(done) < len(states):
            return None
        failed = []
        for instance_id, container_group in states.items():
            instance = self.instances.get(instance_id)
            if instance is None:
                continue
            if container_group is not None and container_group.status == container_group_states.RUNNING:
                INSTANCE.move(instance, IN_SERVICE)
            else:
                failed.append(instance_id)
                self.instances.pop(instance_id, None)
                self.eci.release(instance_id)
        return failed

    def _scale_in(self, group: ScalingGroup, activity: ScalingActivity, victims: list[ScalingInstance]) -> None:
        for instance in victims:
            INSTANCE.move(instance, REMOVING)
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
            ACTIVITY.move(activity, SUCCESSFUL)
            activity.status_message = f"{kind} of {len(touched)} instance(s) succeeded."
            return
        ACTIVITY.move(activity, FAILED if len(failed) == len(touched) else WARNING)
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
            if activity.status_code == IN_PROGRESS:
                kind, settle = (
                    ("ScaleOut", self._settle_scale_out)
                    if activity.created_instances
                    else ("ScaleIn", self._settle_scale_in)
                )
                self.kernel.spawn(f"resume-{activity.id}", self._follow, activity.id, kind, settle)

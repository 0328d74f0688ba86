"""Container groups: their states, and the work that moves them (launch, in-place update, release).

A group is Pending until its containers are up, then Running; an in-place update takes it through Updating
back to Running, or to Failed when an image cannot be pulled or a container will not stay up.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from localcloud.containers import apply_update, to_spec
from localcloud.eci.records import ContainerGroup, ShownContainerGroup
from localcloud.eci.states import CONTAINER_GROUP, FAILED, PENDING, RUNNING, TERMINATING, UPDATING
from localcloud.errors import ApiError
from localcloud.ids import iso_utc, new_id
from localcloud.kernel import Kernel
from localcloud.runtime.base import ContainerRuntime, GroupHandle, RuntimeFailure


class EciModel:
    def __init__(self, kernel: Kernel, runtime: ContainerRuntime) -> None:
        self.kernel = kernel
        self.runtime = runtime
        self.groups: dict[str, ContainerGroup] = {}

    # -- queries ---------------------------------------------------------------------------------------------

    def describe(
        self, region_id: str, *, ids: list[str] | None, status: str | None, name: str | None
    ) -> list[ShownContainerGroup]:
        """DescribeContainerGroups: the region's groups (of ``ids`` unless None), oldest first, each with the status
        it shows, which is also what ``status`` filters by."""
        candidates = [g for g in self.groups.values() if g.region_id == region_id and (ids is None or g.id in ids)]
        shown = [ShownContainerGroup(g, self.kernel.faults.reported_status(g.id) or g.status) for g in candidates]
        return sorted(
            (s for s in shown if (status is None or s.status == status) and (name is None or s.group.name == name)),
            key=lambda s: s.group.created_at,
        )

    def describe_events(self, region_id: str, *, ids: list[str] | None) -> list[ContainerGroup]:
        """DescribeContainerGroupEvents: the region's groups (of ``ids`` unless None), whose events it lists."""
        return [g for g in self.groups.values() if g.region_id == region_id and (ids is None or g.id in ids)]

    def get(self, group_id: str, region_id: str | None = None) -> ContainerGroup:
        group = self.groups.get(group_id)
        if group is None or (region_id is not None and group.region_id != region_id):
            where = f" in region {region_id}" if region_id else ""
            raise ApiError(
                404,
                "InvalidContainerGroupId.NotFound",
                f"The specified container group {group_id!r} does not exist{where}.",
            )
        return group

    # -- lifecycle -------------------------------------------------------------------------------------------

    def create(
        self,
        *,
        name: str,
        region_id: str,
        zone_id: str,
        containers: list[dict[str, Any]],
        cpu: float,
        memory: float,
        restart_policy: str,
    ) -> ContainerGroup:
        """Create a Pending group and start bringing it up in the background."""
        group = ContainerGroup(
            id=new_id("eci"),
            name=name,
            region_id=region_id,
            zone_id=zone_id,
            containers=[self._waiting(c) for c in containers],
            cpu=cpu,
            memory=memory,
            restart_policy=restart_policy,
        )
        self.groups[group.id] = group
        self._event(group, "Normal", "Scheduled", "Successfully assigned the instance to a virtual node.")
        self.kernel.changed()
        self.kernel.spawn(f"launch-{group.id}", self._launch, group.id, group.generation)
        return group

    def update(self, group_id: str, region_id: str, changes: list[dict[str, Any]], update_type: str) -> None:
        """In-place update (UpdateContainerGroup): the group keeps its id and address, its containers restart."""
        group = self.get(group_id, region_id)
        if group.status not in (PENDING, RUNNING, FAILED):
            raise ApiError(
                403,
                "IncorrectStatus",
                f"The container group {group_id} is {group.status}; "
                "only Pending, Running or Failed groups can be updated.",
            )
        group.containers = [self._waiting(c) for c in apply_update(group.containers, changes, update_type)]
        CONTAINER_GROUP.move(group, UPDATING)
        group.generation += 1
        self._event(group, "Normal", "Updating", "The container group is being updated.")
        self.kernel.changed()
        self.kernel.spawn(f"update-{group.id}", self._replace, group.id, group.generation)

    def release(self, group_id: str) -> None:
        """Terminate the group and remove it once its containers are gone."""
        group = self.groups.get(group_id)
        if group is None or group.status == TERMINATING:  # gone, or on its way out already
            return
        CONTAINER_GROUP.move(group, TERMINATING)
        group.generation += 1
        self.kernel.changed()
        self.kernel.spawn(f"release-{group.id}", self._destroy, group.id)

    # -- background work --------------------------------------------------------------------------------------

    def _launch(self, group_id: str, generation: int) -> None:
        if not self.kernel.sleep(self.kernel.latencies.instance_schedule):
            return
        with self.kernel.lock:
            group = self.groups.get(group_id)
            if group is None or group.generation != generation:
                return
            specs = [to_spec(c) for c in group.containers]
            self._event(group, "Normal", "Pulling", "Pulling images: " + ", ".join(s.image for s in specs))
        try:
            handle = self.runtime.launch(group_id, specs)
        except RuntimeFailure as failure:
            self._fail(group_id, generation, failure)
            return
        self._running(group_id, generation, handle)

    def _replace(self, group_id: str, generation: int) -> None:
        with self.kernel.lock:
            group = self.groups.get(group_id)
            if group is None or group.generation != generation:
                return
            specs = [to_spec(c) for c in group.containers]
            old = group.handle()
            self._event(group, "Normal", "Pulling", "Pulling images: " + ", ".join(s.image for s in specs))
        try:
            handle = self.runtime.replace(old, specs) if old.ip else self.runtime.launch(group_id, specs)
        except RuntimeFailure as failure:
            self._fail(group_id, generation, failure)
            return
        self._running(group_id, generation, handle)

    def _running(self, group_id: str, generation: int, handle: GroupHandle) -> None:
        with self.kernel.lock:
            group = self.groups.get(group_id)
            # Released while it was starting: nobody else will remove these containers.
            orphaned = group is None or group.status == TERMINATING
            superseded = not orphaned and group.generation != generation  # a newer update owns the group now
            if not orphaned and not superseded:
                self._mark_running(group, handle)
        if orphaned:
            self.runtime.destroy(handle)  # outside the lock: Docker calls are slow

    def _mark_running(self, group: ContainerGroup, handle: GroupHandle) -> None:
        group.intranet_ip = handle.ip
        group.runtime_ids = dict(handle.container_ids)
        CONTAINER_GROUP.move(group, RUNNING)
        now = iso_utc()
        for container in group.containers:
            container.update(Ready=True, CurrentState={"State": "Running", "StartTime": now})
        self._event(group, "Normal", "Started", "Started the containers.")
        self.kernel.changed()

    def _fail(self, group_id: str, generation: int, failure: RuntimeFailure) -> None:
        with self.kernel.lock:
            group = self.groups.get(group_id)
            if group is None or group.generation != generation:
                return
            CONTAINER_GROUP.move(group, FAILED)
            group.failed_at = time.time()
            for container in group.containers:
                container.update(
                    Ready=False, CurrentState={"State": "Waiting", "Reason": failure.reason, "Message": failure.message}
                )
            self._event(group, "Warning", failure.reason, failure.message)
            self.kernel.changed()

    def _destroy(self, group_id: str) -> None:
        with self.kernel.lock:
            group = self.groups.get(group_id)
            if group is None:
                return
            handle = group.handle()
        if handle.ip:
            self.runtime.destroy(handle)
        self.kernel.sleep(self.kernel.latencies.instance_release)
        with self.kernel.lock:
            self.groups.pop(group_id, None)
            self.kernel.changed()

    # -- helpers ---------------------------------------------------------------------------------------------

    @staticmethod
    def _waiting(container: dict[str, Any]) -> dict[str, Any]:
        return {
            **container,
            "Ready": False,
            "RestartCount": container.get("RestartCount", 0),
            "CurrentState": {"State": "Waiting", "Reason": "ContainerCreating"},
        }

    @staticmethod
    def _event(group: ContainerGroup, kind: str, reason: str, message: str) -> None:
        now = iso_utc()
        group.events.append(
            {
                "Type": kind,
                "Reason": reason,
                "Message": message,
                "Count": 1,
                "FirstTimestamp": now,
                "LastTimestamp": now,
                "Name": group.id,
            }
        )

    def clear(self) -> None:
        """Forget every container group, removing its containers now."""
        with self.kernel.lock:
            handles = [g.handle() for g in self.groups.values() if g.intranet_ip]
            self.groups.clear()
        for handle in handles:
            self.runtime.destroy(handle)  # outside the lock: Docker calls are slow

    # -- persistence -------------------------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        return {"groups": [asdict(g) for g in self.groups.values()]}

    def from_state(self, state: dict[str, Any]) -> None:
        # State files written before succeeded_at was dropped (nothing ever set it) still load.
        self.groups = {
            g["id"]: ContainerGroup(**{k: v for k, v in g.items() if k != "succeeded_at"})
            for g in state.get("groups", [])
        }

    def resume(self) -> None:
        """After a restart: bring back the containers of every group that was up, and finish interrupted work."""
        for group in list(self.groups.values()):
            if group.status == TERMINATING:
                self.kernel.spawn(f"release-{group.id}", self._destroy, group.id)
                continue
            if group.status == FAILED:
                continue
            if group.status == RUNNING:  # its containers come up again, as after an update
                CONTAINER_GROUP.move(group, UPDATING)
            group.intranet_ip, group.runtime_ids = "", {}
            group.generation += 1
            self.kernel.spawn(f"launch-{group.id}", self._launch, group.id, group.generation)

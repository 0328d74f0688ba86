"""What ECI remembers of a container group, as a JSON-able dataclass, and how DescribeContainerGroups shows it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from localcloud.eci.states import PENDING
from localcloud.runtime.base import GroupHandle


@dataclass
class ContainerGroup:
    id: str
    name: str
    region_id: str
    zone_id: str
    containers: list[dict[str, Any]]
    cpu: float = 2.0
    memory: float = 4.0
    restart_policy: str = "Always"
    status: str = PENDING
    intranet_ip: str = ""
    runtime_ids: dict[str, str] = field(default_factory=dict)
    created_at: float = field(default_factory=time.time)
    failed_at: float | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    generation: int = 0  # bumped by each update, so a slower earlier operation cannot overwrite a newer one

    def handle(self) -> GroupHandle:
        return GroupHandle(group_id=self.id, ip=self.intranet_ip, container_ids=dict(self.runtime_ids))


@dataclass(frozen=True)
class ShownContainerGroup:
    group: ContainerGroup
    status: str  # what a container_group_status fault makes it show, else its own status

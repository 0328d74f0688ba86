"""The contract between the ECI model and whatever runs container groups."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class ContainerSpec:
    """One container of a container group, as ECI describes it."""

    name: str
    image: str
    ports: tuple[int, ...] = ()
    commands: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    environment: tuple[tuple[str, str], ...] = ()


class RuntimeFailure(Exception):
    """The container group could not be brought up; ``reason`` is what ECI reports
    (``ErrImagePull``, ``CrashLoopBackOff``, ``ContainerCreateError``)."""

    def __init__(self, reason: str, message: str):
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


@dataclass
class GroupHandle:
    """Where a running container group can be reached."""

    group_id: str
    ip: str
    container_ids: dict[str, str] = field(default_factory=dict)  # container name -> runtime id


class ContainerRuntime(Protocol):
    kind: str  # "docker" or "simulated"

    def launch(self, group_id: str, containers: list[ContainerSpec]) -> GroupHandle:
        """Pull every image, start the containers on a fresh loopback address, and return once they have stayed
        up for ``Latencies.stay_up``. Blocking; called off the API thread. Raises ``RuntimeFailure``."""

    def replace(self, handle: GroupHandle, containers: list[ContainerSpec]) -> GroupHandle:
        """In-place update: the group keeps its address; its containers are recreated from ``containers``.
        Raises ``RuntimeFailure`` (the old containers are gone by then, as on ECI)."""

    def is_running(self, handle: GroupHandle) -> bool:
        """Whether every container of the group is still up."""

    def destroy(self, handle: GroupHandle) -> None:
        """Stop and remove the group's containers and free its address. Idempotent."""

    def shutdown(self) -> None:
        """Destroy every group this runtime started."""

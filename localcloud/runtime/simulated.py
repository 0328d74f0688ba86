"""Container groups without Docker: the same states, timings and failures, and nothing actually running but a
tiny HTTP answer on each instance's address and ports (``simulated_http``), for health checks.

Images from localcloud's registry must really be there (an unknown tag fails to pull, as it would on ECI);
images from anywhere else are taken on trust.
"""

from __future__ import annotations

import time
import uuid

from localcloud.faults import Faults
from localcloud.registry.client import RegistryError
from localcloud.registry.reference import ImageReference
from localcloud.registry.service import Registry
from localcloud.runtime.addresses import GroupAddresses, NoFreeAddress
from localcloud.runtime.base import ContainerSpec, GroupHandle
from localcloud.runtime.failures import crash_looping, create_failed, injected_pull_failure, pull_failed
from localcloud.runtime.simulated_http import SimulatedHttp
from localcloud.timing import Latencies


class SimulatedRuntime:
    kind = "simulated"

    def __init__(self, latencies: Latencies, faults: Faults, registry: Registry | None) -> None:
        self.latencies = latencies
        self.faults = faults
        self.registry = registry
        self._addresses = GroupAddresses()
        self._running: dict[str, dict[str, str]] = {}  # group id -> its (pretend) container ids
        self._http = SimulatedHttp()

    def launch(self, group_id: str, containers: list[ContainerSpec]) -> GroupHandle:
        self._pull(containers)
        try:
            ip = self._addresses.assign(group_id, (port for spec in containers for port in spec.ports))
        except NoFreeAddress as exc:
            raise create_failed(containers[0].name, str(exc)) from exc
        try:
            return self._start(group_id, ip, containers)
        except BaseException:
            self._addresses.release(group_id)
            raise

    def replace(self, handle: GroupHandle, containers: list[ContainerSpec]) -> GroupHandle:
        self._addresses.keep(handle.group_id, handle.ip)
        self._running.pop(handle.group_id, None)  # the old containers stop first
        self._http.stop_serving(handle.group_id)
        self._pull(containers)
        return self._start(handle.group_id, handle.ip, containers)

    def is_running(self, handle: GroupHandle) -> bool:
        return bool(handle.container_ids) and self._running.get(handle.group_id) == handle.container_ids

    def destroy(self, handle: GroupHandle) -> None:
        self._running.pop(handle.group_id, None)
        self._http.stop_serving(handle.group_id)
        self._addresses.release(handle.group_id)

    def shutdown(self) -> None:
        self._running.clear()
        self._http.shutdown()
        for group_id in self._addresses.group_ids():
            self._addresses.release(group_id)

    def _pull(self, containers: list[ContainerSpec]) -> None:
        for image in dict.fromkeys(spec.image for spec in containers):
            time.sleep(self.latencies.image_pull)
            if self.faults.pull_fails(image):
                raise injected_pull_failure(image)
            self._check_in_registry(image)

    def _check_in_registry(self, image: str) -> None:
        try:
            ref = ImageReference.parse(image)
        except ValueError as exc:
            raise pull_failed(image, str(exc)) from exc
        if self.registry is None or ref.registry != self.registry.address:
            return
        try:
            found = self.registry.manifest(ref.repository, ref.reference)
        except RegistryError as exc:
            raise pull_failed(image, str(exc)) from exc
        if found is None:
            raise pull_failed(image, f"manifest for {image} not found: manifest unknown")

    def _start(self, group_id: str, ip: str, containers: list[ContainerSpec]) -> GroupHandle:
        time.sleep(self.latencies.container_start)
        crashed = [spec.name for spec in containers if self.faults.crashes(spec.image)]
        time.sleep(self.latencies.stay_up)
        if crashed:
            raise crash_looping(crashed[0], "it exited with code 137 right after it started (crash_loop fault)")
        container_ids = {spec.name: f"simulated-{uuid.uuid4().hex[:12]}" for spec in containers}
        frozen = {spec.name: self.faults.freezes(spec.image) for spec in containers}  # one fault event a container
        self._http.serve(group_id, ip, [(port, s.image, frozen[s.name]) for s in containers for port in s.ports])
        self._running[group_id] = container_ids
        return GroupHandle(group_id=group_id, ip=ip, container_ids=dict(container_ids))

"""Container groups as real Docker containers: images pulled from the registry, ports published on the group's
own loopback address, and the group's containers sharing one network namespace as on ECI (a Kubernetes pod).

    runtime = DockerRuntime(Latencies(), Faults(), registry_auth=lambda host: registry.admin_auth())
    handle = runtime.launch("eci-123", [ContainerSpec("web", f"{registry.address}/demo/web:v1")])
    requests.get(f"http://{handle.ip}/")
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import defaultdict
from typing import Callable

import docker
import requests
from docker.errors import APIError, DockerException, NotFound
from docker.models.containers import Container
from docker.models.images import Image

from localcloud.faults import Faults
from localcloud.registry.reference import ImageReference
from localcloud.runtime.addresses import GroupAddresses, NoFreeAddress
from localcloud.runtime.base import ContainerSpec, GroupHandle, RuntimeFailure
from localcloud.runtime.failures import crash_looping, create_failed, injected_pull_failure, pull_failed
from localcloud.timing import Latencies

log = logging.getLogger("localcloud.runtime")

LABEL = "localcloud"  # every container localcloud starts carries localcloud=1
GROUP_LABEL = "localcloud.group"
RUNTIME_LABEL = "localcloud.runtime"  # which DockerRuntime object started it

RegistryAuth = Callable[[str], dict[str, str] | None]

# Something other than a localcloud can publish on an address between our check and our start: try another.
ADDRESS_ATTEMPTS = 5
_ADDRESS_TAKEN = ("port is already allocated", "address already in use")


class DockerUnavailable(Exception):
    pass


def docker_client() -> docker.DockerClient:
    """The engine ``DOCKER_HOST`` (or the default socket) names, checked to answer."""
    try:
        client = docker.from_env()
        client.ping()
        return client
    except (DockerException, requests.RequestException) as exc:
        raise DockerUnavailable(
            f"no Docker engine answers ({exc}); start one (or set DOCKER_HOST), or run localcloud with simulated "
            f"instances"
        ) from exc


def _address_taken(failure: BaseException) -> bool:
    return isinstance(failure, RuntimeFailure) and any(text in failure.message for text in _ADDRESS_TAKEN)


def _remove(container: Container) -> None:
    try:
        container.remove(force=True)
    except NotFound:
        pass
    except APIError as exc:
        if exc.status_code != 409:  # 409: a removal already in progress
            raise


class DockerRuntime:
    kind = "docker"

    def __init__(self, latencies: Latencies, faults: Faults, registry_auth: RegistryAuth) -> None:
        self.latencies = latencies
        self.faults = faults
        self.registry_auth = registry_auth  # registry host -> Docker auth_config for pulls, or None
        self.client = docker_client()
        self.runtime_id = uuid.uuid4().hex[:12]
        self._addresses = GroupAddresses()
        # One operation per group at a time: two overlapping updates of one group would both publish its ports.
        self._group_locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
        self._group_locks_guard = threading.Lock()

    # -- the ContainerRuntime contract ----------------------------------------------------------------------

    def launch(self, group_id: str, containers: list[ContainerSpec]) -> GroupHandle:
        with self._lock_of(group_id):
            return self._launch(group_id, containers)

    def replace(self, handle: GroupHandle, containers: list[ContainerSpec]) -> GroupHandle:
        with self._lock_of(handle.group_id):
            return self._replace(handle, containers)

    def is_running(self, handle: GroupHandle) -> bool:
        if not handle.container_ids:
            return False
        try:
            return all(self.client.containers.get(cid).status == "running" for cid in handle.container_ids.values())
        except NotFound:
            return False

    def destroy(self, handle: GroupHandle) -> None:
        with self._lock_of(handle.group_id):
            self._destroy(handle.group_id)

    def shutdown(self) -> None:
        for container in self.client.containers.list(all=True, filters={"label": f"{RUNTIME_LABEL}={self.runtime_id}"}):
            _remove(container)
        for group_id in self._addresses.group_ids():
            self._addresses.release(group_id)

    # -- steps -----------------------------------------------------------------------------------------------

    def _lock_of(self, group_id: str) -> threading.Lock:
        with self._group_locks_guard:
            return self._group_locks[group_id]

    def _launch(self, group_id: str, containers: list[ContainerSpec]) -> GroupHandle:
        self._remove_containers(group_id)  # a leftover with the same name would block the new containers
        images = self._pull(containers)
        ports = self._ports(containers, images)
        lost: set[str] = set()  # addresses someone else published on first
        while True:
            ip = self._assign_address(group_id, containers[0].name, ports, lost)
            try:
                return self._start(group_id, ip, containers, images, ports)
            except BaseException as failure:
                self._destroy(group_id)
                if not (_address_taken(failure) and len(lost) + 1 < ADDRESS_ATTEMPTS):
                    raise
                log.info("%s: %s was taken meanwhile, trying another address", group_id, ip)
                lost.add(ip)

    def _replace(self, handle: GroupHandle, containers: list[ContainerSpec]) -> GroupHandle:
        self._addresses.keep(handle.group_id, handle.ip)
        try:
            images = self._pull(containers)
        finally:
            self._remove_containers(handle.group_id)
        ports = self._ports(containers, images)
        try:
            return self._start(handle.group_id, handle.ip, containers, images, ports)
        except BaseException:
            self._remove_containers(handle.group_id)  # the group keeps its address until it is destroyed
            raise

    def _destroy(self, group_id: str) -> None:
        self._remove_containers(group_id)
        self._addresses.release(group_id)

    def _assign_address(self, group_id: str, first_container: str, ports: list[str], lost: set[str]) -> str:
        tcp_ports = [int(p.split("/")[0]) for p in ports if p.endswith("/tcp")]
        try:
            return self._addresses.assign(group_id, tcp_ports, avoid=lost)
        except NoFreeAddress as exc:
            raise create_failed(first_container, str(exc)) from exc

    def _pull(self, containers: list[ContainerSpec]) -> dict[str, Image]:
        images: dict[str, Image] = {}
        for image in dict.fromkeys(spec.image for spec in containers):
            time.sleep(self.latencies.image_pull)
            if self.faults.pull_fails(image):
                raise injected_pull_failure(image)
            try:
                auth = self.registry_auth(ImageReference.parse(image).registry)
                started = time.monotonic()
                images[image] = self.client.images.pull(image, auth_config=auth)
                log.debug("pulled %s in %.2f s", image, time.monotonic() - started)
            except ValueError as exc:
                raise pull_failed(image, str(exc)) from exc
            except (DockerException, requests.RequestException) as exc:
                raise pull_failed(image, getattr(exc, "explanation", None) or str(exc)) from exc
        return images

    @staticmethod
    def _ports(containers: list[ContainerSpec], images: dict[str, Image]) -> list[str]:
        """Every port the group publishes, as ``"80/tcp"``: the declared ports, or for a container that declares
        none, its image's ExposedPorts."""
        ports: dict[str, None] = {}
        for spec in containers:
            if spec.ports:
                ports.update(dict.fromkeys(f"{port}/tcp" for port in spec.ports))
            else:
                exposed = images[spec.image].attrs.get("Config", {}).get("ExposedPorts") or {}
                ports.update(dict.fromkeys(exposed))
        return list(ports)

    def _start(
        self, group_id: str, ip: str, containers: list[ContainerSpec], images: dict[str, Image], ports: list[str]
    ) -> GroupHandle:
        time.sleep(self.latencies.container_start)
        started: dict[str, Container] = {}
        for spec in containers:
            first = next(iter(started.values()), None)
            # Only the network namespace's owner can publish ports; the others join it, as in a pod.
            network = (
                {"network_mode": f"container:{first.id}"}
                if first
                else {"ports": {port: (ip, int(port.split("/")[0])) for port in ports}}
            )
            try:
                started[spec.name] = self.client.containers.run(
                    images[spec.image].id,
                    name=f"localcloud-{group_id}-{spec.name}",
                    labels={LABEL: "1", GROUP_LABEL: group_id, RUNTIME_LABEL: self.runtime_id},
                    entrypoint=list(spec.commands) or None,
                    command=list(spec.args) or None,
                    environment=dict(spec.environment),
                    detach=True,
                    **network,
                )
            except (DockerException, requests.RequestException) as exc:
                raise create_failed(spec.name, getattr(exc, "explanation", None) or str(exc)) from exc
        for spec in containers:  # after all started: a crashed first container would stop the others joining it
            if self.faults.crashes(spec.image):
                started[spec.name].kill()
        time.sleep(self.latencies.stay_up)
        for name, container in started.items():
            container.reload()
            if container.status != "running":
                raise crash_looping(name, self._exit_report(container))
        for spec in containers:  # a frozen process: the container stays Running and answers nothing
            if self.faults.freezes(spec.image):
                started[spec.name].pause()
        return GroupHandle(group_id=group_id, ip=ip, container_ids={n: c.id for n, c in started.items()})

    @staticmethod
    def _exit_report(container: Container) -> str:
        state = container.attrs.get("State", {})
        last_lines = container.logs(tail=5).decode(errors="replace").strip()
        report = f"it {state.get('Status', container.status)} with code {state.get('ExitCode')}"
        return f"{report}; last output: {last_lines}" if last_lines else report

    def _remove_containers(self, group_id: str) -> None:
        for container in self.client.containers.list(all=True, filters={"label": f"{GROUP_LABEL}={group_id}"}):
            _remove(container)

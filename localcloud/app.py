"""``LocalCloud``: the whole local cloud in one object, for the CLI and as a context manager for tests.

with LocalCloud(instances="docker") as lc:
    config = Config(access_key_id=lc.info.access_key_id, access_key_secret=lc.info.access_key_secret,
                    endpoint=lc.info.endpoint, protocol="http", region_id=lc.info.region_id)
"""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from localcloud.cloud import Cloud
from localcloud.control import ControlServer
from localcloud.gateway.server import GatewayServer
from localcloud.kernel import Kernel
from localcloud.keys import AccessKey
from localcloud.registry.process import Notifications
from localcloud.registry.service import Registry
from localcloud.runtime.base import ContainerRuntime
from localcloud.scenario import Scenario, load
from localcloud.sts.model import SEEDED_ROLES, role_arn
from localcloud.timing import Latencies

DEFAULT_REGION = "cn-hangzhou"


class LocalCloudInfo(BaseModel):
    """What a client needs; printed as one JSON line by ``localcloud serve``."""

    endpoint: str
    region_id: str
    access_key_id: str
    access_key_secret: str
    sts_access_key_id: str
    sts_access_key_secret: str
    security_token: str
    registry: str
    control_url: str
    instances: str
    role_arn: str = Field(description="a RAM role the access key may assume through STS AssumeRole")


def _credentials(state_dir: Path | None) -> dict[str, str]:
    """Fresh random keys, kept in the state directory so a restarted cloud accepts the same ones."""
    path = state_dir / "credentials.json" if state_dir else None
    if path is not None and path.exists():
        return json.loads(path.read_text())
    keys = {
        "access_key_id": "LTAI5tLocal" + secrets.token_hex(6),
        "access_key_secret": secrets.token_urlsafe(24),
        "sts_access_key_id": "STS.Local" + secrets.token_hex(8),
        "sts_access_key_secret": secrets.token_urlsafe(24),
        "security_token": secrets.token_urlsafe(48),
    }
    if path is not None:
        path.touch(mode=0o600)
        path.write_text(json.dumps(keys))
    return keys


class LocalCloud:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        control_port: int = 0,
        state_dir: str | Path | None = None,
        instances: Literal["docker", "simulated"] = "docker",
        registry: str = "auto",
        latencies: Latencies | None = None,
        scenario: Scenario | None = None,
        region_id: str = DEFAULT_REGION,
        notifications: Notifications | None = None,
    ) -> None:
        self.host, self.port, self.control_port = host, port, control_port
        self.state_dir = Path(state_dir) if state_dir else None
        self.instances = instances
        self.registry_option = registry
        self.latencies = latencies or Latencies()
        self.scenario = scenario or Scenario()
        self.region_id = region_id
        self.notifications = notifications
        self.cloud: Cloud | None = None
        self._registry: Registry | None = None
        self._runtime: ContainerRuntime | None = None
        self._servers: list[GatewayServer | ControlServer] = []
        self._scratch: Path | None = None
        self._info: LocalCloudInfo | None = None

    @property
    def info(self) -> LocalCloudInfo:
        if self._info is None:
            raise RuntimeError("LocalCloud is not started")
        return self._info

    def __enter__(self) -> "LocalCloud":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalCloudInfo:
        if self.notifications is not None and self.registry_option != "auto":
            raise ValueError("registry notifications are configured on a registry localcloud starts (--registry auto)")

        if self.state_dir:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            work_dir = self.state_dir
        else:
            work_dir = self._scratch = Path(tempfile.mkdtemp(prefix="localcloud-"))
        keys = _credentials(self.state_dir)
        access_keys = [
            AccessKey(keys["access_key_id"], keys["access_key_secret"]),
            AccessKey(keys["sts_access_key_id"], keys["sts_access_key_secret"], keys["security_token"]),
        ]
        try:
            registry = self._registry = (
                Registry.start(work_dir / "registry", host=self.host, notifications=self.notifications)
                if self.registry_option == "auto"
                else Registry.attach(self.registry_option)
            )
            kernel = Kernel(region_id=self.region_id, latencies=self.latencies)
            runtime = self._runtime = self._start_runtime(kernel, registry)
            cloud = self.cloud = Cloud(
                kernel, access_keys=access_keys, runtime=runtime, registry=registry, state_dir=self.state_dir
            )
            if not cloud.resume_saved():
                load(cloud, self.scenario)
            cloud.keep_saved()
            gateway = GatewayServer((self.host, self.port), cloud)
            control = ControlServer((self.host, self.control_port), cloud)
        except BaseException:
            self.stop()
            raise
        for server in (gateway, control):
            self._servers.append(server)
            threading.Thread(
                target=server.serve_forever, name=f"localcloud-{type(server).__name__}", daemon=True
            ).start()
        self._info = LocalCloudInfo(
            role_arn=role_arn(SEEDED_ROLES[0]),
            endpoint=f"{self.host}:{gateway.server_address[1]}",
            region_id=self.region_id,
            registry=registry.address,
            control_url=f"http://{self.host}:{control.server_address[1]}",
            instances=runtime.kind,
            **keys,
        )
        return self._info

    def _start_runtime(self, kernel: Kernel, registry: Registry) -> ContainerRuntime:
        if self.instances == "simulated":
            from localcloud.runtime.simulated import SimulatedRuntime

            return SimulatedRuntime(kernel.latencies, kernel.faults, registry)
        from localcloud.runtime.docker_runtime import DockerRuntime

        def registry_auth(host: str) -> dict | None:
            return registry.admin_auth() if registry is not None and host == registry.address else None

        return DockerRuntime(kernel.latencies, kernel.faults, registry_auth)

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()
        cloud, self.cloud = self.cloud, None
        if cloud is not None:
            cloud.stop()
        runtime, self._runtime = self._runtime, None
        if runtime is not None:
            runtime.shutdown()
        registry, self._registry = self._registry, None
        if registry is not None:
            registry.stop()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
        self._info = None

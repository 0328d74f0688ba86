"""verify: prove the release on the running group: every InService instance runs the pinned image and is Running,
and every instance the release updated answers its HTTP health check (between OOS batches, and at the end).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import requests

from blocks.credentials import AlibabaCloudCredentials
from tasks.cloud_views import group_instances
from tasks.logs import logger
from tasks.models import ConfigSnapshot, HealthCheck, InstanceState
from tasks.task_policy import stage_task

HEALTH_CHECKS_AT_ONCE = 16


class VerificationFailed(RuntimeError):
    pass


def is_healthy(status_code: int) -> bool:
    """2xx and 3xx are healthy; a 4xx or 5xx is not, however fast it came."""
    return 200 <= status_code < 400


def check_health(ip: str, port: int, path: str, timeout: float) -> str:
    """GET the health URL until it answers 2xx/3xx; returns what it answered."""
    url = f"http://{ip}:{port}{path}"
    session = requests.Session()
    session.trust_env = False  # instance addresses are private: never through a proxy
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = session.get(url, timeout=max(0.5, min(5.0, deadline - time.monotonic())))
            if is_healthy(response.status_code):
                return f"HTTP {response.status_code} from {url}"
            last = f"HTTP {response.status_code}"
        except requests.RequestException as error:
            last = type(error).__name__
        time.sleep(0.5)
    raise VerificationFailed(f"health check {url} failed for {timeout:.0f} s (last: {last})")


def check_instance(snapshot: ConfigSnapshot, ip: str, health: HealthCheck) -> str:
    """``check_health`` of an instance of the configuration, as ``health`` says (its port, or the container's)."""
    return check_health(ip, health_port(snapshot, health.port), health.path, timeout=health.timeout_seconds)


def sweep(credentials: AlibabaCloudCredentials, snapshot: ConfigSnapshot, image: str) -> list[InstanceState]:
    instances = group_instances(credentials, snapshot.group, snapshot.container_name)
    wrong = [
        f"{i.instance_id} runs {i.image} ({i.status})" for i in instances if i.image != image or i.status != "Running"
    ]
    if wrong:
        raise VerificationFailed(f"not every InService instance runs {image}: {'; '.join(wrong)}")
    return instances


def health_port(snapshot: ConfigSnapshot, port: int | None) -> int:
    if port:
        return port
    ports = snapshot.container.get("Ports") or []
    if not ports:
        raise VerificationFailed(f"container {snapshot.container_name} declares no port; give the health port")
    return int(ports[0]["Port"])


class HealthGate:
    """The health check of instances OOS has just updated: run between batches and at the end, each instance
    checked once: Running on the image and answering its health URL."""

    def __init__(
        self, credentials: AlibabaCloudCredentials, snapshot: ConfigSnapshot, image: str, health: HealthCheck
    ) -> None:
        self.credentials, self.snapshot, self.image, self.health = credentials, snapshot, image, health
        self.checked: dict[str, str] = {}

    def check_updated(self, instances: list[InstanceState] | None = None) -> list[str]:
        """Check every InService instance on the image not checked yet (of ``instances`` when just read, else of
        the group now); returns their ids. Raises ``VerificationFailed`` naming the first that is not Running or
        does not answer."""
        if instances is None:
            instances = group_instances(self.credentials, self.snapshot.group, self.snapshot.container_name)
        fresh = [i for i in instances if i.image == self.image and i.instance_id not in self.checked]
        for instance in fresh:
            if instance.status != "Running":
                raise VerificationFailed(f"updated instance {instance.instance_id} is {instance.status}, not Running")

        def answer(instance: InstanceState) -> tuple[str, str]:
            return instance.instance_id, check_instance(self.snapshot, instance.ip, self.health)

        if fresh:  # all at once: a batch of 50 is checked in the time of its slowest, not of all 50 in a row
            with ThreadPoolExecutor(max_workers=min(HEALTH_CHECKS_AT_ONCE, len(fresh))) as pool:
                checks = [pool.submit(answer, instance) for instance in fresh]
                try:
                    self.checked.update(check.result() for check in checks)
                except VerificationFailed:
                    # The first failure decides: the checks not begun never are, so a gate over a group whose
                    # every instance is down takes the timeout once, not once for every HEALTH_CHECKS_AT_ONCE.
                    pool.shutdown(cancel_futures=True)
                    raise
            logger().info("health gate: %d instance(s) on the image answer their health check", len(fresh))
        return [i.instance_id for i in fresh]


@stage_task("verify")
def verify_release(
    credentials: AlibabaCloudCredentials, snapshot: ConfigSnapshot, image: str, gate: HealthGate | None, probed: bool
) -> list[InstanceState]:
    """Every InService instance runs the image and is Running; with a gate (the release changed something), every
    updated instance not checked between batches answers its health check too. A changed release is verified on
    one instance at least: the probe, or an updated one."""
    swept = sweep(credentials, snapshot, image)
    if gate is not None:
        gate.check_updated(swept)
        if not swept and not probed:
            raise VerificationFailed(f"no instance ran {image}: neither a probe nor an updated instance")
    logger().info("verify: all %d InService instance(s) run %s", len(swept), image)
    return swept

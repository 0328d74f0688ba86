"""verify-scale-out: prove the release on the running group and on a new instance.

Every InService instance must run the pinned image; then one instance is added, must come up Running on
the image and answer its HTTP health check, and exactly that instance is removed again.
"""

from __future__ import annotations

import time

import requests
from alibabacloud_ess20220222 import models as ess
from prefect import task

from blocks.credentials import AlibabaCloudCredentials
from tasks.cloud_calls import call
from tasks.cloud_views import group_instances, wait_for_activity
from tasks.logs import logger
from tasks.models import ConfigSnapshot, InstanceState, Verification


class VerificationFailed(RuntimeError):
    pass


def check_health(ip: str, port: int, path: str, timeout: float) -> str:
    """GET the health URL until it answers 2xx/3xx; returns what it answered."""
    url = f"http://{ip}:{port}{path}"
    session = requests.Session()
    session.trust_env = False  # instance addresses are private: never through a proxy
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = session.get(url, timeout=5)
            if response.status_code < 400:
                return f"HTTP {response.status_code} from {url}"
            last = f"HTTP {response.status_code}"
        except requests.RequestException as error:
            last = type(error).__name__
        time.sleep(0.5)
    raise VerificationFailed(f"health check {url} failed for {timeout:.0f} s (last: {last})")


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
    container = next(c for c in snapshot.containers if c["Name"] == snapshot.container_name)
    ports = container.get("Ports") or []
    if not ports:
        raise VerificationFailed(f"container {snapshot.container_name} declares no port; give the health port")
    return int(ports[0]["Port"])


@task(name="verify-scale-out")
def verify_scale_out(
    credentials: AlibabaCloudCredentials,
    snapshot: ConfigSnapshot,
    image: str,
    health_path: str = "/",
    port: int | None = None,
    timeout: float = 600,
) -> Verification:
    log = logger()
    swept = sweep(credentials, snapshot, image)
    log.info("verify-scale-out: all %d InService instance(s) run %s", len(swept), image)
    group = snapshot.group
    members = group_instances(
        credentials, group, snapshot.container_name, states=("InService", "Pending", "Standby", "Protected", "Removing")
    )
    if len(members) >= group.max_size:
        note = f"the group is at MaxSize {group.max_size}: no probe instance was started, only the sweep was verified"
        log.warning("verify-scale-out: %s", note)
        return Verification(swept=swept, note=note)
    client = credentials.get_ess_client()
    started = call(
        lambda: client.scale_with_adjustment(
            ess.ScaleWithAdjustmentRequest(
                scaling_group_id=group.scaling_group_id, adjustment_type="QuantityChangeInCapacity", adjustment_value=1
            )
        ),
        what="ess ScaleWithAdjustment",
    ).body
    activity = wait_for_activity(credentials, started.scaling_activity_id, timeout)
    probe_ids = list(activity.created_instances or [])
    try:
        if activity.status_code != "Successful" or len(probe_ids) != 1:
            raise VerificationFailed(
                f"scale-out activity {activity.scaling_activity_id} ended "
                f"{activity.status_code}: {activity.status_message}"
            )
        [probe] = group_instances(credentials, group, snapshot.container_name, instance_ids=probe_ids)
        if probe.image != image or probe.status != "Running":
            raise VerificationFailed(
                f"new instance {probe.instance_id} runs {probe.image} ({probe.status}), not {image}"
            )
        health = check_health(probe.ip, health_port(snapshot, port), health_path, timeout=min(timeout, 60))
        log.info("verify-scale-out: new instance %s runs %s and answers %s", probe.instance_id, image, health)
    finally:
        for probe_id in probe_ids:
            removed = call(
                lambda: client.remove_instances(
                    ess.RemoveInstancesRequest(
                        region_id=group.region_id, scaling_group_id=group.scaling_group_id, instance_ids=[probe_id]
                    )
                ),
                what="ess RemoveInstances",
            ).body
            wait_for_activity(credentials, removed.scaling_activity_id, timeout)
    return Verification(
        swept=swept, probe_instance_id=probe.instance_id, probe_image=probe.image, probe_health=health, scaled_out=True
    )

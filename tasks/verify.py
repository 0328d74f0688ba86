"""verify-scale-out: prove the release on the running group and on a new instance.

Every InService instance must run the pinned image; then one instance is added, must come up Running on
the image and answer its HTTP health check, and exactly that instance is removed again.
"""

from __future__ import annotations

import time
import uuid

import requests
from alibabacloud_ess20220222 import models as ess

from blocks.credentials import AlibabaCloudCredentials
from tasks.cloud_calls import call
from tasks.cloud_views import ALL_STATES, find_group, group_instances, scaling_activity, wait_for_activity
from tasks.logs import logger
from tasks.models import ConfigSnapshot, InstanceState, ScalingGroupRef, Verification
from tasks.task_policy import stage_task


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
            response = session.get(url, timeout=5)
            if is_healthy(response.status_code):
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
    ports = snapshot.container.get("Ports") or []
    if not ports:
        raise VerificationFailed(f"container {snapshot.container_name} declares no port; give the health port")
    return int(ports[0]["Port"])


@stage_task("verify-scale-out")
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
    group = find_group(credentials, snapshot.group.scaling_group_id)
    if group.total_capacity >= group.max_size:
        note = f"the group is at MaxSize {group.max_size}: no probe instance was started, only the sweep was verified"
        log.warning("verify-scale-out: %s", note)
        return Verification(swept=swept, note=note)
    client = credentials.get_ess_client()
    scale_out = ess.ScaleWithAdjustmentRequest(
        scaling_group_id=group.scaling_group_id,
        adjustment_type="QuantityChangeInCapacity",
        adjustment_value=1,
        client_token=uuid.uuid4().hex,
    )
    activity_id = call(
        lambda: client.scale_with_adjustment(scale_out), what="ess ScaleWithAdjustment"
    ).body.scaling_activity_id
    try:
        activity = wait_for_activity(credentials, activity_id, timeout)
        if activity.status_code != "Successful" or len(activity.created_instances or []) != 1:
            raise VerificationFailed(
                f"scale-out activity {activity_id} ended {activity.status_code}: {activity.status_message}"
            )
        probe = _probe(credentials, snapshot, activity.created_instances[0])
        if probe.image != image or probe.status != "Running":
            raise VerificationFailed(
                f"new instance {probe.instance_id} runs {probe.image} ({probe.status}), not {image}"
            )
        health = check_health(probe.ip, health_port(snapshot, port), health_path, timeout=min(timeout, 60))
        log.info("verify-scale-out: new instance %s runs %s and answers %s", probe.instance_id, image, health)
    except BaseException:
        _remove_probes(credentials, group, activity_id, timeout, best_effort=True)
        raise
    _remove_probes(credentials, group, activity_id, timeout, best_effort=False)
    return Verification(
        swept=swept, probe_instance_id=probe.instance_id, probe_image=probe.image, probe_health=health, scaled_out=True
    )


def _probe(credentials: AlibabaCloudCredentials, snapshot: ConfigSnapshot, instance_id: str) -> InstanceState:
    found = group_instances(
        credentials, snapshot.group, snapshot.container_name, states=ALL_STATES, instance_ids=[instance_id]
    )
    if not found:
        raise VerificationFailed(f"new instance {instance_id} is not in the group")
    return found[0]


def _remove_probes(
    credentials: AlibabaCloudCredentials, group: ScalingGroupRef, activity_id: str, timeout: float, *, best_effort: bool
) -> None:
    """Remove exactly the instances the probe scale-out created, and check they are gone. On the failure path
    (``best_effort``) a problem here is logged, so that it does not hide the failure being reported."""
    try:
        activity = scaling_activity(credentials, activity_id)
        created = list(activity.created_instances or []) if activity else []
        if not created:
            return
        client = credentials.get_ess_client()
        request = ess.RemoveInstancesRequest(
            region_id=group.region_id,
            scaling_group_id=group.scaling_group_id,
            instance_ids=created,
            client_token=uuid.uuid4().hex,
        )
        removal = call(lambda: client.remove_instances(request), what="ess RemoveInstances").body
        removed = wait_for_activity(credentials, removal.scaling_activity_id, timeout)
        if removed.status_code != "Successful":
            raise VerificationFailed(
                f"removing probe instance(s) {created} ended {removed.status_code}: {removed.status_message}"
            )
        logger().info("verify-scale-out: probe instance(s) %s removed", ", ".join(created))
    except Exception as error:
        if not best_effort:
            raise
        logger().error("verify-scale-out: could not remove the probe instance(s) of %s: %s", activity_id, error)

"""probe: before OOS touches a running instance, one new instance starts from the written configuration, must come
up Running on the new image and answer its health check, and exactly that instance is removed again. A bad image
costs one instance and a configuration restore, never the running fleet.

The scale-out's activity id goes into the release record the moment the cloud returns it, so a release that dies
while the probe runs leaves recovery what it needs to remove the probe.
"""

from __future__ import annotations

import uuid

from alibabacloud_ess20220222 import models as ess
from pydantic import BaseModel

from blocks.credentials import AlibabaCloudCredentials
from tasks.cloud_calls import CloudCallFailed, call
from tasks.cloud_views import ALL_STATES, find_group, group_instances, members, scaling_activity, wait_for_activity
from tasks.logs import logger
from tasks.models import ConfigSnapshot, HealthCheck, InstanceState, ScalingGroupRef
from tasks.release_record import Journal
from tasks.task_policy import stage_task
from tasks.verify import VerificationFailed, check_instance
from tasks.waiting import Durations


class Probe(BaseModel):
    instance_id: str | None = None
    image: str | None = None
    health: str | None = None
    note: str = ""


def has_room_for_a_probe(group: ScalingGroupRef) -> bool:
    return group.total_capacity < group.max_size


@stage_task("probe")
def probe_new_instance(
    credentials: AlibabaCloudCredentials,
    snapshot: ConfigSnapshot,
    image: str,
    journal: Journal,
    health: HealthCheck,
    scale_out_timeout: float,
) -> Probe:
    log = logger()
    group = find_group(credentials, snapshot.group.scaling_group_id)
    if not has_room_for_a_probe(group):
        note = f"the group is at MaxSize {group.max_size}: no probe instance; the first OOS batch is checked instead"
        log.warning("probe: %s", note)
        return Probe(note=note)
    token = uuid.uuid4().hex
    journal.changing("probe instance started", state="probing", step="probe", probe_client_token=token)
    try:
        activity_id = _scale_out_by_one(credentials, group.scaling_group_id, token)
    except CloudCallFailed as refused:
        if not refused.transient:  # the cloud's own answer: it did not scale out, and a rollback must not ask again
            journal.note(probe_client_token=None)
        raise
    journal.note(probe_activity_id=activity_id)
    try:
        with journal.durations.timing("probe scale-out") as expected:
            activity = wait_for_activity(credentials, activity_id, scale_out_timeout, expected=expected)
        if activity.status_code != "Successful" or len(activity.created_instances or []) != 1:
            raise VerificationFailed(
                f"probe scale-out {activity_id} ended {activity.status_code}: {activity.status_message}"
            )
        probe = _instance(credentials, snapshot, activity.created_instances[0])
        journal.remember(probe_instance_id=probe.instance_id)  # recovery removes the probe by its activity
        if probe.image != image or probe.status != "Running":
            raise VerificationFailed(
                f"probe instance {probe.instance_id} runs {probe.image} ({probe.status}), not {image}"
            )
        answer = check_instance(snapshot, probe.ip, health)
        log.info("probe: new instance %s runs %s and answers %s", probe.instance_id, image, answer)
    except BaseException:
        remove_probe(credentials, group, activity_id, scale_out_timeout, best_effort=True)
        raise
    remove_probe(credentials, group, activity_id, scale_out_timeout, best_effort=False, durations=journal.durations)
    return Probe(instance_id=probe.instance_id, image=probe.image, health=answer)


def _scale_out_by_one(credentials: AlibabaCloudCredentials, group_id: str, client_token: str) -> str:
    """The probe's scale-out; returns its activity id. The same ``client_token`` gets the same activity back."""
    client = credentials.get_ess_client()
    request = ess.ScaleWithAdjustmentRequest(
        scaling_group_id=group_id,
        adjustment_type="QuantityChangeInCapacity",
        adjustment_value=1,
        client_token=client_token,
    )
    return call(lambda: client.scale_with_adjustment(request), what="ess ScaleWithAdjustment").body.scaling_activity_id


def probe_activity(credentials: AlibabaCloudCredentials, group: ScalingGroupRef, journal: Journal) -> str | None:
    """The probe's scale-out activity, for a rollback: as noted, or, when the cloud's answer never reached the record
    (lost on the way, or the release died first), the answer to the same request sent again with the noted
    ClientToken: the cloud does not scale out twice for one token, it answers with the first call's activity (and
    if the first call never arrived, this one starts the probe that the rollback then removes). None: no probe."""
    record = journal.record
    if record.probe_activity_id or not record.probe_client_token:
        return record.probe_activity_id
    activity_id = _scale_out_by_one(credentials, group.scaling_group_id, record.probe_client_token)
    journal.note(probe_activity_id=activity_id)
    return activity_id


def _instance(credentials: AlibabaCloudCredentials, snapshot: ConfigSnapshot, instance_id: str) -> InstanceState:
    found = group_instances(
        credentials, snapshot.group, snapshot.container_name, states=ALL_STATES, instance_ids=[instance_id]
    )
    if not found:
        raise VerificationFailed(f"probe instance {instance_id} is not in the group")
    return found[0]


def remove_probe(
    credentials: AlibabaCloudCredentials,
    group: ScalingGroupRef,
    activity_id: str,
    timeout: float,
    *,
    best_effort: bool,
    durations: Durations | None = None,
) -> list[str]:
    """Remove exactly the instances the probe's scale-out created (once it has ended: the cloud refuses to remove
    an instance still starting), and check they are gone; returns them. On a failure path (``best_effort``) a
    problem here is logged, so that it does not hide the failure being reported, and a scale-out still running is
    left to the rollback, which waits for it. ``durations`` times the removal's wait, closing in on the last one's."""
    try:
        activity = scaling_activity(credentials, activity_id)
        if activity is not None and activity.status_code == "InProgress":
            if best_effort:
                logger().warning("probe: scale-out %s still running; the rollback removes its instance", activity_id)
                return []
            activity = wait_for_activity(credentials, activity_id, timeout)
        created = set(activity.created_instances or []) if activity else set()
        remaining = [m.instance_id for m in members(credentials, group, ALL_STATES) if m.instance_id in created]
        if not remaining:
            return []
        client = credentials.get_ess_client()
        request = ess.RemoveInstancesRequest(
            region_id=group.region_id,
            scaling_group_id=group.scaling_group_id,
            instance_ids=remaining,
            client_token=uuid.uuid4().hex,
        )
        removal = call(lambda: client.remove_instances(request), what="ess RemoveInstances").body
        with (durations or Durations()).timing("probe removal") as expected:
            removed = wait_for_activity(credentials, removal.scaling_activity_id, timeout, expected=expected)
        if removed.status_code != "Successful":
            raise VerificationFailed(
                f"removing probe instance(s) {remaining} ended {removed.status_code}: {removed.status_message}"
            )
        logger().info("probe: instance(s) %s removed", ", ".join(remaining))
        return remaining
    except Exception as error:
        if not best_effort:
            raise
        logger().error("probe: could not remove the instance(s) of %s: %s", activity_id, error)
        return []

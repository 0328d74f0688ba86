"""Recovery: finish what an earlier release of a group left unfinished, before anything else is done to the group.

A release that died (SIGKILL, a lost machine) or ran out of grace while rolling back leaves its record in an
unfinished state. Recovery reads it and rolls the release back exactly as the release itself would have: stop its
OOS executions, restore the configuration, remove the probe, put the instances back, resume what was suspended,
return Standby instances, and check every InService instance runs the image the group had before. A release that
died once its rollout had started (its probe already removed) and whose OOS execution then ended Success, with the
group wholly on its image and every instance answering the release's health check, is recorded as released
instead.
"""

from __future__ import annotations

from prefect import flow

from blocks.credentials import AlibabaCloudCredentials
from flows.group_lock import Superseded, hold_group
from flows.inputs import credentials_or_environment
from flows.parameters import RolloutSpec
from tasks.cloud_views import TargetError, find_group
from tasks.logs import logger
from tasks.models import HealthCheck, Recovery, ReleaseResult, ScalingGroupRef
from tasks.oos_executions import execution, running_for_group
from tasks.processes import resume_processes
from tasks.release_record import Journal, ReleaseRecord
from tasks.rollback import rollback_release
from tasks.scaling_config import read_containers, recorded_snapshot
from tasks.verify import HealthGate, VerificationFailed, sweep

# The rollout is the last step that changes the cloud, and the probe is gone before it starts: a group found wholly
# on the image after it had nothing left to undo. ("verifying": a record left by a version that noted the verify.)
AFTER_THE_ROLLOUT = ("rolling-out", "verifying")


def describe_unfinished(record: ReleaseRecord) -> str:
    leftovers = [f"changed: {', '.join(record.changed)}" if record.changed else "nothing changed yet"]
    if record.execution_id:
        leftovers.append(f"OOS execution {record.execution_id}")
    if record.rollback_execution_id:
        leftovers.append(f"OOS rollback execution {record.rollback_execution_id}")
    if record.probe_activity_id:
        leftovers.append(f"probe scale-out {record.probe_activity_id}")
    elif record.probe_client_token:
        leftovers.append(f"a probe scale-out whose answer was not noted (ClientToken {record.probe_client_token})")
    return (
        f"the {record.trigger} release of {record.image_after} (run {record.flow_run_id}) stopped in {record.step} "
        f"({record.state}); " + "; ".join(leftovers)
    )


def finish_unfinished(
    credentials: AlibabaCloudCredentials, group: ScalingGroupRef, rollout: RolloutSpec, record: ReleaseRecord | None
) -> Recovery | None:
    """Roll back the group's unfinished release, if its ``record`` (as just loaded) says there is one; None when
    there is none."""
    if record is None or not record.unfinished:
        return None
    found = describe_unfinished(record)
    log = logger()
    log.warning("recovery of %s: %s", group.scaling_group_name, found)
    journal = Journal(record, saved=True)
    not_finished = None
    if record.state in AFTER_THE_ROLLOUT:
        not_finished = _why_not_finished(credentials, group, record, record.health_check or rollout.health_check)
        if not_finished is None:
            return _recorded_released(credentials, group, record, journal, found)
    try:
        snapshot = recorded_snapshot(credentials, group, record)
    except TargetError as gone:  # the configuration it changed is gone: nothing to put back, and nothing to wait for
        done = f"nothing to restore ({gone}); the record is closed"
        journal.note(state="failed", step="recovered", message=f"recovery: {done}")
        return Recovery(found=found, done=done, complete=True)
    rolled_back = rollback_release(
        credentials, snapshot, journal, rollout.batch_number, rollout.timeout_seconds, rollout.scale_out_timeout_seconds
    )
    done, complete = rolled_back.message, rolled_back.complete
    if not_finished:
        done = f"the release had not finished ({not_finished}); {done}"
    # Not complete: the record stays unfinished, and the next release or `recover` tries again.
    journal.note(state="rolled_back" if complete else "rolling-back", step="recovered", message=f"recovery: {done}")
    (log.warning if complete else log.error)("recovery of %s: %s", group.scaling_group_name, done)
    return Recovery(found=found, done=done, complete=complete, image=record.image_before if complete else None)


def _recorded_released(
    credentials: AlibabaCloudCredentials, group: ScalingGroupRef, record: ReleaseRecord, journal: Journal, found: str
) -> Recovery:
    """Close the record of a release that had finished as released."""
    done = (
        f"the release had finished: the configuration and every InService instance run {record.image_after}, "
        "and the instances answer their health check"
    )
    # It may have died before resuming what the template suspended.
    resumed = resume_processes(credentials, group.model_copy(update={"suspended_processes": record.suspended_before}))
    if resumed:
        done += f"; resumed {', '.join(resumed)}"
    journal.note(
        state="released",
        step="recovered",
        message=f"recovery: {done}",
        released_from=None if record.trigger == "rollback" else record.image_before,
    )
    logger().warning("recovery of %s: %s", group.scaling_group_name, done)
    return Recovery(found=found, done=done, complete=True, image=record.image_after)


def _why_not_finished(
    credentials: AlibabaCloudCredentials, group: ScalingGroupRef, record: ReleaseRecord, health: HealthCheck
) -> str | None:
    """Why a release that died in its rollout or after it (before its last note reached the server) had not in fact
    finished; None when it had: its OOS execution ended Success (a failed one can leave instances in Standby and the
    others on the image), no rollout runs, the configuration and every InService instance (Running) are on its image,
    and every instance answers the release's health check (its last batch was never checked)."""
    if record.execution_id is None:  # it may have started unseen
        return "no OOS execution was noted"
    ended = execution(credentials, record.execution_id)
    if ended is None or ended.status != "Success":
        return f"its OOS execution {record.execution_id} is {ended.status if ended else 'not found'}"
    if running_for_group(credentials, group.scaling_group_id):
        return "a rollout of the group is still running"
    try:
        containers = read_containers(credentials, record.scaling_configuration_id)
        if next((c["Image"] for c in containers if c["Name"] == record.container), None) != record.image_after:
            return f"the configuration does not hold {record.image_after}"
        snapshot = recorded_snapshot(credentials, group, record)
        HealthGate(credentials, snapshot, record.image_after, health).check_updated(
            sweep(credentials, snapshot, record.image_after)
        )
    except (TargetError, VerificationFailed) as failed:
        return str(failed)
    return None


@flow(name="recover")
def recover(
    scaling_group: str, rollout: RolloutSpec = RolloutSpec(), credentials: AlibabaCloudCredentials | None = None
) -> ReleaseResult:
    """Finish what an earlier release of the group left unfinished (rolled back to the image it had before), under
    the group's lock.

    Args:
        scaling_group: scaling group id (asg-...) or name
        rollout: how OOS rolls the instances back, and the deadlines
        credentials: the Alibaba Cloud Credentials block; empty: from the environment
    """
    credentials = credentials_or_environment(credentials)
    group = find_group(credentials, scaling_group)
    try:
        with hold_group(group, "recover"):
            recovery = finish_unfinished(credentials, group, rollout, ReleaseRecord.load(group.scaling_group_id))
    except Superseded as superseded:  # a newer request for the group will recover it first
        return ReleaseResult(status="failed", message=str(superseded))
    if recovery is None:
        return ReleaseResult(
            status="unchanged", message=f"{group.scaling_group_name}: no unfinished release; nothing to recover"
        )
    return ReleaseResult(
        status="recovered" if recovery.complete else "failed",
        recovery=recovery,
        message=f"{group.scaling_group_name}: {recovery.found}; recovery: {recovery.done}",
    )

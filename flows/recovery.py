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
from tasks.models import Recovery, ReleaseResult, ScalingGroupRef
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
    if (
        record.state in AFTER_THE_ROLLOUT
        and _rollout_succeeded(credentials, record)
        and _finished(credentials, group, record)
    ):
        done = (
            f"the release had finished: the configuration and every InService instance run {record.image_after}, "
            "and the instances answer their health check"
        )
        # It may have died before resuming what the template suspended.
        resumed = resume_processes(
            credentials, group.model_copy(update={"suspended_processes": record.suspended_before})
        )
        if resumed:
            done += f"; resumed {', '.join(resumed)}"
        journal.note(
            state="released",
            step="recovered",
            message=f"recovery: {done}",
            released_from=None if record.trigger == "rollback" else record.image_before,
        )
        log.warning("recovery of %s: %s", group.scaling_group_name, done)
        return Recovery(found=found, done=done, complete=True, image=record.image_after)
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
    # Not complete: the record stays unfinished, and the next release or `recover` tries again.
    journal.note(state="rolled_back" if complete else "rolling-back", step="recovered", message=f"recovery: {done}")
    (log.warning if complete else log.error)("recovery of %s: %s", group.scaling_group_name, done)
    return Recovery(found=found, done=done, complete=complete, image=record.image_before if complete else None)


def _rollout_succeeded(credentials: AlibabaCloudCredentials, record: ReleaseRecord) -> bool:
    """Whether the release's OOS execution ended Success: a failed one can leave instances in Standby and the
    others on the image. No execution noted: it may have started unseen, so it did not."""
    if record.execution_id is None:
        return False
    ended = execution(credentials, record.execution_id)
    return ended is not None and ended.status == "Success"


def _finished(credentials: AlibabaCloudCredentials, group: ScalingGroupRef, record: ReleaseRecord) -> bool:
    """Whether a release that died in its rollout or after it (before its last note reached the server) had in fact
    finished: the configuration and every InService instance (Running) on its image, no rollout still running, and
    every instance answering the release's health check (its last batch was never checked)."""
    try:
        containers = read_containers(credentials, record.scaling_configuration_id)
        if next((c["Image"] for c in containers if c["Name"] == record.container), None) != record.image_after:
            return False
        if running_for_group(credentials, group.scaling_group_id):
            return False
        snapshot = recorded_snapshot(credentials, group, record)
        swept = sweep(credentials, snapshot, record.image_after)
        HealthGate(
            credentials,
            snapshot,
            record.image_after,
            record.health_path,
            record.health_port,
            record.health_timeout_seconds,
        ).check_updated(swept)
    except (TargetError, VerificationFailed) as not_finished:
        logger().warning("recovery of %s: the release had not finished: %s", group.scaling_group_name, not_finished)
        return False
    return True


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

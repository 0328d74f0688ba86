"""Recovery: finish what an earlier release of a group left unfinished, before anything else is done to the group.

A release that died (SIGKILL, a lost machine) or ran out of grace while rolling back leaves its record in an
unfinished state. Recovery reads it and rolls the release back exactly as the release itself would have: stop its
OOS executions, restore the configuration, remove the probe, put the instances back, resume what was suspended,
return Standby instances; then it checks every InService instance runs the image the group had before.
"""

from __future__ import annotations

from prefect import flow

from blocks.credentials import AlibabaCloudCredentials
from flows.group_lock import Superseded, hold_group
from flows.inputs import credentials_or_environment
from flows.parameters import RolloutSpec
from tasks.cloud_views import find_group
from tasks.logs import logger
from tasks.models import Recovery, ReleaseResult, ScalingGroupRef
from tasks.release_record import Journal, ReleaseRecord
from tasks.rollback import rollback_release
from tasks.scaling_config import recorded_snapshot
from tasks.verify import VerificationFailed, sweep


def describe_unfinished(record: ReleaseRecord) -> str:
    leftovers = [f"changed: {', '.join(record.changed)}" if record.changed else "nothing changed yet"]
    if record.execution_id:
        leftovers.append(f"OOS execution {record.execution_id}")
    if record.rollback_execution_id:
        leftovers.append(f"OOS rollback execution {record.rollback_execution_id}")
    if record.probe_activity_id:
        leftovers.append(f"probe scale-out {record.probe_activity_id}")
    return (
        f"the {record.trigger} release of {record.image_after} (run {record.flow_run_id}) stopped in {record.step} "
        f"({record.state}); " + "; ".join(leftovers)
    )


def finish_unfinished(
    credentials: AlibabaCloudCredentials, group: ScalingGroupRef, rollout: RolloutSpec
) -> Recovery | None:
    """Roll back the group's unfinished release, if its record says there is one; None when there is none."""
    record = ReleaseRecord.load(group.scaling_group_id)
    if record is None or not record.unfinished:
        return None
    found = describe_unfinished(record)
    log = logger()
    log.warning("recovery of %s: %s", group.scaling_group_name, found)
    journal = Journal(record)
    journal.saved = True  # the record exists: later notes must not stop the recovery
    snapshot = recorded_snapshot(credentials, group, record)
    rolled_back = rollback_release(
        credentials, snapshot, journal, rollout.batch_number, rollout.timeout_seconds, rollout.scale_out_timeout_seconds
    )
    done, complete = rolled_back.message, rolled_back.complete
    try:
        swept = sweep(credentials, snapshot, record.image_before)
        done += f"; all {len(swept)} InService instance(s) run {record.image_before}"
    except VerificationFailed as wrong:
        done, complete = f"{done}; {wrong}", False
    # Not complete: the record stays unfinished, and the next release or `recover` tries again.
    journal.note(state="rolled_back" if complete else "rolling-back", step="recovered", message=f"recovery: {done}")
    (log.warning if complete else log.error)("recovery of %s: %s", group.scaling_group_name, done)
    return Recovery(found=found, done=done, complete=complete, image=record.image_before if complete else None)


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
            recovery = finish_unfinished(credentials, group, rollout)
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

"""rollback: after a failure past the configuration write, put everything back as it was.

It works from the release record, so a rollback that died half way, or a release that died, is finished the same
way by recovery. Running OOS executions (the release's, an earlier rollback's) are stopped first; the
configuration is restored to its snapshot; the probe instance is removed; the template runs with
``invokeType=rollback`` to put the old image back on the instances the execution touched; scaling processes
suspended since the release began are resumed and instances left in Standby return to service; last, every
InService instance must run the snapshot's image again. Every step is attempted
even when an earlier one fails, and the result says which steps did not complete.
"""

from __future__ import annotations

from typing import Callable

from blocks.credentials import AlibabaCloudCredentials
from tasks.logs import logger
from tasks.models import ConfigSnapshot, RollbackResult
from tasks.oos_executions import follow, running_for_group, start_execution, stop
from tasks.probe import probe_activity, remove_probe
from tasks.processes import exit_standby, resume_processes
from tasks.release_record import Journal
from tasks.scaling_config import restore
from tasks.task_policy import stage_task
from tasks.verify import sweep


class _Steps:
    """What the rollback did and what it could not do, step by step."""

    def __init__(self) -> None:
        self.done: list[str] = []
        self.problems: list[str] = []

    def attempt(self, describe_failure: str, step: Callable[[], str | None]) -> None:
        try:
            outcome = step()
        except Exception as error:  # keep going: the other steps still help
            self.problems.append(f"{describe_failure}: {error}")
            logger().error("rollback: %s: %s", describe_failure, error)
            return
        if outcome:
            self.done.append(outcome)
            logger().warning("rollback: %s", outcome)


@stage_task("rollback")
def rollback_release(
    credentials: AlibabaCloudCredentials,
    snapshot: ConfigSnapshot,
    journal: Journal,
    batch_number: int,
    timeout: float = 1800,
    scale_out_timeout: float = 300,
) -> RollbackResult:
    """Undo what the release record says the release did (or may have done: a change is noted before it is made)."""
    journal.note(state="rolling-back", step="rollback")
    record = journal.record
    steps = _Steps()
    rollback = {"id": None, "status": None}
    resumed: list[str] = []

    # The release's own executions, and any still running on the group (a rollback execution started just before
    # a crash, before its id was noted).
    recorded = [e for e in (record.execution_id, record.rollback_execution_id) if e]
    still_running: list[str] = []
    steps.attempt(
        "could not list the OOS executions running on the group",
        lambda: still_running.extend(running_for_group(credentials, snapshot.group.scaling_group_id)),
    )
    for running in dict.fromkeys([*recorded, *still_running]):
        steps.attempt(
            f"could not stop OOS execution {running}",
            lambda running=running: f"OOS execution {running} ended {stop(credentials, running, timeout)}",
        )

    def restore_configuration() -> str:
        restore(credentials, snapshot)
        return f"configuration {snapshot.scaling_configuration_id} restored to {snapshot.image}"

    steps.attempt(f"could not restore configuration {snapshot.scaling_configuration_id}", restore_configuration)

    def remove_the_probe() -> str | None:
        activity_id = probe_activity(credentials, snapshot.group, journal)
        if activity_id is None:  # the release started no probe
            return None
        removed = remove_probe(credentials, snapshot.group, activity_id, scale_out_timeout, best_effort=False)
        return f"probe instance(s) removed: {', '.join(removed)}" if removed else None

    steps.attempt("could not remove the probe instance", remove_the_probe)

    # The release's rollout: as noted, or (stopped before its id was noted) the one found running on the group.
    rollout_id = record.execution_id or next(iter(still_running), None)

    def roll_back_instances() -> str:
        rollback["id"] = start_execution(
            credentials,
            snapshot,
            invoke_type="rollback",
            image=snapshot.image,
            batch_number=batch_number,
            batch_pause="Automatic",
            source_execution_id=rollout_id,
        )
        journal.note(rollback_execution_id=rollback["id"])
        rollback["status"] = follow(credentials, rollback["id"], batch_number=batch_number, timeout=timeout).status
        if rollback["status"] != "Success":
            raise RuntimeError(f"OOS rollback execution {rollback['id']} ended {rollback['status']}")
        return f"instances rolled back by OOS execution {rollback['id']}"

    same_image = snapshot.image == record.image_after
    if rollout_id and same_image:
        # Those instances now run what the configuration held before the release: nothing older to go back to.
        steps.done.append(f"instances OOS execution {rollout_id} updated stay on {snapshot.image}, as configured")
    elif rollout_id:
        steps.attempt("could not roll back the instances", roll_back_instances)

    def resume() -> str | None:
        resumed.extend(resume_processes(credentials, snapshot.group))
        return f"scaling processes resumed: {', '.join(resumed)}" if resumed else None

    steps.attempt("could not resume scaling processes", resume)

    def back_in_service() -> str | None:
        returned = exit_standby(credentials, snapshot.group, leave=record.standby_before)
        return f"returned from Standby: {', '.join(returned)}" if returned else None

    steps.attempt("could not return instances from Standby", back_in_service)

    def verified() -> str:
        swept = sweep(credentials, snapshot, snapshot.image)
        return f"all {len(swept)} InService instance(s) run {snapshot.image}"

    if not same_image:  # the group is judged back on its image, not taken at the rollback's word
        steps.attempt("the group is not back on its image", verified)
    message = "; ".join(steps.done) or "nothing was undone"
    if steps.problems:
        message += "; NOT DONE: " + "; ".join(steps.problems)
    return RollbackResult(
        complete=not steps.problems,
        execution_id=rollback["id"],
        execution_status=rollback["status"],
        processes_resumed=resumed,
        message=message,
    )

"""rollback: after a failure past the configuration write, put everything back as it was.

A running OOS execution is stopped first; the configuration is restored to its snapshot; the template
runs with ``invokeType=rollback`` to put the old image back on the instances the execution touched;
scaling processes are resumed and instances left in Standby return to service. Every step is attempted
even when an earlier one fails, and the result says which steps did not complete.
"""

from __future__ import annotations

from typing import Callable

from blocks.credentials import AlibabaCloudCredentials
from tasks.logs import logger
from tasks.models import ConfigSnapshot, RollbackResult
from tasks.oos_executions import follow, start_execution, stop
from tasks.processes import exit_standby, resume_processes
from tasks.scaling_config import restore
from tasks.task_policy import stage_task


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
    image: str,
    execution_id: str | None,
    touched_instances: list[str],
    batch_number: int,
    timeout: float = 1800,
) -> RollbackResult:
    steps = _Steps()
    rollback = {"id": None, "status": None}
    resumed: list[str] = []

    if execution_id:
        steps.attempt(
            f"could not stop OOS execution {execution_id}",
            lambda: f"OOS execution {execution_id} ended {stop(credentials, execution_id, timeout)}",
        )

    def restore_configuration() -> str:
        restore(credentials, snapshot)
        return f"configuration {snapshot.scaling_configuration_id} restored to {snapshot.image}"

    steps.attempt(f"could not restore configuration {snapshot.scaling_configuration_id}", restore_configuration)

    def roll_back_instances() -> str:
        rollback["id"] = start_execution(
            credentials,
            snapshot,
            invoke_type="rollback",
            image=snapshot.image,
            batch_number=batch_number,
            batch_pause="Automatic",
            source_execution_id=execution_id,
        )
        rollback["status"] = follow(credentials, rollback["id"], batch_number=batch_number, timeout=timeout).status
        if rollback["status"] != "Success":
            raise RuntimeError(f"OOS rollback execution {rollback['id']} ended {rollback['status']}")
        return f"instances rolled back by OOS execution {rollback['id']}"

    if execution_id and snapshot.image == image:
        steps.problems.append(
            f"the configuration held {image} before this release, so the instances OOS execution "
            f"{execution_id} updated cannot be put back on an older image"
        )
    elif execution_id:
        steps.attempt("could not roll back the instances", roll_back_instances)

    def resume() -> str | None:
        resumed.extend(resume_processes(credentials, snapshot.group))
        return f"scaling processes resumed: {', '.join(resumed)}" if resumed else None

    steps.attempt("could not resume scaling processes", resume)

    def back_in_service() -> str | None:
        returned = exit_standby(credentials, snapshot.group, touched_instances)
        return f"returned from Standby: {', '.join(returned)}" if returned else None

    steps.attempt("could not return instances from Standby", back_in_service)
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

"""A person's approval between OOS batches, given in the Prefect UI.

When the template pauses after a batch (``FirstBatchPause`` or ``EveryBatchPause``) and the run was started
from a deployment, the flow run pauses with an approve/reject form; the answer goes to OOS as
``NotifyExecution`` (Approve resumes the next batch, Reject ends the execution and the release rolls back).
A run started from a shell has no UI to answer in: it keeps waiting for a NotifyExecution sent by other means.
Either way the health gate (``tasks/rolling_update.py``) has checked the batch before a person is asked.
"""

from __future__ import annotations

from prefect import runtime
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from pydantic import Field

from blocks.credentials import AlibabaCloudCredentials
from tasks.logs import logger
from tasks.oos_executions import notify

APPROVAL_TIMEOUT_SECONDS = 24 * 3600


class BatchApproval(RunInput):
    approve: bool = Field(True, description="Approve: roll out the next batch. Reject: stop and roll back.")
    note: str = Field("", description="why (kept with the OOS execution)")


def answers_in_the_ui() -> bool:
    return runtime.flow_run.id is not None and runtime.deployment.id is not None


def approve_next_batch(
    credentials: AlibabaCloudCredentials, execution_id: str, updated: int, total: int, pause: int
) -> None:
    """Pause the flow run for a person's answer and pass it to OOS (a rejection ends the execution Cancelled,
    which the release then rolls back)."""
    log = logger()
    log.warning("rolling-update: %d of %d instances updated; waiting for approval in the Prefect UI", updated, total)
    answer = pause_flow_run(
        wait_for_input=BatchApproval.with_initial_data(
            description=f"OOS execution {execution_id}: {updated} of {total} instances updated. "
            "Roll out the next batch?"
        ),
        timeout=APPROVAL_TIMEOUT_SECONDS,
        key=f"{execution_id}-pause-{pause}",
    )
    notify_type = "Approve" if answer.approve else "Reject"
    notify(credentials, execution_id, notify_type, answer.note or f"{notify_type.lower()}d in the Prefect UI")
    log.warning(
        "rolling-update: batch %sd in the Prefect UI%s", notify_type.lower(), f": {answer.note}" if answer.note else ""
    )

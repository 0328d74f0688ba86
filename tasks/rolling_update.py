"""rolling-update: put the pinned image on the running instances with the OOS rolling-update template.

Skipped when the group has no InService instance or every instance already runs the image. When the
execution succeeds, scaling processes it left suspended are resumed; when it fails, times out or cannot be
followed, ``RolloutFailed`` carries the execution id so the rollback can stop it and undo it.
"""

from __future__ import annotations

from prefect.artifacts import create_progress_artifact, update_progress_artifact

from blocks.credentials import AlibabaCloudCredentials
from tasks.approvals import answers_in_the_ui, approve_next_batch
from tasks.cloud_views import group_instances
from tasks.logs import logger
from tasks.models import ConfigSnapshot, RolloutResult
from tasks.oos_executions import follow, start_execution
from tasks.processes import resume_processes
from tasks.task_policy import stage_task


class RolloutFailed(RuntimeError):
    def __init__(self, message: str, execution_id: str):
        super().__init__(message)
        self.execution_id = execution_id


@stage_task("rolling-update")
def rolling_update(
    credentials: AlibabaCloudCredentials,
    snapshot: ConfigSnapshot,
    image: str,
    batch_number: int,
    batch_pause: str,
    timeout: float = 1800,
) -> RolloutResult:
    log = logger()
    instances = group_instances(credentials, snapshot.group, snapshot.container_name)
    if not instances:
        return RolloutResult(status="Skipped", skipped_reason="the group has no InService instance")
    stale = [i.instance_id for i in instances if i.image != image]
    if not stale:
        return RolloutResult(status="Skipped", skipped_reason=f"all {len(instances)} instances already run {image}")
    execution_id = start_execution(
        credentials, snapshot, invoke_type="invoke", image=image, batch_number=batch_number, batch_pause=batch_pause
    )
    batches = min(batch_number, len(instances))
    log.info(
        "rolling-update: OOS execution %s updates %d instance(s) in %d batch(es)", execution_id, len(instances), batches
    )
    group_name, group_total = snapshot.group.scaling_group_name, len(instances)
    try:
        artifact_id = create_progress_artifact(
            progress=0.0,
            key=f"rollout-{snapshot.group.scaling_group_id}",
            description=f"OOS {execution_id}: 0 of {group_total} instances updated in {group_name}",
        )
        execution = follow(
            credentials,
            execution_id,
            batch_number=batch_number,
            timeout=timeout,
            on_progress=lambda done, total: update_progress_artifact(
                artifact_id,
                progress=100.0 * done / total if total else 0.0,
                description=f"OOS {execution_id}: {done} of {group_total} instances updated in {group_name}",
            ),
            on_pause=(
                # The template creates children batch by batch: the group's total is the one to show.
                (lambda done, _, pause: approve_next_batch(credentials, execution_id, done, group_total, pause))
                if answers_in_the_ui()
                else None
            ),
        )
    except Exception as error:
        raise RolloutFailed(f"following OOS execution {execution_id} failed: {error}", execution_id) from error
    if execution.status != "Success":
        raise RolloutFailed(
            f"OOS execution {execution_id} ended {execution.status}: {execution.status_message or 'no message'}",
            execution_id,
        )
    resumed = resume_processes(credentials, snapshot.group)
    if resumed:
        log.info("rolling-update: resumed scaling processes %s", resumed)
    return RolloutResult(
        execution_id=execution_id,
        status="Success",
        batches=batches,
        updated_instances=stale,
        message=f"{len(stale)} instance(s) updated by OOS execution {execution_id}",
    )

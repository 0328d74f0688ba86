"""rolling-update: put the pinned image on the running instances with the OOS rolling-update template.

Skipped when the group has no InService instance or every instance already runs the image. The execution id goes
into the release record as soon as OOS returns it. Between batches the health gate checks the instances just
updated: healthy, the next batch runs (or a person is asked, when ``batch_pause`` says so); not healthy, the
execution is rejected and the release rolls back, so a bad release stops after its first batch. When the
execution succeeds, scaling processes it left suspended are resumed.
"""

from __future__ import annotations

from prefect.artifacts import create_progress_artifact, update_progress_artifact

from blocks.credentials import AlibabaCloudCredentials
from tasks.approvals import answers_in_the_ui, approve_next_batch
from tasks.cloud_views import group_instances
from tasks.logs import logger
from tasks.models import ConfigSnapshot, RolloutResult
from tasks.oos_executions import follow, notify, start_execution
from tasks.processes import resume_processes
from tasks.release_record import Journal
from tasks.task_policy import stage_task
from tasks.verify import HealthGate, VerificationFailed


class RolloutFailed(RuntimeError):
    """The rollout did not succeed; the release record holds the execution the rollback stops and undoes."""


@stage_task("rolling-update")
def rolling_update(
    credentials: AlibabaCloudCredentials,
    snapshot: ConfigSnapshot,
    image: str,
    journal: Journal,
    gate: HealthGate,
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
    batches = min(batch_number, len(instances))
    journal.changing("OOS rolling update started", state="rolling-out", step="rolling-update")
    execution_id = start_execution(
        credentials,
        snapshot,
        invoke_type="invoke",
        image=image,
        batch_number=batch_number,
        # The template pauses after every batch so that the health gate sees each one; a person is asked only at
        # the pauses ``batch_pause`` names.
        batch_pause="EveryBatchPause" if batches > 1 else "Automatic",
    )
    journal.note(execution_id=execution_id)
    log.info(
        "rolling-update: OOS execution %s updates %d instance(s) in %d batch(es)", execution_id, len(instances), batches
    )
    group_name, group_total = snapshot.group.scaling_group_name, len(instances)

    def between_batches(done: int, total: int, pause: int) -> None:
        try:
            healthy = gate.check_updated()
            if not healthy:  # OOS says a batch finished, yet no instance newly runs the image
                raise VerificationFailed(f"no InService instance runs {image} after batch {pause}")
        except VerificationFailed as unhealthy:
            notify(credentials, execution_id, "Reject", f"health gate: {unhealthy}"[:200])
            raise RolloutFailed(f"the health gate stopped the rollout after batch {pause}: {unhealthy}") from None
        if not asks_a_person(batch_pause, pause):
            notify(credentials, execution_id, "Approve", f"health gate: {len(healthy)} updated instance(s) healthy")
        elif answers_in_the_ui():
            show_progress(done, total)  # what the person is asked about
            approve_next_batch(credentials, execution_id, done, group_total, pause)
        else:
            log.warning(
                "rolling-update: %s passed the health gate and waits for approval: send OOS NotifyExecution",
                execution_id,
            )

    def show_progress(done: int, _children_so_far: int) -> None:
        # Of the group's total: the template creates its children batch by batch.
        update_progress_artifact(
            artifact_id,
            progress=100.0 * done / group_total,
            description=f"OOS {execution_id}: {done} of {group_total} instances updated in {group_name}",
        )

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
            on_progress=show_progress,
            on_pause=between_batches,
            durations=journal.durations,
        )
    except RolloutFailed:
        raise
    except Exception as error:
        raise RolloutFailed(f"following OOS execution {execution_id} failed: {error}") from error
    if execution.status != "Success":
        raise RolloutFailed(
            f"OOS execution {execution_id} ended {execution.status}: {execution.status_message or 'no message'}"
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


def asks_a_person(batch_pause: str, pause: int) -> bool:
    """Whether the person's choice of pauses asks for approval at pause number ``pause`` (1 after the first batch)."""
    return batch_pause == "EveryBatchPause" or (batch_pause == "FirstBatchPause" and pause == 1)

"""rollback: after a failure past the configuration write, put everything back as it was.

The configuration is restored to its snapshot exactly; when an OOS execution had started, the template
runs again with ``invokeType=rollback`` to put the old image back on the instances it touched; scaling
processes are resumed and instances the template left in Standby return to service.
"""

from __future__ import annotations

from prefect import task

from blocks.credentials import AlibabaCloudCredentials
from tasks.logs import logger
from tasks.models import ConfigSnapshot, RollbackResult
from tasks.oos_executions import follow, start_execution
from tasks.processes import exit_standby, resume_processes
from tasks.scaling_config import restore


@task(name="rollback")
def rollback_release(
    credentials: AlibabaCloudCredentials,
    snapshot: ConfigSnapshot,
    execution_id: str | None,
    touched_instances: list[str],
    batch_number: int,
    timeout: float = 1800,
) -> RollbackResult:
    log = logger()
    restore(credentials, snapshot)
    log.warning("rollback: scaling configuration %s restored to %s", snapshot.scaling_configuration_id, snapshot.image)
    rollback_execution = status = None
    if execution_id:
        rollback_execution = start_execution(
            credentials,
            snapshot,
            invoke_type="rollback",
            image=snapshot.image,
            batch_number=batch_number,
            batch_pause="Automatic",
            source_execution_id=execution_id,
        )
        status = follow(credentials, rollback_execution, batch_number=batch_number, timeout=timeout).status
        log.warning("rollback: OOS rollback execution %s ended %s", rollback_execution, status)
    resumed = resume_processes(credentials, snapshot.group)
    returned = exit_standby(credentials, snapshot.group, touched_instances)
    parts = [f"configuration {snapshot.scaling_configuration_id} restored to {snapshot.image}"]
    if rollback_execution:
        parts.append(f"instances rolled back by OOS execution {rollback_execution} ({status})")
    if resumed:
        parts.append(f"scaling processes resumed: {', '.join(resumed)}")
    if returned:
        parts.append(f"returned from Standby: {', '.join(returned)}")
    return RollbackResult(
        configuration_restored=True,
        execution_id=rollback_execution,
        execution_status=status,
        processes_resumed=resumed,
        message="; ".join(parts),
    )

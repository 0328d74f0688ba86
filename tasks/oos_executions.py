"""Running the OOS template ``ACS-ESS-RollingUpdateByUpdateContainerGroup`` and following it to the end."""

from __future__ import annotations

import json
import math
import time
import uuid
from functools import partial
from typing import Callable

from alibabacloud_oos20190601 import models as oos

from blocks.credentials import AlibabaCloudCredentials
from tasks.cloud_calls import call
from tasks.logs import logger
from tasks.models import ConfigSnapshot
from tasks.processes import TEMPLATE_PROCESSES
from tasks.waiting import Durations, Pace, poll

TEMPLATE = "ACS-ESS-RollingUpdateByUpdateContainerGroup"
TERMINAL = ("Success", "Failed", "Cancelled")
CHILDREN_EVERY = 5.0  # seconds between reads of the per-instance children while a batch runs, for its progress


def start_execution(
    credentials: AlibabaCloudCredentials,
    snapshot: ConfigSnapshot,
    *,
    invoke_type: str,
    image: str,
    batch_number: int,
    batch_pause: str,
    source_execution_id: str = "",
) -> str:
    # Processes the user had suspended before the release stay as they were: the template suspends and
    # resumes only the others.
    processes = [p for p in TEMPLATE_PROCESSES if p not in snapshot.group.suspended_processes]
    parameters = {
        "invokeType": invoke_type,
        "scalingGroupId": snapshot.group.scaling_group_id,
        "scalingConfigurationId": snapshot.scaling_configuration_id,
        "containerConfigure": [{"Name": snapshot.container_name, "Image": image}],
        "sourceContainerConfigure": [{"Name": snapshot.container_name, "Image": snapshot.image}],
        "updateType": "IncrementalUpdate",
        "batchNumber": batch_number,
        "batchPauseOption": batch_pause,
        "enterProcess": processes,
        "exitProcess": processes,
        "sourceExecutionId": source_execution_id,
    }
    client = credentials.get_oos_client()
    request = oos.StartExecutionRequest(
        region_id=credentials.region_id,
        template_name=TEMPLATE,
        parameters=json.dumps(parameters),
        mode="Automatic",
        client_token=uuid.uuid4().hex,
        description=f"eci-release {invoke_type} {snapshot.group.scaling_group_name}",
    )
    return call(lambda: client.start_execution(request), what="oos StartExecution").body.execution.execution_id


def execution(credentials: AlibabaCloudCredentials, execution_id: str):
    """The ListExecutions entry of the execution, or None while it is not listed yet."""
    client = credentials.get_oos_client()
    listed = call(
        lambda: client.list_executions(
            oos.ListExecutionsRequest(region_id=credentials.region_id, execution_id=execution_id)
        ),
        what="oos ListExecutions",
    ).body.executions
    return listed[0] if listed else None


def _listed(credentials: AlibabaCloudCredentials, **filters) -> list:
    """Every ListExecutions entry matching ``filters``, page after page."""
    client = credentials.get_oos_client()
    found, token = [], None
    while True:
        request = oos.ListExecutionsRequest(
            region_id=credentials.region_id, max_results=100, next_token=token, **filters
        )
        body = call(partial(client.list_executions, request), what="oos ListExecutions").body
        found += body.executions
        token = body.next_token
        if not token:
            return found


def running_for_group(credentials: AlibabaCloudCredentials, group_id: str) -> list[str]:
    """Rolling updates of the template still running (or paused) on the group, whoever started them."""
    return [
        e.execution_id
        for e in _listed(credentials, template_name=TEMPLATE)
        if e.status in ("Running", "Waiting", "Queued") and (e.parameters or {}).get("scalingGroupId") == group_id
    ]


def children(credentials: AlibabaCloudCredentials, execution_id: str) -> list:
    """The ListExecutions entries of the per-instance child executions, in the order they started (StartDate has
    whole seconds: the cloud's own order tells apart two that started in one)."""
    return _listed(credentials, parent_execution_id=execution_id, sort_field="StartDate", sort_order="Ascending")


def child_statuses(credentials: AlibabaCloudCredentials, execution_id: str) -> list[str]:
    return [e.status for e in children(credentials, execution_id)]


def follow(
    credentials: AlibabaCloudCredentials,
    execution_id: str,
    *,
    batch_number: int,
    timeout: float,
    on_progress: Callable[[int, int], None] | None = None,
    on_pause: Callable[[int, int, int], None] | None = None,
    durations: Durations | None = None,
):
    """Poll the execution until it ends, one call a poll; its per-instance children are read when it pauses or
    ends, and every ``CHILDREN_EVERY`` seconds between, to report (finished children, all children) as they change
    and log each batch as it completes. A batch's polls close in on how long the one before took (``durations``:
    ``first batch`` from the start, ``batch`` after each pause). When the template pauses between batches,
    ``on_pause(done, total, pause_number)`` is asked (the health gate, then perhaps a person; the time it takes does
    not count against the timeout), and the progress is reported once it answered (an ``on_pause`` that waits for a
    person reports it first); without it the pause is logged and the wait goes on. Returns the final ListExecutions
    entry."""
    log = logger()
    durations = durations or Durations()
    pace = Pace(cap=2.0, expected=durations.expected("first batch"))  # a pause is answered within 2 s at most
    seen = {"done": -1, "waiting": False, "pauses": 0, "paused_seconds": 0.0, "children_read": -CHILDREN_EVERY}

    def progress(report: bool) -> tuple[int, int]:
        statuses = child_statuses(credentials, execution_id)
        seen["children_read"] = time.monotonic()
        done = sum(1 for s in statuses if s in TERMINAL)
        if done != seen["done"]:
            seen["done"] = done
            if statuses:
                per_batch = max(1, math.ceil(len(statuses) / batch_number))
                batch = math.ceil(done / per_batch) if done else 0
                log.info("rolling-update: %d/%d instances updated (batch %d)", done, len(statuses), batch)
            if on_progress and report:
                on_progress(done, len(statuses))
        return done, len(statuses)

    def finished():
        current = execution(credentials, execution_id)
        if current is None:
            return None
        paused = current.status == "Waiting" and not seen["waiting"]
        batch_ended = paused or current.status in TERMINAL
        if batch_ended or time.monotonic() - seen["children_read"] >= CHILDREN_EVERY:
            # At a pause the gate answers first, and the progress is reported after: the template waits on the answer.
            done, total = progress(report=not (paused and on_pause))
        if batch_ended:
            durations.took("batch" if seen["pauses"] else "first batch", pace.waited)
        if paused:
            if on_pause is None:
                log.warning(
                    "rolling-update: %s is paused between batches; approve it with OOS NotifyExecution", execution_id
                )
            else:
                asked = time.monotonic()
                try:
                    # The same pause again if this one failed on a hiccup (the next poll asks again).
                    on_pause(done, total, seen["pauses"] + 1)
                finally:
                    seen["paused_seconds"] += time.monotonic() - asked
                if on_progress:
                    on_progress(done, total)
                current = execution(credentials, execution_id) or current
            seen["pauses"] += 1
        if current.status != "Waiting" and (paused or seen["waiting"]):  # the next batch runs from now
            pace.restart(durations.expected("batch"))
        seen["waiting"] = current.status == "Waiting"
        return current if current.status in TERMINAL else None

    return poll(
        finished,
        what=f"OOS execution {execution_id}",
        timeout=timeout,
        pace=pace,
        excluded=lambda: seen["paused_seconds"],
    )


def notify(credentials: AlibabaCloudCredentials, execution_id: str, notify_type: str, note: str) -> None:
    """Answer an execution paused between batches: ``Approve`` runs the next batch, ``Reject`` cancels it."""
    client = credentials.get_oos_client()
    call(
        lambda: client.notify_execution(
            oos.NotifyExecutionRequest(
                region_id=credentials.region_id, execution_id=execution_id, notify_type=notify_type, notify_note=note
            )
        ),
        what="oos NotifyExecution",
    )


def stop(credentials: AlibabaCloudCredentials, execution_id: str, timeout: float) -> str:
    """Cancel the execution unless it has ended, and wait until it has; returns its final status."""
    current = execution(credentials, execution_id)
    if current is not None and current.status in TERMINAL:
        return current.status
    client = credentials.get_oos_client()
    call(
        lambda: client.cancel_execution(
            oos.CancelExecutionRequest(region_id=credentials.region_id, execution_id=execution_id)
        ),
        what="oos CancelExecution",
    )
    return follow(credentials, execution_id, batch_number=1, timeout=timeout).status

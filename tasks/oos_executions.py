"""Running the OOS template ``ACS-ESS-RollingUpdateByUpdateContainerGroup`` and following it to the end."""

from __future__ import annotations

import json
import math
from typing import Callable

from alibabacloud_oos20190601 import models as oos

from blocks.credentials import AlibabaCloudCredentials
from tasks.cloud_calls import call
from tasks.logs import logger
from tasks.models import ConfigSnapshot
from tasks.processes import TEMPLATE_PROCESSES
from tasks.waiting import poll

TEMPLATE = "ACS-ESS-RollingUpdateByUpdateContainerGroup"
TERMINAL = ("Success", "Failed", "Cancelled")


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
    parameters = {
        "invokeType": invoke_type,
        "scalingGroupId": snapshot.group.scaling_group_id,
        "scalingConfigurationId": snapshot.scaling_configuration_id,
        "containerConfigure": [{"Name": snapshot.container_name, "Image": image}],
        "sourceContainerConfigure": [{"Name": snapshot.container_name, "Image": snapshot.image}],
        "updateType": "IncrementalUpdate",
        "batchNumber": batch_number,
        "batchPauseOption": batch_pause,
        "enterProcess": TEMPLATE_PROCESSES,
        "exitProcess": TEMPLATE_PROCESSES,
        "sourceExecutionId": source_execution_id,
    }
    client = credentials.get_oos_client()
    body = call(
        lambda: client.start_execution(
            oos.StartExecutionRequest(
                region_id=credentials.region_id,
                template_name=TEMPLATE,
                parameters=json.dumps(parameters),
                mode="Automatic",
                description=f"eci-release {invoke_type} {snapshot.group.scaling_group_name}",
            )
        ),
        what="oos StartExecution",
    ).body
    return body.execution.execution_id


def child_statuses(credentials: AlibabaCloudCredentials, execution_id: str) -> list[str]:
    """The status of each per-instance child execution."""
    client = credentials.get_oos_client()
    statuses, token = [], None
    while True:
        body = call(
            lambda: client.list_executions(
                oos.ListExecutionsRequest(
                    region_id=credentials.region_id, parent_execution_id=execution_id, max_results=100, next_token=token
                )
            ),
            what="oos ListExecutions",
        ).body
        statuses += [e.status for e in body.executions]
        token = body.next_token
        if not token:
            return statuses


def follow(
    credentials: AlibabaCloudCredentials,
    execution_id: str,
    *,
    batch_number: int,
    timeout: float,
    on_progress: Callable[[int, int], None] | None = None,
):
    """Poll the execution until it ends; report (finished children, all children) as they change and log each
    batch as it completes. Returns the final ListExecutions entry."""
    log = logger()
    client = credentials.get_oos_client()
    seen = {"done": -1, "waiting": False}

    def finished():
        execution = call(
            lambda: client.list_executions(
                oos.ListExecutionsRequest(region_id=credentials.region_id, execution_id=execution_id)
            ),
            what="oos ListExecutions",
        ).body.executions[0]
        statuses = child_statuses(credentials, execution_id)
        done = sum(1 for s in statuses if s in TERMINAL)
        if done != seen["done"]:
            seen["done"] = done
            if statuses:
                per_batch = max(1, math.ceil(len(statuses) / batch_number))
                log.info(
                    "rolling-update: %d/%d instances updated (batch %d)",
                    done,
                    len(statuses),
                    math.ceil(done / per_batch) if done else 0,
                )
            if on_progress:
                on_progress(done, len(statuses))
        if execution.status == "Waiting" and not seen["waiting"]:
            log.warning(
                "rolling-update: %s is paused between batches; approve it with OOS NotifyExecution", execution_id
            )
        seen["waiting"] = execution.status == "Waiting"
        return execution if execution.status in TERMINAL else None

    return poll(finished, what=f"OOS execution {execution_id}", timeout=timeout, first=0.5, cap=5.0)

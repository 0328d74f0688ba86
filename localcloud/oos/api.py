"""OOS 2019-06-01 on the wire: request parsing and response shapes exactly as ``alibabacloud_oos20190601``
parses them (StartExecution's ``Execution.Parameters`` is a JSON string, ListExecutions' an object)."""

from __future__ import annotations

import json
from typing import Any, Callable, TypeVar

from localcloud.errors import invalid_parameter
from localcloud.gateway.products import OOS
from localcloud.gateway.request import ApiRequest
from localcloud.ids import iso_utc
from localcloud.oos.model import OosModel
from localcloud.oos.records import Execution, TaskExecution
from localcloud.pagination import page_by_token

Record = TypeVar("Record", Execution, TaskExecution)

LOOP_MODES = ("Automatic", "FirstBatchPause", "EveryBatchPause")
SAFETY_CHECKS = ("Skip", "ConfirmEveryHighRiskAction")
SORT_FIELDS: dict[str, Callable[[Any], Any]] = {
    "StartDate": lambda r: (r.created, r.seq),
    "EndDate": lambda r: (r.ended or float("inf"), r.seq),
    "Status": lambda r: (r.status, r.seq),
}


@OOS.action("StartExecution", mutating=True)
def start_execution(oos: OosModel, request: ApiRequest) -> dict[str, Any]:
    for inline_template in ("TemplateContent", "TemplateURL"):
        if request.get(inline_template) is not None:
            raise invalid_parameter(
                inline_template,
                "localcloud runs only the public template ACS-ESS-RollingUpdateByUpdateContainerGroup, "
                "by TemplateName.",
            )
    mode = request.str("Mode", default="Automatic")
    if mode != "Automatic":
        raise invalid_parameter("Mode", f"localcloud runs executions in Mode Automatic only, not {mode!r}.")
    execution = oos.start_execution(
        request.str("TemplateName", required=True),
        _json_object(request, "Parameters"),
        region_id=request.region_id,
        template_version=request.str("TemplateVersion"),
        description=request.str("Description", default=""),
        tags=_json_object(request, "Tags"),
        loop_mode=_one_of(request, "LoopMode", LOOP_MODES, default="Automatic"),
        safety_check=_one_of(request, "SafetyCheck", SAFETY_CHECKS, default="ConfirmEveryHighRiskAction"),
        resource_group_id=request.str("ResourceGroupId", default=""),
    )
    return {"Execution": _execution_shape(oos, execution, parameters=json.dumps(execution.parameters))}


@OOS.action("ListExecutions")
def list_executions(oos: OosModel, request: ApiRequest) -> dict[str, Any]:
    executions = _sorted(
        request,
        oos.list_executions(
            region_id=oos.region_of(request.region_id),
            execution_id=request.str("ExecutionId"),
            parent_execution_id=request.str("ParentExecutionId"),
            template_name=request.str("TemplateName"),
            status=request.str("Status"),
            mode=request.str("Mode"),
            tags=_json_object(request, "Tags"),
            include_children=request.bool("IncludeChildExecution"),
            depth=_one_of(request, "Depth", ("RootDepth", "FirstChildDepth"), default=None),
        ),
    )
    page, next_token = page_by_token(executions, request)
    return {
        "Executions": [{**_execution_shape(oos, e, parameters=e.parameters), "Category": "Other"} for e in page],
        "TotalCount": len(executions),
        "MaxResults": request.int("MaxResults", default=50),
        "NextToken": next_token,
    }


@OOS.action("ListTaskExecutions")
def list_task_executions(oos: OosModel, request: ApiRequest) -> dict[str, Any]:
    tasks = _sorted(
        request,
        oos.list_task_executions(
            region_id=oos.region_of(request.region_id),
            execution_id=request.str("ExecutionId"),
            task_execution_id=request.str("TaskExecutionId"),
            parent_task_execution_id=request.str("ParentTaskExecutionId"),
            task_name=request.str("TaskName"),
            task_action=request.str("TaskAction"),
            status=request.str("Status"),
            include_children=request.bool("IncludeChildTaskExecution"),
        ),
    )
    page, next_token = page_by_token(tasks, request)
    return {
        "TaskExecutions": [_task_shape(oos, t) for t in page],
        "MaxResults": request.int("MaxResults", default=50),
        "NextToken": next_token,
    }


@OOS.action("CancelExecution", mutating=True)
def cancel_execution(oos: OosModel, request: ApiRequest) -> dict[str, Any]:
    oos.cancel_execution(request.str("ExecutionId", required=True), region_id=oos.region_of(request.region_id))
    return {}


@OOS.action("NotifyExecution", mutating=True)
def notify_execution(oos: OosModel, request: ApiRequest) -> dict[str, Any]:
    oos.notify_execution(
        request.str("ExecutionId", required=True),
        request.str("NotifyType", required=True),
        request.str("NotifyNote", default=""),
        region_id=oos.region_of(request.region_id),
    )
    return {}


# -- shapes ------------------------------------------------------------------------------------------------------


def _execution_shape(oos: OosModel, execution: Execution, *, parameters: str | dict[str, Any]) -> dict[str, Any]:
    return _without_none(
        {
            "ExecutionId": execution.execution_id,
            "TemplateName": execution.template_name,
            "TemplateId": execution.template_id,
            "TemplateVersion": execution.template_version,
            "Mode": execution.mode,
            "LoopMode": execution.loop_mode,
            "SafetyCheck": execution.safety_check,
            "Status": execution.status,
            "StatusMessage": execution.status_message,
            "Parameters": parameters,
            "Outputs": "{}",
            "Counters": oos.counters(execution.execution_id),
            "CurrentTasks": [
                {"TaskName": t.task_name, "TaskAction": t.task_action, "TaskExecutionId": t.task_execution_id}
                for t in oos.current_tasks(execution.execution_id)
            ],
            "CreateDate": iso_utc(execution.created),
            "StartDate": iso_utc(execution.created),
            "UpdateDate": iso_utc(execution.updated),
            "EndDate": iso_utc(execution.ended) if execution.ended is not None else None,
            "IsParent": oos.has_children(execution.execution_id),
            "ParentExecutionId": execution.parent_execution_id or None,
            "RamRole": execution.ram_role,
            "ResourceGroupId": execution.resource_group_id,
            "Tags": execution.tags,
            "Description": execution.description,
        }
    )


def _task_shape(oos: OosModel, task: TaskExecution) -> dict[str, Any]:
    return _without_none(
        {
            "TaskExecutionId": task.task_execution_id,
            "ExecutionId": task.execution_id,
            "TaskName": task.task_name,
            "TaskAction": task.task_action,
            "TemplateId": task.template_id,
            "Status": task.status,
            "StatusMessage": task.status_message,
            "Properties": json.dumps(task.properties),
            "Outputs": json.dumps(task.outputs),
            "ExtraData": {},
            "CreateDate": iso_utc(task.created),
            "StartDate": iso_utc(task.created),
            "UpdateDate": iso_utc(task.updated),
            "EndDate": iso_utc(task.ended) if task.ended is not None else None,
            "Loop": oos.loop_statistics(task) if task.loop is not None else None,
            "ParentTaskExecutionId": task.parent_task_execution_id or None,
            "ChildExecutionId": task.child_execution_id or None,
            "LoopItem": task.loop_item or None,
            "LoopBatchNumber": task.loop_batch_number,
        }
    )


def _without_none(shape: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in shape.items() if v is not None}


# -- request parsing ---------------------------------------------------------------------------------------------


def _json_object(request: ApiRequest, name: str) -> dict[str, Any]:
    """A parameter the SDK sends as one JSON-encoded object (``Parameters``, ``Tags``); absent -> ``{}``."""
    value = request.json(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid_parameter(name, "It must be a JSON object.")
    return value


def _one_of(request: ApiRequest, name: str, allowed: tuple[str, ...], *, default: str | None) -> Any:
    value = request.str(name, default=default)
    if value is not None and value not in allowed:
        raise invalid_parameter(name, f"Valid values: {', '.join(allowed)}.")
    return value


def _sorted(request: ApiRequest, records: list[Record]) -> list[Record]:
    field = _one_of(request, "SortField", tuple(SORT_FIELDS), default="StartDate")
    order = _one_of(request, "SortOrder", ("Ascending", "Descending"), default="Descending")
    return sorted(records, key=SORT_FIELDS[field], reverse=order == "Descending")

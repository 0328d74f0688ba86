"""The template ACS-ESS-RollingUpdateByUpdateContainerGroup (``reference/oos/``) task by task.

invoke: list the InService instances, suspend scaling processes, update the instances batch by batch (loop of
ACS::ESS::UpdateContainerGroup), then write the image into the scaling configuration and resume the processes.
rollback: find the instances a source execution touched and its processes, then the same with
sourceContainerConfigure. As in the cloud, a failure leaves the processes suspended and, on the invoke path,
the configuration unchanged (it is written only after every batch succeeded)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from localcloud.gateway.products import ESS, OOS
from localcloud.oos.runner import END, LOOP_ITEM, TaskFailed
from localcloud.oos.templates import UPDATE_CONTAINER_GROUP
from localcloud.oos.update_container_group import run_update_container_group

if TYPE_CHECKING:
    from localcloud.oos.runner import ExecutionRun

PAGE_SIZE = 100


def run_rolling_update(run: "ExecutionRun") -> None:
    is_rollback = run.params["invokeType"] == "rollback"
    if run.choose("choiceNextTask", is_rollback, then="getExecutionInstanceIds", otherwise="getInstance"):
        _roll_back(run)
    else:
        _invoke(run)


def _invoke(run: "ExecutionRun") -> None:
    params = run.params
    instance_ids = _in_service_instances(run)
    if not run.choose(
        "whetherTheScalingGroupInstanceIsEmpty",
        not instance_ids,
        then="modifyScalingConfigurationForInvoke",
        otherwise="whetherToSuspendProcess",
    ):
        if not run.choose(
            "whetherToSuspendProcess",
            not params["enterProcess"],
            then="invokeByUpdateContainerGroup",
            otherwise="suspendProcess",
        ):
            _change_processes(run, "suspendProcess", "SuspendProcesses", params["enterProcess"])
        _update_instances(run, "invokeByUpdateContainerGroup", instance_ids, params["containerConfigure"])
    _modify_configuration(run, "modifyScalingConfigurationForInvoke", params["containerConfigure"])
    if run.choose(
        "whetherToResumeProcessesByGroupInstances", not instance_ids, then=END, otherwise="whetherToResumeProcesses"
    ):
        return
    if run.choose("whetherToResumeProcesses", not params["exitProcess"], then=END, otherwise="resumeProcesses"):
        return
    _change_processes(run, "resumeProcesses", "ResumeProcesses", params["exitProcess"])


def _roll_back(run: "ExecutionRun") -> None:
    params = run.params
    source_execution_id = params["sourceExecutionId"]
    instance_ids = _instances_updated_by(run, source_execution_id)
    enter_process, exit_process = _processes_of(run, source_execution_id)
    _change_processes(run, "suspendProcessWithRollBack", "SuspendProcesses", enter_process)
    _update_instances(run, "rollbackByUpdateContainerGroup", instance_ids, params["sourceContainerConfigure"])
    _modify_configuration(run, "modifyScalingConfigurationForRollback", params["sourceContainerConfigure"])
    if run.choose(
        "whetherToResumeProcessesWithRollback", not exit_process, then=END, otherwise="resumeProcessesWithRollback"
    ):
        return
    _change_processes(run, "resumeProcessesWithRollback", "ResumeProcesses", exit_process)


def _in_service_instances(run: "ExecutionRun") -> list[str]:
    params = {
        "RegionId": run.region_id,
        "ScalingGroupId": run.params["scalingGroupId"],
        "LifecycleState": "InService",
        "PageSize": PAGE_SIZE,
    }
    with run.executing_api("getInstance", ESS, "DescribeScalingInstances", params) as outputs:
        instance_ids: list[str] = []
        page_number = 1
        while True:
            response = run.call(ESS, "DescribeScalingInstances", {**params, "PageNumber": page_number})
            page = response.get("ScalingInstances", [])
            instance_ids += [instance["InstanceId"] for instance in page]
            if not page or len(instance_ids) >= response.get("TotalCount", 0):
                break
            page_number += 1
        outputs["instanceIds"] = instance_ids
    return instance_ids


def _instances_updated_by(run: "ExecutionRun", source_execution_id: str) -> list[str]:
    """The instanceId parameter of each child execution of the source (``.Executions[].Parameters.instanceId``)."""
    params = {"RegionId": run.region_id, "ParentExecutionId": source_execution_id, "MaxResults": PAGE_SIZE}
    with run.executing_api("getExecutionInstanceIds", OOS, "ListExecutions", params) as outputs:
        if not source_execution_id:
            # In the cloud an empty filter lists every execution; refuse instead of rolling back unrelated ones.
            raise TaskFailed(
                "getExecutionInstanceIds",
                "sourceExecutionId is empty: a rollback needs the id of the execution to roll back.",
            )
        children = _all_executions(run, params)
        outputs["instanceIds"] = [c["Parameters"]["instanceId"] for c in children if "instanceId" in c["Parameters"]]
    return outputs["instanceIds"]


def _processes_of(run: "ExecutionRun", source_execution_id: str) -> tuple[list[str], list[str]]:
    """The source's enterProcess and exitProcess (``Executions[].Parameters.enterProcess[]``)."""
    params = {"RegionId": run.region_id, "ExecutionId": source_execution_id}
    with run.executing_api("getRollbackProcess", OOS, "ListExecutions", params) as outputs:
        sources = run.call(OOS, "ListExecutions", params).get("Executions", [])
        if not sources:
            raise TaskFailed("getRollbackProcess", f"There is no execution {source_execution_id} to roll back.")
        for name in ("enterProcess", "exitProcess"):
            outputs[name] = [process for source in sources for process in source["Parameters"].get(name, [])]
    return outputs["enterProcess"], outputs["exitProcess"]


def _all_executions(run: "ExecutionRun", params: dict[str, Any]) -> list[dict[str, Any]]:
    executions: list[dict[str, Any]] = []
    next_token = None
    while True:
        response = run.call(OOS, "ListExecutions", {**params, **({"NextToken": next_token} if next_token else {})})
        executions += response.get("Executions", [])
        next_token = response.get("NextToken")
        if not next_token:
            return executions


def _change_processes(run: "ExecutionRun", task_name: str, action: str, processes: list[str]) -> None:
    params = {"RegionId": run.region_id, "ScalingGroupId": run.params["scalingGroupId"], "Processes": processes}
    run.api_task(task_name, ESS, action, params)


def _modify_configuration(run: "ExecutionRun", task_name: str, containers: Any) -> None:
    params = {
        "RegionId": run.region_id,
        "ScalingConfigurationId": run.params["scalingConfigurationId"],
        "Containers": containers,
        "ContainersUpdateType": run.params["updateType"],
    }
    run.api_task(task_name, ESS, "ModifyEciScalingConfiguration", params)


def _update_instances(run: "ExecutionRun", task_name: str, instance_ids: list[str], containers: Any) -> None:
    run.loop(
        task_name,
        UPDATE_CONTAINER_GROUP,
        instance_ids,
        properties={
            "instanceId": LOOP_ITEM,
            "scalingGroupId": run.params["scalingGroupId"],
            "containerConfigure": containers,
            "updateType": run.params["updateType"],
        },
        body=run_update_container_group,
        batch_number=run.params["batchNumber"],
        batch_pause_option=run.params["batchPauseOption"],
    )

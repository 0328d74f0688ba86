"""OOS state across a localcloud restart: finished executions come back as they were; executions that were
running come back Failed, saying why, since nothing runs across a restart."""

import json
from dataclasses import asdict

import pytest

from localcloud.kernel import Kernel
from localcloud.oos.model import OosModel
from localcloud.oos.records import FAILED, RUNNING, SUCCESS, WAITING, Execution, TaskExecution


def no_calls(*call: object) -> dict:
    pytest.fail(f"nothing runs across a restart, yet OOS made the call {call}")


def model() -> OosModel:
    return OosModel(Kernel(region_id="cn-hangzhou"), invoke=no_calls)


def execution(execution_id: str, status: str) -> Execution:
    return Execution(
        execution_id,
        "ACS-ESS-RollingUpdateByUpdateContainerGroup",
        "t-1",
        "v1",
        {"invokeType": "invoke"},
        "cn-hangzhou",
        status=status,
    )


def task(task_id: str, execution_id: str, status: str) -> TaskExecution:
    return TaskExecution(
        task_id,
        execution_id,
        "invokeByUpdateContainerGroup",
        "ACS::ESS::UpdateContainerGroup",
        "t-1",
        {},
        status=status,
    )


def saved_state() -> dict:
    state = {
        "executions": [
            asdict(execution("exec-done", SUCCESS)),
            asdict(execution("exec-running", RUNNING)),
            asdict(execution("exec-paused", WAITING)),
        ],
        "task_executions": [
            asdict(task("task-exec-done", "exec-done", SUCCESS)),
            asdict(task("task-exec-running", "exec-running", RUNNING)),
        ],
    }
    return json.loads(json.dumps(state))  # what the state file holds


def test_unfinished_executions_and_tasks_come_back_failed_with_the_reason():
    restored = model()
    restored.from_state(saved_state())
    for execution_id in ("exec-running", "exec-paused"):
        came_back = restored.execution(execution_id)
        assert came_back.status == FAILED
        assert "localcloud restarted" in came_back.status_message
        assert came_back.ended is not None
    [running_task] = restored.list_task_executions(task_execution_id="task-exec-running")
    assert running_task.status == FAILED and "localcloud restarted" in running_task.status_message


def test_finished_executions_are_kept():
    restored = model()
    restored.from_state(saved_state())
    assert restored.execution("exec-done").status == SUCCESS
    assert restored.execution("exec-done").status_message == ""


def test_state_round_trips_through_json():
    first = model()
    first.from_state(saved_state())
    second = model()
    second.from_state(json.loads(json.dumps(first.to_state())))
    assert second.to_state() == first.to_state()

"""The per-instance action ACS::ESS::UpdateContainerGroup (``reference/oos/ACS-ESS-UpdateContainerGroup.action.yml``)
task by task: put the instance in Standby, update its container group in place, wait until it is Running again,
and take it out of Standby."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from localcloud.gateway.products import ECI, ESS
from localcloud.oos.runner import END, TaskFailed, WaitPolicy
from localcloud.timing import Latencies

if TYPE_CHECKING:
    from localcloud.oos.runner import ExecutionRun

STANDBY_RETRIES = 30  # the action's Retries for enterStandby / exitStandBy (Delay 10 s, Constant)
STANDBY_RETRY_CODES = {"BackendServer.configuring", "IncorrectScalingGroupStatus"}
CONTAINER_GROUP_RETRIES = 20  # the action's Retries for getContainerGroups
# Room for a real image pull and container start on top of the configured latencies (see container_group_wait).
CONTAINER_GROUP_WAIT_FLOOR_SECONDS = 60.0


def run_update_container_group(run: "ExecutionRun") -> None:
    lifecycle_state = _lifecycle_state(run)
    was_standby = lifecycle_state == "Standby"
    if not run.choose(
        "whetherLifecycleStateIsStandby", was_standby, then="updateContainerGroup", otherwise="enterStandby"
    ):
        _standby_transition(run, "enterStandby", "EnterStandby")
    _update_container_group(run)
    _wait_until_running(run)
    # Kept from the real action: an instance that was already in Standby stays in Standby unless rollBack is
    # 'true', and the rolling-update template never passes rollBack (not even on its rollback path).
    if run.choose(
        "whetherToExitStandBy",
        was_standby and run.params["rollBack"] == "false",
        then=END,
        otherwise="exitStandBy",
    ):
        return
    _standby_transition(run, "exitStandBy", "ExitStandby")


def _lifecycle_state(run: "ExecutionRun") -> str | None:
    params = {"RegionId": run.params["regionId"], "InstanceIds": [run.params["instanceId"]]}
    outputs = run.api_task(
        "getInstanceLifecycleState",
        ESS,
        "DescribeScalingInstances",
        params,
        outputs=lambda response: {"lifecycleState": _first(response, "ScalingInstances", "LifecycleState")},
    )
    return outputs["lifecycleState"]


def _standby_transition(run: "ExecutionRun", task_name: str, action: str) -> None:
    params = {
        "RegionId": run.params["regionId"],
        "ScalingGroupId": run.params["scalingGroupId"],
        "InstanceIds": [run.params["instanceId"]],
    }
    run.wait_for(
        task_name,
        ESS,
        action,
        params,
        select=_standby_outcome,
        desired={"CodeNotExists"},
        stop={"OtherCodes"},
        policy=WaitPolicy(attempts=1 + STANDBY_RETRIES, delay=run.kernel.latencies.oos_wait_delay),
    )


def _standby_outcome(response: dict[str, Any]) -> str:
    """The action's PropertySelector: no Code is success; two codes mean "busy, retry"; any other stops."""
    code = response.get("Code")
    if code is None:
        return "CodeNotExists"
    return "RetryCodeExists" if code in STANDBY_RETRY_CODES else "OtherCodes"


def _update_container_group(run: "ExecutionRun") -> None:
    instance_id = run.params["instanceId"]
    params = {
        "RegionId": run.params["regionId"],
        "ContainerGroupId": instance_id,
        "Container": run.params["containerConfigure"],
        "UpdateType": run.params["updateType"],
    }
    with run.executing_api("updateContainerGroup", ECI, "UpdateContainerGroup", params):
        if run.kernel.faults.oos_child_fails(instance_id):
            raise TaskFailed(
                "updateContainerGroup",
                f"UpdateContainerGroup of {instance_id} failed: injected fault oos_child_failure (set through the "
                f"localcloud control endpoint); the container group was not changed.",
            )
        run.call(ECI, "UpdateContainerGroup", params)


def _wait_until_running(run: "ExecutionRun") -> None:
    params = {"RegionId": run.params["regionId"], "ContainerGroupIds": json.dumps([run.params["instanceId"]])}
    run.wait_for(
        "getContainerGroups",
        ECI,
        "DescribeContainerGroups",
        params,
        select=lambda response: _first(response, "ContainerGroups", "Status"),
        desired={"Running"},
        stop={"Failed"},
        policy=container_group_wait(run.kernel.latencies),
    )


def container_group_wait(latencies: Latencies) -> WaitPolicy:
    """getContainerGroups has Retries 20 and OOS's default delay, which grows exponentially (2, 4, 8 ... s), so
    in the cloud it outlasts any ECI update. Twenty polls ``oos_wait_delay`` apart would give up here after a few
    seconds, before an instance whose real image pull and start take a little longer is Running; so the wait is
    a time budget: the configured update latencies three times over plus a floor for a real pull and start."""
    update_seconds = latencies.image_pull + latencies.container_start + latencies.stay_up
    return WaitPolicy(
        attempts=1 + CONTAINER_GROUP_RETRIES,
        delay=latencies.oos_wait_delay,
        budget=CONTAINER_GROUP_WAIT_FLOOR_SECONDS + 3 * update_seconds,
    )


def _first(response: dict[str, Any], collection: str, field: str) -> Any:
    """``.Collection[].Field`` read as one value, as the action's String outputs do: the first match."""
    values = [entry.get(field) for entry in response.get(collection, [])]
    return values[0] if values else None

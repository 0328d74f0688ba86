"""OOS 2019-06-01 through the real SDK client: the rolling-update template ACS-ESS-RollingUpdateByUpdateContainerGroup
run against the seeded ECI group, on simulated instances and, where a test reads what the containers serve or what
their updates do, on real containers behind every instance."""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest
from alibabacloud_eci20180808 import models as eci
from alibabacloud_oos20190601 import models as oos

from tests.conftest import scenario_loaded
from tests.support.cloud_views import REGION, active_configuration, container_groups, group_by_name, instances
from tests.support.errors import api_error
from tests.support.http import page
from tests.support.images import push_image
from tests.support.waiting import wait_until

TEMPLATE = "ACS-ESS-RollingUpdateByUpdateContainerGroup"
ACTION = "ACS::ESS::UpdateContainerGroup"
ALL_PROCESSES = ["ScaleIn", "ScaleOut", "HealthCheck", "AlarmNotification", "ScheduledAction"]
INVOKE_PATH = [
    "choiceNextTask",
    "getInstance",
    "whetherTheScalingGroupInstanceIsEmpty",
    "whetherToSuspendProcess",
    "suspendProcess",
    "invokeByUpdateContainerGroup",
    "modifyScalingConfigurationForInvoke",
    "whetherToResumeProcessesByGroupInstances",
    "whetherToResumeProcesses",
    "resumeProcesses",
]
ROLLBACK_PATH = [
    "choiceNextTask",
    "getExecutionInstanceIds",
    "getRollbackProcess",
    "suspendProcessWithRollBack",
    "rollbackByUpdateContainerGroup",
    "modifyScalingConfigurationForRollback",
    "whetherToResumeProcessesWithRollback",
    "resumeProcessesWithRollback",
]
PER_INSTANCE_PATH = [
    "getInstanceLifecycleState",
    "whetherLifecycleStateIsStandby",
    "enterStandby",
    "updateContainerGroup",
    "getContainerGroups",
    "whetherToExitStandBy",
    "exitStandBy",
]
FINISHED = ("Success", "Failed", "Cancelled")


@pytest.fixture
def six_instances(local_cloud, control) -> Iterator[dict]:
    """The default scenario with six InService instances (max 6) instead of two."""
    yield from scenario_loaded(control, {"scaling_groups": [{"instances": 6, "max_size": 6}]})


# -- helpers -------------------------------------------------------------------------------------------------------


def rollout_parameters(sdk, image: str, **overrides: Any) -> dict[str, Any]:
    group = group_by_name(sdk)
    return {
        "invokeType": "invoke",
        "scalingGroupId": group.scaling_group_id,
        "scalingConfigurationId": group.active_scaling_configuration_id,
        "containerConfigure": [{"Name": "nginx", "Image": image}],
        **overrides,
    }


def start(sdk, parameters: dict[str, Any], **request: Any) -> oos.StartExecutionResponseBodyExecution:
    body = sdk.oos.start_execution(
        oos.StartExecutionRequest(
            region_id=REGION, template_name=TEMPLATE, parameters=json.dumps(parameters), **request
        )
    ).body
    assert body is not None, "the SDK could not parse the StartExecution response"
    return body.execution


def execution(sdk, execution_id: str) -> oos.ListExecutionsResponseBodyExecutions:
    body = sdk.oos.list_executions(oos.ListExecutionsRequest(region_id=REGION, execution_id=execution_id)).body
    assert body is not None and len(body.executions) == 1
    return body.executions[0]


def wait_status(sdk, execution_id: str, *statuses: str) -> oos.ListExecutionsResponseBodyExecutions:
    def reached():
        found = execution(sdk, execution_id)
        return found if found.status in statuses else None

    return wait_until(reached, timeout=90, interval=0.1, what=f"{execution_id} to be {' or '.join(statuses)}")


def finished(sdk, execution_id: str) -> oos.ListExecutionsResponseBodyExecutions:
    return wait_status(sdk, execution_id, *FINISHED)


def tasks(sdk, execution_id: str, **filters: Any) -> list[oos.ListTaskExecutionsResponseBodyTaskExecutions]:
    body = sdk.oos.list_task_executions(
        oos.ListTaskExecutionsRequest(
            region_id=REGION, execution_id=execution_id, sort_order="Ascending", max_results=100, **filters
        )
    ).body
    assert body is not None, "the SDK could not parse the ListTaskExecutions response"
    return body.task_executions


def children(sdk, execution_id: str) -> list[oos.ListExecutionsResponseBodyExecutions]:
    body = sdk.oos.list_executions(
        oos.ListExecutionsRequest(region_id=REGION, parent_execution_id=execution_id, sort_order="Ascending")
    ).body
    assert body is not None
    return body.executions


def run_rollback(sdk, image: str, source_execution_id: str, source: list[dict[str, Any]], **overrides: Any):
    """The template's rollback of ``source_execution_id`` back to ``source``, run to its end."""
    parameters = rollout_parameters(
        sdk,
        image,
        invokeType="rollback",
        sourceExecutionId=source_execution_id,
        sourceContainerConfigure=source,
        **overrides,
    )
    return finished(sdk, start(sdk, parameters).execution_id)


def oos_calls(control, since: int) -> list[dict[str, Any]]:
    return [entry for entry in control.audit(since=since) if entry["caller"] == "oos"]


def images_of(sdk, instance_ids: list[str]) -> set[str]:
    return {group.containers[0].image for group in container_groups(sdk, instance_ids)}


# -- the invoke path -----------------------------------------------------------------------------------------------


@pytest.mark.runtimes("docker")
def test_rolling_update_updates_every_instance_batch_by_batch(six_instances, sdk, local_cloud, control):
    image = push_image(local_cloud, "oos-v2", "oos rollout v2\n")
    group = group_by_name(sdk)
    instance_ids = [i.instance_id for i in instances(sdk, group.scaling_group_id)]
    mark = control.audit_mark()

    started = start(sdk, rollout_parameters(sdk, image, batchNumber=3))
    assert started.status == "Running" and started.template_name == TEMPLATE
    assert json.loads(started.parameters)["batchNumber"] == 3  # a JSON string in StartExecution's shape
    done = finished(sdk, started.execution_id)

    assert (done.status, done.status_message) == ("Success", "")
    assert done.parameters["enterProcess"] == ALL_PROCESSES  # an object in ListExecutions' shape, defaults filled
    assert done.is_parent is True and done.end_date
    assert [t.task_name for t in tasks(sdk, done.execution_id)] == INVOKE_PATH

    [loop] = tasks(sdk, done.execution_id, task_name="invokeByUpdateContainerGroup")
    assert loop.loop["Total"] == 6 and loop.loop["Success"] == 6 and loop.loop["Batches"] == 3
    items = tasks(sdk, done.execution_id, parent_task_execution_id=loop.task_execution_id)
    assert sorted(t.loop_batch_number for t in items) == [1, 1, 2, 2, 3, 3]
    assert sorted(t.loop_item for t in items) == sorted(instance_ids)
    assert all(t.status == "Success" and t.child_execution_id for t in items)

    child_executions = children(sdk, done.execution_id)
    assert {c.parameters["instanceId"] for c in child_executions} == set(instance_ids)
    assert {c.execution_id for c in child_executions} == {t.child_execution_id for t in items}
    for child in child_executions:
        assert (child.template_name, child.status, child.parent_execution_id) == (ACTION, "Success", done.execution_id)
        assert child.parameters["rollBack"] == "false" and child.parameters["regionId"] == REGION
        assert [t.task_name for t in tasks(sdk, child.execution_id)] == PER_INSTANCE_PATH

    # Batch after batch: every instance of a batch is back InService before the next batch leaves it.
    calls = oos_calls(control, mark)
    batch_of = {t.loop_item: t.loop_batch_number for t in items}

    def seqs(action: str, batch: int) -> list[int]:
        return [c["seq"] for c in calls if c["action"] == action and batch_of[c["params"]["InstanceIds"][0]] == batch]

    for batch in (1, 2):
        assert max(seqs("ExitStandby", batch)) < min(seqs("EnterStandby", batch + 1))

    assert images_of(sdk, instance_ids) == {image}
    assert page(container_groups(sdk, instance_ids[:1])[0].intranet_ip) == "oos rollout v2\n"
    assert {i.lifecycle_state for i in instances(sdk, group.scaling_group_id)} == {"InService"}
    assert group_by_name(sdk).suspended_processes == []
    assert active_configuration(sdk, group).containers[0].image == image
    assert {c["product"] for c in calls} == {"ess", "eci"}
    assert [c["action"] for c in calls if c["action"] in ("SuspendProcesses", "ResumeProcesses")] == [
        "SuspendProcesses",
        "ResumeProcesses",
    ]


def test_children_are_listed_only_when_asked_for(seeded, sdk):
    done = finished(sdk, start(sdk, rollout_parameters(sdk, seeded["seed_image"])).execution_id)
    roots = sdk.oos.list_executions(oos.ListExecutionsRequest(region_id=REGION, template_name="RollingUpdate")).body
    assert [e.execution_id for e in roots.executions] == [done.execution_id]
    everything = sdk.oos.list_executions(
        oos.ListExecutionsRequest(region_id=REGION, include_child_execution=True, max_results=10)
    ).body
    assert everything.total_count == 3  # the rollout and one child per instance
    assert len(tasks(sdk, done.execution_id)) == len(INVOKE_PATH)
    assert len(tasks(sdk, done.execution_id, include_child_task_execution=True)) == len(INVOKE_PATH) + 2


def test_the_same_client_token_returns_the_same_execution(seeded, sdk):
    parameters = rollout_parameters(sdk, seeded["seed_image"])
    first = start(sdk, parameters, client_token="release-42")
    again = start(sdk, parameters, client_token="release-42")
    assert again.execution_id == first.execution_id
    assert finished(sdk, first.execution_id).status == "Success"


# -- failures and rollback -----------------------------------------------------------------------------------------


def run_with_failing_first_item(sdk, control, image: str) -> oos.ListExecutionsResponseBodyExecutions:
    """A rollout of the two seeded instances in two batches whose first item fails."""
    control.add_fault(kind="oos_child_failure", times=1)
    return finished(sdk, start(sdk, rollout_parameters(sdk, image, batchNumber=2)).execution_id)


def test_a_failing_child_fails_the_execution_and_leaves_processes_suspended(seeded, sdk, local_cloud, control):
    image = push_image(local_cloud, "oos-never", "never served\n")
    group = group_by_name(sdk)
    mark = control.audit_mark()

    failed = run_with_failing_first_item(sdk, control, image)

    assert failed.status == "Failed"
    assert "invokeByUpdateContainerGroup" in failed.status_message
    assert "oos_child_failure" in failed.status_message
    [child] = children(sdk, failed.execution_id)  # the second batch never started
    assert child.status == "Failed" and "updateContainerGroup" in child.status_message
    child_tasks = tasks(sdk, child.execution_id)
    assert [(t.task_name, t.status) for t in child_tasks][-1] == ("updateContainerGroup", "Failed")
    [loop] = tasks(sdk, failed.execution_id, task_name="invokeByUpdateContainerGroup")
    assert loop.status == "Failed" and loop.loop["Failed"] == 1
    assert tasks(sdk, failed.execution_id)[-1].task_name == "invokeByUpdateContainerGroup"

    # As in the cloud: processes stay suspended, the configuration is not written, the instance stays in Standby.
    assert sorted(group_by_name(sdk).suspended_processes) == sorted(ALL_PROCESSES)
    assert active_configuration(sdk, group).containers[0].image == seeded["seed_image"]
    states = {i.instance_id: i.lifecycle_state for i in instances(sdk, group.scaling_group_id)}
    assert states[child.parameters["instanceId"]] == "Standby"
    assert images_of(sdk, list(states)) == {seeded["seed_image"]}
    actions = {c["action"] for c in oos_calls(control, mark)}
    assert not actions & {"ModifyEciScalingConfiguration", "ResumeProcesses", "UpdateContainerGroup"}


def test_rollback_after_a_failure_resumes_processes_and_restores_the_configuration(seeded, sdk, local_cloud, control):
    image = push_image(local_cloud, "oos-bad", "bad release\n")
    group = group_by_name(sdk)
    failed = run_with_failing_first_item(sdk, control, image)
    [failed_child] = children(sdk, failed.execution_id)

    source = [{"Name": "nginx", "Image": seeded["seed_image"]}]
    rollback = run_rollback(sdk, image, failed.execution_id, source)

    assert (rollback.status, rollback.status_message) == ("Success", "")
    assert [t.task_name for t in tasks(sdk, rollback.execution_id)] == ROLLBACK_PATH
    [rolled_back] = children(sdk, rollback.execution_id)  # exactly the instances the source touched
    assert rolled_back.parameters["instanceId"] == failed_child.parameters["instanceId"]
    assert rolled_back.parameters["containerConfigure"] == source
    assert group_by_name(sdk).suspended_processes == []
    assert active_configuration(sdk, group).containers[0].image == seeded["seed_image"]
    # The real action's quirk, kept: it was already in Standby and the template never passes rollBack='true',
    # so it is updated but left in Standby.
    assert [t.task_name for t in tasks(sdk, rolled_back.execution_id)][-1] == "whetherToExitStandBy"
    states = {i.instance_id: i.lifecycle_state for i in instances(sdk, group.scaling_group_id)}
    assert states[rolled_back.parameters["instanceId"]] == "Standby"


@pytest.mark.runtimes("docker")
def test_rollback_puts_the_previous_image_back_on_every_instance(seeded, sdk, local_cloud):
    image = push_image(local_cloud, "oos-v3", "oos rollout v3\n")
    group = group_by_name(sdk)
    instance_ids = [i.instance_id for i in instances(sdk, group.scaling_group_id)]
    invoked = finished(sdk, start(sdk, rollout_parameters(sdk, image)).execution_id)
    assert invoked.status == "Success" and images_of(sdk, instance_ids) == {image}

    rollback = run_rollback(sdk, image, invoked.execution_id, [{"Name": "nginx", "Image": seeded["seed_image"]}])

    assert rollback.status == "Success"
    assert images_of(sdk, instance_ids) == {seeded["seed_image"]}
    assert page(container_groups(sdk, instance_ids[:1])[0].intranet_ip) == "localcloud seed image\n"
    assert active_configuration(sdk, group).containers[0].image == seeded["seed_image"]
    assert {i.lifecycle_state for i in instances(sdk, group.scaling_group_id)} == {"InService"}
    assert group_by_name(sdk).suspended_processes == []


def test_a_rollback_needs_a_source_execution(seeded, sdk):
    started = start(sdk, rollout_parameters(sdk, seeded["seed_image"], invokeType="rollback"))
    failed = finished(sdk, started.execution_id)
    assert failed.status == "Failed"
    assert "getExecutionInstanceIds" in failed.status_message and "sourceExecutionId" in failed.status_message


# -- cancel and pause ----------------------------------------------------------------------------------------------


@pytest.mark.runtimes("simulated", "docker")
def test_cancel_stops_the_execution_and_its_running_children(seeded, sdk, local_cloud, control):
    control.set_latencies(image_pull=3.0)  # keep the first batch's update running while we cancel
    image = push_image(local_cloud, "oos-slow", "slow\n")
    group = group_by_name(sdk)
    started = start(sdk, rollout_parameters(sdk, image, batchNumber=2))

    def first_item_waiting():
        return [t for t in children(sdk, started.execution_id) if t.status == "Running"]

    [child] = wait_until(first_item_waiting, timeout=30, what="the first loop item to run")
    wait_until(
        lambda: [t for t in tasks(sdk, child.execution_id, task_name="getContainerGroups")],
        timeout=30,
        what="the first item to wait for its container group",
    )
    sdk.oos.cancel_execution(oos.CancelExecutionRequest(region_id=REGION, execution_id=started.execution_id))
    mark = control.audit_mark()

    cancelled = execution(sdk, started.execution_id)
    assert cancelled.status == "Cancelled" and cancelled.end_date
    assert execution(sdk, child.execution_id).status == "Cancelled"
    [loop] = tasks(sdk, started.execution_id, task_name="invokeByUpdateContainerGroup")
    assert loop.status == "Cancelled"
    wait_until(
        lambda: not any(t.status == "Running" for t in tasks(sdk, child.execution_id)),
        timeout=5,
        what="the child's tasks to stop",
    )
    assert len(children(sdk, started.execution_id)) == 1  # the second batch never starts
    assert len(oos_calls(control, mark)) <= 1  # at most the call that was in flight
    assert sorted(group_by_name(sdk).suspended_processes) == sorted(ALL_PROCESSES)  # left suspended, as in the cloud
    assert active_configuration(sdk, group).containers[0].image == seeded["seed_image"]
    # ECI finishes the update that was under way; wait for it so the next test starts from a quiet cloud.
    wait_until(
        lambda: container_groups(sdk, [child.parameters["instanceId"]])[0].status in ("Running", "Failed"),
        timeout=30,
        what="the update that was in flight to finish",
    )


def test_a_first_batch_pause_waits_for_notify_execution(seeded, sdk):
    parameters = rollout_parameters(sdk, seeded["seed_image"], batchNumber=2, batchPauseOption="FirstBatchPause")
    started = start(sdk, parameters)
    paused = wait_status(sdk, started.execution_id, "Waiting", "Failed")
    assert paused.status == "Waiting" and "NotifyExecution" in paused.status_message
    [loop] = tasks(sdk, started.execution_id, task_name="invokeByUpdateContainerGroup")
    assert loop.status == "Waiting"
    assert [c.status for c in children(sdk, started.execution_id)] == ["Success"]

    sdk.oos.notify_execution(
        oos.NotifyExecutionRequest(region_id=REGION, execution_id=started.execution_id, notify_type="Approve")
    )

    done = finished(sdk, started.execution_id)
    assert (done.status, done.status_message) == ("Success", "")
    assert [c.status for c in children(sdk, started.execution_id)] == ["Success", "Success"]
    error = api_error(
        lambda: sdk.oos.notify_execution(
            oos.NotifyExecutionRequest(region_id=REGION, execution_id=started.execution_id, notify_type="Approve")
        )
    )
    assert (error.status_code, error.code) == (400, "InvalidStatus.Execution")


def test_rejecting_a_paused_loop_cancels_the_execution(seeded, sdk):
    parameters = rollout_parameters(sdk, seeded["seed_image"], batchNumber=2, batchPauseOption="EveryBatchPause")
    started = start(sdk, parameters)
    wait_status(sdk, started.execution_id, "Waiting")
    sdk.oos.notify_execution(
        oos.NotifyExecutionRequest(
            region_id=REGION, execution_id=started.execution_id, notify_type="Reject", notify_note="not today"
        )
    )
    rejected = execution(sdk, started.execution_id)
    assert rejected.status == "Cancelled" and "not today" in rejected.status_message
    assert len(children(sdk, started.execution_id)) == 1


# -- bad requests ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("template_name", ["ACS-ECS-BulkyRunCommand", ACTION])
def test_other_templates_are_not_found(seeded, sdk, template_name):
    error = api_error(
        lambda: sdk.oos.start_execution(
            oos.StartExecutionRequest(region_id=REGION, template_name=template_name, parameters="{}")
        )
    )
    assert (error.status_code, error.code) == (404, "EntityNotExists.Template")
    assert TEMPLATE in error.message


def test_template_content_is_refused(seeded, sdk):
    error = api_error(
        lambda: sdk.oos.start_execution(
            oos.StartExecutionRequest(region_id=REGION, template_content="FormatVersion: OOS-2019-06-01\nTasks: []\n")
        )
    )
    assert (error.status_code, error.code) == (400, "InvalidParameter")
    assert "TemplateContent" in error.message


@pytest.mark.parametrize(
    "change,named",
    [
        ({"scalingGroupId": None}, "scalingGroupId"),
        ({"batchNumber": 0}, "batchNumber"),
        ({"batchNumber": 101}, "batchNumber"),
        ({"invokeType": "upgrade"}, "invokeType"),
        ({"batchPauseOption": "Sometimes"}, "batchPauseOption"),
        ({"enterProcess": "ScaleIn"}, "enterProcess"),
        ({"imageId": "m-123"}, "imageId"),
    ],
)
def test_bad_parameters_are_refused_before_anything_runs(seeded, sdk, control, change, named):
    parameters = {k: v for k, v in {**rollout_parameters(sdk, seeded["seed_image"]), **change}.items() if v is not None}
    mark = control.audit_mark()
    error = api_error(lambda: start(sdk, parameters))
    assert (error.status_code, error.code) == (400, "InvalidParameter")
    assert named in error.message
    assert oos_calls(control, mark) == []
    assert sdk.oos.list_executions(oos.ListExecutionsRequest(region_id=REGION)).body.total_count == 0


def test_parameters_must_be_a_json_object(seeded, sdk):
    error = api_error(
        lambda: sdk.oos.start_execution(
            oos.StartExecutionRequest(region_id=REGION, template_name=TEMPLATE, parameters="invokeType=invoke")
        )
    )
    assert (error.status_code, error.code) == (400, "InvalidParameter")
    assert "Parameters" in error.message


def test_unknown_executions_are_404(seeded, sdk):
    for call in (
        lambda: sdk.oos.cancel_execution(oos.CancelExecutionRequest(region_id=REGION, execution_id="exec-nope")),
        lambda: sdk.oos.notify_execution(
            oos.NotifyExecutionRequest(region_id=REGION, execution_id="exec-nope", notify_type="Approve")
        ),
    ):
        error = api_error(call)
        assert (error.status_code, error.code) == (404, "EntityNotExists.Execution")
    listed = sdk.oos.list_executions(oos.ListExecutionsRequest(region_id=REGION, execution_id="exec-nope")).body
    assert (listed.executions, listed.total_count) == ([], 0)  # a filter, not a lookup: no error


@pytest.mark.runtimes("docker")
def test_a_failing_pull_fails_the_rollout_and_rollback_restores_the_old_image(six_instances, sdk, local_cloud, control):
    """The acceptance case: 6 docker-backed instances, batchNumber 3, the new image cannot be pulled."""
    image = push_image(local_cloud, "oos-unpullable", "never pulled\n")
    control.add_fault(kind="pull_failure", image=image.split("@")[1])
    group = group_by_name(sdk)
    instance_ids = [i.instance_id for i in instances(sdk, group.scaling_group_id)]

    failed = finished(sdk, start(sdk, rollout_parameters(sdk, image, batchNumber=3)).execution_id)

    assert failed.status == "Failed"
    first_batch = children(sdk, failed.execution_id)
    assert len(first_batch) == 2 and {c.status for c in first_batch} == {"Failed"}  # later batches never started
    touched = [c.parameters["instanceId"] for c in first_batch]
    assert {g.status for g in container_groups(sdk, touched)} == {"Failed"}
    events = sdk.eci.describe_container_group_events(
        eci.DescribeContainerGroupEventsRequest(region_id=REGION, container_group_ids=json.dumps(touched))
    ).body
    assert "ErrImagePull" in {e.reason for d in events.data for e in d.events}
    assert sorted(group_by_name(sdk).suspended_processes) == sorted(ALL_PROCESSES)
    assert active_configuration(sdk, group).containers[0].image == six_instances["seed_image"]

    rollback = run_rollback(
        sdk, image, failed.execution_id, [{"Name": "nginx", "Image": six_instances["seed_image"]}], batchNumber=3
    )

    assert rollback.status == "Success"
    assert images_of(sdk, instance_ids) == {six_instances["seed_image"]}
    assert {g.status for g in container_groups(sdk, instance_ids)} == {"Running"}
    assert {page(g.intranet_ip) for g in container_groups(sdk, touched)} == {"localcloud seed image\n"}
    assert group_by_name(sdk).suspended_processes == []
    assert active_configuration(sdk, group).containers[0].image == six_instances["seed_image"]

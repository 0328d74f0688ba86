"""The pipeline's cloud steps one at a time against localcloud, each under the fault that shows whether it keeps
its promise: answers lost after the action took effect (ClientTokens), a write that does not stick (the read-back),
new instances on another image (the probe check), instances that are not Running (the sweep), a failed template
and a failed rollback (processes and configuration restored). Judged by the cloud's state read through the SDK."""

from __future__ import annotations

import pytest
from alibabacloud_ess20220222 import models as ess
from alibabacloud_oos20190601 import models as oos

from blocks.credentials import AlibabaCloudCredentials
from deployments.local_cloud_target import local_cloud_credentials
from tasks.cloud_calls import CloudCallFailed
from tasks.cloud_views import find_group
from tasks.models import ConfigSnapshot, HealthCheck, ImageRef
from tasks.oos_executions import TEMPLATE, follow, notify, start_execution
from tasks.probe import probe_new_instance
from tasks.release_record import Journal, ReleaseRecord
from tasks.rollback import rollback_release
from tasks.rolling_update import RolloutFailed, rolling_update
from tasks.scaling_config import ConfigWriteFailed, snapshot, update_scaling_config
from tasks.verify import HealthGate, VerificationFailed, sweep
from tests.support.cloud_views import REGION, active_configuration, group_by_name, instances
from tests.support.images import push_image
from tests.support.waiting import wait_until

CONTAINER = "nginx"


@pytest.fixture
def credentials(local_cloud, prefect_harness) -> AlibabaCloudCredentials:
    # The harness: the rolling update reports its progress as a Prefect artifact.
    return local_cloud_credentials(local_cloud.info.model_dump())


@pytest.fixture
def before(seeded, credentials):
    """The seeded group's configuration as the release snapshots it."""
    return snapshot(credentials, find_group(credentials, "ess-eci-test"), CONTAINER)


def _journal(before: ConfigSnapshot, image: str, standby_before: list[str] = ()) -> Journal:
    return Journal(
        ReleaseRecord(
            group_id=before.group.scaling_group_id,
            group_name=before.group.scaling_group_name,
            trigger="manual",
            flow_run_id=None,
            state="started",
            step="test",
            scaling_configuration_id=before.scaling_configuration_id,
            container=before.container_name,
            image_before=before.image,
            image_after=image,
            suspended_before=before.group.suspended_processes,
            standby_before=list(standby_before),
        )
    )


def _probe(credentials, before: ConfigSnapshot, image: str):
    return probe_new_instance.fn(credentials, before, image, _journal(before, image), HealthCheck(), 120)


def _roll_out(credentials, before: ConfigSnapshot, image: str, journal: Journal):
    gate = HealthGate(credentials, before, image, HealthCheck())
    return rolling_update.fn(credentials, before, image, journal, gate, 1, "Automatic", timeout=120)


def _executions(sdk) -> list[str]:
    listed = sdk.oos.list_executions(
        oos.ListExecutionsRequest(region_id=REGION, template_name=TEMPLATE, max_results=100)
    )
    return [e.execution_id for e in listed.body.executions]


def _scale_outs(sdk, group_id: str) -> list:
    activities = sdk.ess.describe_scaling_activities(
        ess.DescribeScalingActivitiesRequest(region_id=REGION, scaling_group_id=group_id, page_size=50)
    ).body.scaling_activities
    return [a for a in activities if (a.description or "").startswith("Adjust capacity") and a.created_instances]


def _activities_running(sdk, group_id: str) -> bool:
    activities = sdk.ess.describe_scaling_activities(
        ess.DescribeScalingActivitiesRequest(region_id=REGION, scaling_group_id=group_id, page_size=50)
    ).body.scaling_activities
    return any(a.status_code == "InProgress" for a in activities)


def _in_service(sdk) -> list[str]:
    return [i.instance_id for i in instances(sdk, group_by_name(sdk).scaling_group_id, "InService")]


def test_a_lost_start_execution_answer_starts_one_rollout_not_two(before, credentials, control, sdk, local_cloud):
    image = push_image(local_cloud, "lost-answer", "lost answer")
    known = set(_executions(sdk))
    control.add_fault(kind="lost_response", product="oos", action="StartExecution", times=1)
    execution_id = start_execution(
        credentials, before, invoke_type="invoke", image=image, batch_number=1, batch_pause="Automatic"
    )
    assert [e for e in _executions(sdk) if e not in known] == [execution_id]
    assert follow(credentials, execution_id, batch_number=1, timeout=120).status == "Success"


@pytest.mark.runtimes("simulated")
def test_at_a_pause_the_gate_answers_before_the_progress_is_reported(before, credentials, local_cloud):
    image = push_image(local_cloud, "gate-first", "the gate answers first")
    execution_id = start_execution(
        credentials, before, invoke_type="invoke", image=image, batch_number=2, batch_pause="EveryBatchPause"
    )
    seen = []

    def gate(done: int, total: int, pause: int) -> None:
        seen.append(("pause", done))
        notify(credentials, execution_id, "Approve", "test gate")

    final = follow(
        credentials,
        execution_id,
        batch_number=2,
        timeout=120,
        on_progress=lambda done, total: seen.append(("progress", done)),
        on_pause=gate,
    )
    assert final.status == "Success"
    # The template waits on the answer; the report of the batch it paused after comes once it has it.
    assert [event for event in seen if event[1] > 0] == [("pause", 1), ("progress", 1), ("progress", 2)]


@pytest.mark.runtimes("simulated", "docker")
def test_a_lost_probe_scale_out_answer_starts_one_probe_not_two(before, credentials, control, sdk):
    started_with = _in_service(sdk)
    control.add_fault(kind="lost_response", product="ess", action="ScaleWithAdjustment", times=1)
    try:
        _probe(credentials, before, before.image)
    finally:
        # However the step ended: one probe was started and it is gone again. (Without the ClientToken the retry
        # is a new request, refused while the first scale-out runs, and the first probe is never removed.)
        wait_until(lambda: not _activities_running(sdk, before.group.scaling_group_id), timeout=60)
        assert len(_scale_outs(sdk, before.group.scaling_group_id)) == 1
        assert sorted(_in_service(sdk)) == sorted(started_with)


@pytest.mark.runtimes("simulated")
def test_a_probe_scale_out_the_cloud_refused_is_not_asked_for_again_by_the_rollback(before, credentials, control, sdk):
    group_id = before.group.scaling_group_id
    # Someone else's scale-out still running: the cloud refuses the probe's (ScalingActivityInProgress).
    control.add_fault(kind="stuck_activity", scaling_group_id=group_id)
    sdk.ess.scale_with_adjustment(
        ess.ScaleWithAdjustmentRequest(
            scaling_group_id=group_id, adjustment_type="QuantityChangeInCapacity", adjustment_value=1
        )
    )
    journal = _journal(before, before.image)
    with pytest.raises(CloudCallFailed, match="ScalingActivityInProgress"):
        probe_new_instance.fn(credentials, before, before.image, journal, HealthCheck(), 120)
    mark = control.audit_mark()
    rolled_back = rollback_release.fn(credentials, before, journal, 1, timeout=120, scale_out_timeout=5)
    assert rolled_back.complete, rolled_back.message
    assert "ScaleWithAdjustment" not in [entry["action"] for entry in control.audit(mark)]


@pytest.mark.runtimes("simulated", "docker")
def test_a_probe_that_comes_up_on_another_image_fails_verification_and_is_removed(
    before, credentials, control, sdk, local_cloud
):
    started_with = _in_service(sdk)
    other = push_image(local_cloud, "not-the-release", "another image")
    control.add_fault(kind="launch_image", image=other, scaling_group_id=before.group.scaling_group_id)
    with pytest.raises(VerificationFailed, match="not-the-release|runs .*, not"):
        _probe(credentials, before, before.image)
    assert sorted(_in_service(sdk)) == sorted(started_with)


def test_a_configuration_write_that_does_not_stick_fails_the_step(before, credentials, control, sdk, local_cloud):
    image = ImageRef.parse_pinned(push_image(local_cloud, "unstuck", "never written"))
    control.add_fault(kind="no_effect", product="ess", action="ModifyEciScalingConfiguration")
    with pytest.raises(ConfigWriteFailed, match="reads back"):
        update_scaling_config.fn(credentials, before, image, _journal(before, image.pinned))
    assert active_configuration(sdk, group_by_name(sdk)).containers[0].image == before.image


@pytest.mark.parametrize("status", ["Pending", "Failed"])
def test_the_sweep_refuses_an_instance_that_is_not_running(before, credentials, control, sdk, status):
    instance_id = _in_service(sdk)[0]
    control.add_fault(kind="container_group_status", instance_id=instance_id, group_status=status)
    with pytest.raises(VerificationFailed, match=f"{instance_id} runs .*\\({status}\\)"):
        sweep(credentials, before, before.image)


def test_a_rollout_resumes_only_the_processes_it_suspended(seeded, credentials, sdk, local_cloud):
    group_id = group_by_name(sdk).scaling_group_id
    sdk.ess.suspend_processes(
        ess.SuspendProcessesRequest(region_id=REGION, scaling_group_id=group_id, processes=["ScaleIn"])
    )
    before = snapshot(credentials, find_group(credentials, group_id), CONTAINER)
    image = push_image(local_cloud, "keep-scale-in", "keep scale-in suspended")
    journal = _journal(before, image)
    update_scaling_config.fn(credentials, before, ImageRef.parse_pinned(image), journal)
    assert _roll_out(credentials, before, image, journal).status == "Success"
    assert group_by_name(sdk).suspended_processes == ["ScaleIn"]


def test_when_the_templates_rollback_fails_too_the_configuration_and_processes_are_still_restored(
    before, credentials, control, sdk, local_cloud
):
    image = push_image(local_cloud, "fails-everywhere", "fails")
    journal = _journal(before, image)
    update_scaling_config.fn(credentials, before, ImageRef.parse_pinned(image), journal)
    control.add_fault(kind="oos_child_failure")  # every per-instance update fails, the rollback's too
    with pytest.raises(RolloutFailed):
        _roll_out(credentials, before, image, journal)
    assert group_by_name(sdk).suspended_processes  # the failed template left them suspended
    assert journal.record.execution_id  # noted as soon as OOS returned it
    result = rollback_release.fn(credentials, before, journal, 1, timeout=120)
    assert not result.complete and "instances" in result.message  # the template's rollback failed, and says so
    group = group_by_name(sdk)
    assert active_configuration(sdk, group).containers[0].image == before.image
    assert group.suspended_processes == []
    assert instances(sdk, group.scaling_group_id, "Standby") == []


def test_a_rollback_returns_what_the_release_left_in_standby_and_leaves_a_persons_standby_alone(
    seeded, credentials, control, sdk, local_cloud
):
    group_id = group_by_name(sdk).scaling_group_id
    kept_aside, serving = _in_service(sdk)
    sdk.ess.enter_standby(ess.EnterStandbyRequest(scaling_group_id=group_id, instance_ids=[kept_aside]))
    before = snapshot(credentials, find_group(credentials, group_id), CONTAINER)
    image = push_image(local_cloud, "standby", "fails while its instance is in Standby")
    journal = _journal(before, image, standby_before=[kept_aside])
    update_scaling_config.fn(credentials, before, ImageRef.parse_pinned(image), journal)
    control.add_fault(kind="oos_child_failure")  # the update fails with its instance in Standby
    with pytest.raises(RolloutFailed):
        _roll_out(credentials, before, image, journal)
    rollback_release.fn(credentials, before, journal, 1, timeout=120)
    assert [i.instance_id for i in instances(sdk, group_id, "Standby")] == [kept_aside]
    assert _in_service(sdk) == [serving]

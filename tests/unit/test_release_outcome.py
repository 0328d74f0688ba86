"""The release's result, built once from what the stages returned: each outcome says what happened, honestly."""

from __future__ import annotations

from flows.outcome import StageOutputs, release_result
from flows.recovery import describe_unfinished
from tasks.models import ConfigChange, ImageRef, InstanceState, Recovery, RollbackResult, RolloutResult
from tasks.probe import Probe
from tasks.release_record import ReleaseRecord
from tasks.rolling_update import asks_a_person

OLD = "r.example/ns/app@sha256:" + "1" * 64
NEW = ImageRef(registry="r.example", repository="ns/app", tag="v2", digest="sha256:" + "2" * 64)
ON_NEW = [
    InstanceState(instance_id="eci-1", lifecycle_state="InService", status="Running", ip="10.0.0.1", image=NEW.pinned)
]


def _outputs(**fields) -> StageOutputs:
    return StageOutputs(group_name="web", image=NEW, config_before=OLD, **fields)


def test_a_release_that_changed_nothing_is_unchanged():
    result = release_result(_outputs(change=ConfigChange(image_after=NEW.pinned, written=False), swept=ON_NEW))
    assert result.status == "unchanged" and "nothing changed" in result.message


def test_a_verified_release_is_released_with_its_probe():
    outputs = _outputs(
        change=ConfigChange(image_after=NEW.pinned, written=True),
        probe=Probe(instance_id="eci-9", image=NEW.pinned, health="HTTP 200 from http://10.0.0.9:80/"),
        rollout=RolloutResult(status="Success", execution_id="exec-1"),
        execution_id="exec-1",
        swept=ON_NEW,
        changed=["configuration written", "probe instance started", "OOS rolling update started"],
    )
    result = release_result(outputs)
    assert result.status == "released" and result.config_after == NEW.pinned
    assert result.verification.scaled_out and result.verification.probe_instance_id == "eci-9"
    assert result.execution_id == "exec-1" and "on 1 instance(s)" in result.message


def test_a_failure_that_changed_nothing_is_failed_not_rolled_back():
    result = release_result(_outputs(), error=RuntimeError("every InService instance must run it"))
    assert result.status == "failed" and result.rollback is None
    assert "nothing was changed" in result.message and "every InService instance" in result.message


def test_a_failure_undone_is_rolled_back_and_an_incomplete_undo_is_failed():
    outputs = _outputs(changed=["configuration written"])
    undone = RollbackResult(complete=True, message="configuration restored")
    result = release_result(outputs, error=RuntimeError("probe failed"), rollback=undone)
    assert result.status == "rolled_back" and result.config_after == OLD
    half = RollbackResult(complete=False, message="NOT DONE: could not restore")
    result = release_result(outputs, error=RuntimeError("probe failed"), rollback=half)
    assert result.status == "failed" and result.config_after is None and "ROLLBACK INCOMPLETE" in result.message


def test_a_recovery_first_is_said_first():
    recovery = Recovery(found="the manual release stopped in probe", done="probe removed", complete=True, image=OLD)
    result = release_result(_outputs(recovery=recovery, swept=ON_NEW, changed=["configuration written"]))
    assert result.status == "released" and result.message.startswith("first recovered an unfinished release")
    assert result.recovery == recovery


def test_a_person_is_asked_only_at_the_pauses_they_chose():
    assert [asks_a_person("Automatic", n) for n in (1, 2)] == [False, False]
    assert [asks_a_person("FirstBatchPause", n) for n in (1, 2)] == [True, False]
    assert [asks_a_person("EveryBatchPause", n) for n in (1, 2)] == [True, True]


def test_an_unfinished_record_is_described_by_what_it_left():
    record = ReleaseRecord(
        group_id="asg-1",
        group_name="web",
        trigger="push",
        flow_run_id="run-1",
        state="rolling-out",
        step="rolling-update",
        scaling_configuration_id="asc-1",
        container="app",
        image_before=OLD,
        image_after=NEW.pinned,
        changed=["configuration written", "OOS rolling update started"],
        execution_id="exec-7",
        probe_activity_id="asa-3",
    )
    assert record.unfinished and not record.model_copy(update={"state": "released"}).unfinished
    described = describe_unfinished(record)
    assert "stopped in rolling-update" in described and "OOS execution exec-7" in described
    assert "probe scale-out asa-3" in described and "configuration written" in described

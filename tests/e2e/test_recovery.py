"""A release stopped half way never leaves the group worse than it found it: SIGTERM rolls back before the process
ends; after SIGKILL, the next release (or `recover`) finishes the job from the release record. Each case is judged
by the cloud's state read back through the SDK: configuration and every InService instance on one image, the
starting instances, nothing suspended, no Standby instance, no activity or OOS execution running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from alibabacloud_ess20220222 import models as ess
from alibabacloud_oos20190601 import models as oos
from prefect.settings import get_current_settings

from tasks.processes import TEMPLATE_PROCESSES
from tasks.release_record import ReleaseRecord
from tests.e2e.conftest import REPOSITORY
from tests.support.cloud_views import REGION, active_configuration, group_by_name, instances
from tests.support.consistency import executions, inconsistencies
from tests.support.images import push_image
from tests.support.waiting import RECORD_WRITE_SECONDS, wait_until


def _start_release(pipeline_env: dict, image: str, *extra: str) -> subprocess.Popen:
    """``eci-release release`` in a process of its own, on the session's Prefect server (so this test reads the
    release record it writes)."""
    digest = image.partition("@")[2]
    return subprocess.Popen(
        [sys.executable, "-m", "deployments.cli", "release", "--group", "ess-eci-test", "--container", "nginx"]
        + ["--repository", REPOSITORY, "--digest", digest, "--json", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **pipeline_env, "PREFECT_API_URL": str(get_current_settings().api.url)},
    )


def _record_when(group_id: str, ready, what: str) -> ReleaseRecord:
    def seen():
        record = ReleaseRecord.load(group_id)
        return record if record is not None and ready(record) else None

    return wait_until(seen, timeout=120, interval=0.2, what=what)


def _assert_consistent_on(sdk, image: str, instance_ids: list[str] | None = None, count: int = 2) -> None:
    assert inconsistencies(sdk, image, count, instance_ids) == []


@pytest.fixture
def group_id(seeded, sdk) -> str:
    return group_by_name(sdk).scaling_group_id


def test_sigterm_during_the_probe_rolls_back_before_the_process_ends(group_id, pipeline_env, sdk, control, local_cloud):
    before = active_configuration(sdk, group_by_name(sdk)).containers[0].image
    running = [i.instance_id for i in instances(sdk, group_id, "InService")]
    image = push_image(local_cloud, "stopped", "stopped by SIGTERM")
    control.add_fault(kind="stuck_activity", scaling_group_id=group_id)  # the probe's scale-out never finishes
    process = _start_release(pipeline_env, image)
    _record_when(group_id, lambda r: r.image_after == image and r.probe_activity_id, "the probe to start")
    process.send_signal(signal.SIGTERM)
    control.clear_faults()  # the activity ends, so the rollback can remove the probe
    stdout, stderr = process.communicate(timeout=180)
    assert process.returncode == 128 + signal.SIGTERM, stderr[-2000:]
    assert json.loads(stdout.strip().splitlines()[-1])["status"] == "stopped"
    record = ReleaseRecord.load(group_id)
    assert record.state == "rolled_back", record.message
    _assert_consistent_on(sdk, before, running)


@pytest.fixture(scope="module")
def shell_env(pipeline_env, tmp_path_factory) -> dict:
    """Shells without a Prefect server: each process starts a temporary one on this Prefect home."""
    env = {**os.environ, **pipeline_env, "PREFECT_HOME": str(tmp_path_factory.mktemp("shell-home"))}
    env.pop("PREFECT_API_URL", None)
    return env


def _cli_json(*args: str, env: dict) -> tuple[int, dict]:
    done = subprocess.run(
        [sys.executable, "-m", "deployments.cli", *args, "--json"], capture_output=True, text=True, env=env, timeout=600
    )
    assert done.stdout.strip(), done.stderr[-2000:]
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])


def _release_in_its_own_session(digest: str, env: dict, *extra: str) -> subprocess.Popen:
    """``eci-release release`` of the digest from a shell, in a process group of its own (killed whole)."""
    return subprocess.Popen(
        [sys.executable, "-m", "deployments.cli", "release", "--group", "ess-eci-test", "--container", "nginx"]
        + ["--repository", REPOSITORY, "--digest", digest, *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )


def _release_again(digest: str, env: dict) -> tuple[int, dict]:
    """The next release of the digest, from another shell; its exit code and JSON result."""
    return _cli_json(
        "release",
        "--group",
        "ess-eci-test",
        "--container",
        "nginx",
        "--repository",
        REPOSITORY,
        "--digest",
        digest,
        env=env,
    )


def _started_probe(control, mark: int) -> bool:
    return "ScaleWithAdjustment" in control.mutating_calls(mark)


def test_sigkill_after_the_probe_scale_out_is_finished_by_the_next_release(
    group_id, shell_env, sdk, control, local_cloud
):
    image = push_image(local_cloud, "killed-probe", "killed after the probe scale-out")
    digest = image.partition("@")[2]
    env = shell_env
    control.add_fault(kind="stuck_activity", scaling_group_id=group_id)
    mark = control.audit_mark()
    process = _release_in_its_own_session(digest, env)
    wait_until(lambda: _started_probe(control, mark), timeout=180, what="the probe scale-out")
    time.sleep(RECORD_WRITE_SECONDS)  # the activity id reaches the release record right after the cloud answers
    os.killpg(process.pid, signal.SIGKILL)  # the process and its temporary Prefect server
    process.wait(timeout=30)
    control.clear_faults()

    # The next release, from another shell: the killed one's lock is free, and it finishes the job first.
    code, again = _release_again(digest, env)
    assert code == 0 and again["status"] == "released", again["message"]
    assert again["recovery"]["complete"] and "probe scale-out" in again["recovery"]["found"], again["recovery"]
    assert again["verification"]["scaled_out"]  # verified again, not answered "unchanged"
    _assert_consistent_on(sdk, image)


def test_sigkill_before_the_probe_scale_out_was_answered_is_finished_by_the_next_release(
    group_id, shell_env, sdk, control, local_cloud
):
    image = push_image(local_cloud, "lost-probe-answer", "killed before the probe scale-out was answered")
    digest = image.partition("@")[2]
    # The cloud scales out, and its answer never arrives: the release's record has the call's ClientToken, never the
    # activity it started. The release is killed while it retries.
    control.add_fault(kind="lost_response", product="ess", action="ScaleWithAdjustment")
    mark = control.audit_mark()
    process = _release_in_its_own_session(digest, shell_env)
    wait_until(lambda: _started_probe(control, mark), timeout=180, interval=0.05, what="the probe scale-out")
    os.killpg(process.pid, signal.SIGKILL)  # the process and its temporary Prefect server
    process.wait(timeout=30)
    control.clear_faults()

    code, again = _release_again(digest, shell_env)
    assert code == 0 and again["status"] == "released", again["message"]
    assert again["recovery"]["complete"], again["recovery"]
    assert "a probe scale-out whose answer was not noted" in again["recovery"]["found"], again["recovery"]
    _assert_consistent_on(sdk, image)  # the two instances it had: the killed release's probe is gone


def _killed_at_the_first_pause(digest: str, env: dict, sdk, *extra: str) -> str:
    """A shell release of the digest that pauses after its first batch, SIGKILLed there with its temporary Prefect
    server (from a shell the pause waits for a NotifyExecution that never comes); the paused OOS execution's id."""
    known = {e.execution_id for e in executions(sdk)}
    process = _release_in_its_own_session(digest, env, "--batch-pause", "FirstBatchPause", *extra)
    waiting = wait_until(
        lambda: [e for e in executions(sdk) if e.execution_id not in known and e.status == "Waiting"],
        timeout=180,
        what="the first batch to finish",
    )[0]
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    return waiting.execution_id


def _approved_to_its_end(sdk, execution_id: str) -> str:
    """Approve the paused execution, as a person in the console would once the release is gone; its final status."""
    sdk.oos.notify_execution(
        oos.NotifyExecutionRequest(region_id=REGION, execution_id=execution_id, notify_type="Approve")
    )
    return wait_until(
        lambda: next(
            (e.status for e in executions(sdk) if e.execution_id == execution_id and e.status in ("Success", "Failed")),
            None,
        ),
        timeout=120,
        what="the rollout to end",
    )


def test_sigkill_mid_rollout_is_rolled_back_by_recover(group_id, shell_env, sdk, control, local_cloud):
    before = active_configuration(sdk, group_by_name(sdk)).containers[0].image
    image = push_image(local_cloud, "killed-rollout", "killed mid rollout")
    waiting = _killed_at_the_first_pause(image.partition("@")[2], shell_env, sdk)  # a rollout caught half way

    code, result = _cli_json("recover", "--group", "ess-eci-test", env=shell_env)
    assert code == 0 and result["status"] == "recovered", result["message"]
    assert waiting in result["recovery"]["found"]
    _assert_consistent_on(sdk, before)


def test_a_release_that_died_before_its_rollout_failed_is_rolled_back_by_recover(
    group_id, shell_env, sdk, control, local_cloud
):
    before = active_configuration(sdk, group_by_name(sdk)).containers[0].image
    running = [i.instance_id for i in instances(sdk, group_id, "InService")]
    image = push_image(local_cloud, "died-before-failure", "died before its rollout failed")
    control.add_fault(kind="oos_child_failure", instance_id=running[1], times=1)  # the second batch's instance
    waiting = _killed_at_the_first_pause(image.partition("@")[2], shell_env, sdk)
    # The rollout goes on without the release, and fails in its second batch: the configuration and the InService
    # instance are on the new image, the failed one is left out of service. Its record still says rolling-out.
    assert _approved_to_its_end(sdk, waiting) == "Failed"
    assert [i.instance_id for i in instances(sdk, group_id, "InService")] == [running[0]]

    code, result = _cli_json("recover", "--group", "ess-eci-test", env=shell_env)
    assert code == 0 and result["status"] == "recovered", result["message"]
    assert f"its OOS execution {waiting} is Failed" in result["recovery"]["done"], result["recovery"]
    _assert_consistent_on(sdk, before, running)


def test_a_release_that_died_before_its_last_batch_was_health_checked_is_rolled_back_by_recover(
    group_id, shell_env, sdk, control, local_cloud
):
    before = active_configuration(sdk, group_by_name(sdk)).containers[0].image
    running = [i.instance_id for i in instances(sdk, group_id, "InService")]
    image = push_image(local_cloud, "died-before-health", "died before its last batch was checked")
    digest = image.partition("@")[2]
    # Healthy on the probe and on the first batch's instance; frozen (Running, answering nothing) on the second's.
    # (Each of them starts one container of the image: the probe first, then one an OOS batch.)
    control.add_fault(kind="unresponsive", image=digest, after=2)
    waiting = _killed_at_the_first_pause(digest, shell_env, sdk, "--health-timeout", "3")
    # The rollout goes on without the release and ends Success: every instance Running on the new image, the last
    # one answering nothing. Nobody checked it: the release died at the pause before its batch.
    assert _approved_to_its_end(sdk, waiting) == "Success"

    code, result = _cli_json("recover", "--group", "ess-eci-test", env=shell_env)
    assert code == 0 and result["status"] == "recovered", result["message"]
    # Checked as the release was asked to (its 3 s, not the 60 s default), and rolled back for it.
    assert "had not finished (health check http://" in result["recovery"]["done"], result["recovery"]
    assert "failed for 3 s" in result["recovery"]["done"], result["recovery"]
    _assert_consistent_on(sdk, before, running)


def test_a_release_that_died_once_its_rollout_ended_is_recorded_released(
    group_id, pipeline_env, sdk, control, local_cloud
):
    image = push_image(local_cloud, "died-after-rollout", "died once its rollout ended")
    env = {**os.environ, **pipeline_env, "PREFECT_API_URL": str(get_current_settings().api.url)}
    code, released = _release_again(image.partition("@")[2], env)
    assert code == 0 and released["status"] == "released", released["message"]
    # What a release that died right after its OOS execution ended leaves: the record in rolling-out (its last note,
    # written before the execution started) and the template's processes still suspended.
    ReleaseRecord.load(group_id).save(state="rolling-out", step="rolling-update")
    sdk.ess.suspend_processes(
        ess.SuspendProcessesRequest(region_id=REGION, scaling_group_id=group_id, processes=TEMPLATE_PROCESSES)
    )
    mark = control.audit_mark()

    code, result = _cli_json("recover", "--group", "ess-eci-test", env=env)
    assert code == 0 and result["status"] == "recovered", result["message"]
    assert "had finished" in result["recovery"]["done"], result["recovery"]
    assert control.mutating_calls(mark) == ["ResumeProcesses"]  # nothing rolled back
    assert ReleaseRecord.load(group_id).state == "released"
    _assert_consistent_on(sdk, image)


def test_recover_with_nothing_unfinished_changes_nothing(group_id, pipeline_env, control):
    mark = control.audit_mark()
    done = subprocess.run(
        [sys.executable, "-m", "deployments.cli", "recover", "--group", "ess-eci-test", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, **pipeline_env, "PREFECT_API_URL": str(get_current_settings().api.url)},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["status"] == "unchanged"
    assert control.mutating_calls(mark) == []

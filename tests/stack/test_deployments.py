"""The deployments of prefect.yaml on a real Prefect server (PostgreSQL) with two process workers, against
localcloud with Docker-backed instances. Every outcome is read back from the cloud."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone

import docker
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.sorting import ArtifactSort
from prefect.flow_runs import resume_flow_run
from prefect.states import Cancelling

from deployments.sample_app import stage_sample_app
from flows.group_lock import limit_name
from tasks.build import CACHE_LABEL
from tests.conftest import TEST_LATENCIES
from tests.stack.support import (
    TARGET,
    group_images,
    pinned,
    push_web_image,
    run_and_wait,
    served_pages,
    start_run,
    wait_run,
)
from tests.stack.webhooks import on_push_runs, pushed_events, wait_for_receiver_log
from tests.support.cloud_views import group_by_name, instances
from tests.support.consistency import inconsistencies
from tests.support.images import SEEDED_REPOSITORY


def _digest_release(digest: str) -> dict:
    return {"target": TARGET, "image": {"repository": SEEDED_REPOSITORY, "digest": digest}}


def _pipeline_mutations(control, since: int) -> list[tuple[str, str | None]]:
    """(action, image written) for each successful mutating call the pipeline made itself."""
    calls = []
    for entry in control.audit(since):
        if entry["mutating"] and entry["status"] == 200 and entry["caller"] == "api":
            containers = entry["params"].get("Container") or entry["params"].get("Containers") or []
            image = containers[0].get("Image") if containers and isinstance(containers[0], dict) else None
            calls.append((entry["action"], image))
    return calls


def _task_state_names(flow_run_id) -> dict[str, str]:
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return {run.name.rsplit("-", 1)[0]: run.state.name for run in runs}  # names are "<task>-<suffix>"


def _latest_report(group_name: str) -> str:
    with get_client(sync_client=True) as client:
        [artifact] = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[f"release-{group_name}"])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    return artifact.data


def test_release_deployment_from_a_source_ends_verified_on_the_new_digest(
    stack, fresh_group, stack_cloud, stack_sdk, tmp_path
):
    since = datetime.now(timezone.utc)
    version = f"v{uuid.uuid4().hex[:8]}"  # a tag the webhook rule releases, had anybody else pushed it
    context = stage_sample_app(version, tmp_path)
    run = run_and_wait(
        "release/release",
        target=TARGET,
        image={"repository": SEEDED_REPOSITORY, "tag": version},
        source={"context": str(context)},
    )
    assert run.state.is_completed(), run.state.message
    configured, running = group_images(stack_sdk)
    assert "@sha256:" in configured and running == [configured, configured]
    assert served_pages(stack_sdk, "/version.txt") == [version, version]
    assert "released" in _latest_report("ess-eci-test")
    # The registry told the receiver of the release's own push, which started nothing for it.
    wait_for_receiver_log(stack, f"pushed by the release run {run.id} itself")
    assert pushed_events(since) == [] and on_push_runs(since) == []


def test_nightly_rebuilds_only_when_the_tree_or_a_base_image_changed(
    stack, fresh_group, stack_cloud, stack_sdk, stack_control, tmp_path
):
    name = uuid.uuid4().hex[:8]
    base_tag, tag = f"base-{name}", f"nightly-{name}"
    push_web_image(stack_cloud, stack_sdk, base_tag, f"base one {name}")
    context = tmp_path / "app"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {stack_cloud.registry}/{SEEDED_REPOSITORY}:{base_tag}\nCOPY version.txt /www/version.txt\n"
    )
    (context / "version.txt").write_text(f"{name}\n")
    nightly = dict(target=TARGET, image={"repository": SEEDED_REPOSITORY, "tag": tag}, source={"context": str(context)})

    first = run_and_wait("release/nightly", **nightly)
    assert first.state.is_completed(), first.state.message
    configured_first, _ = group_images(stack_sdk)
    assert served_pages(stack_sdk) == [f"base one {name}"] * 2

    engine = docker.from_env()
    builds = len(engine.images.list(filters={"label": CACHE_LABEL}))
    mark = stack_control.audit_mark()
    second = run_and_wait("release/nightly", **nightly)
    assert second.state.is_completed(), second.state.message
    assert stack_control.mutating_calls(mark) == []
    assert _task_state_names(second.id)["build"] == "Cached"  # the UI shows the skipped build as a cache hit
    assert len(engine.images.list(filters={"label": CACHE_LABEL})) == builds  # nothing built
    assert group_images(stack_sdk)[0] == configured_first

    push_web_image(stack_cloud, stack_sdk, base_tag, f"base two {name}")  # the base tag moves
    third = run_and_wait("release/nightly", **nightly)
    assert third.state.is_completed(), third.state.message
    configured_third, running = group_images(stack_sdk)
    assert configured_third != configured_first and running == [configured_third] * 2
    assert served_pages(stack_sdk) == [f"base two {name}"] * 2


def test_two_runs_started_together_never_interleave_and_the_newer_ends_deployed(
    stack, fresh_group, stack_cloud, stack_sdk, stack_control
):
    older_digest = push_web_image(stack_cloud, stack_sdk, f"a-{uuid.uuid4().hex[:6]}", "older")
    newer_digest = push_web_image(stack_cloud, stack_sdk, f"b-{uuid.uuid4().hex[:6]}", "newer")
    mark = stack_control.audit_mark()
    older = start_run("release/release", **_digest_release(older_digest))
    newer = start_run("release/release", **_digest_release(newer_digest))
    older_run, newer_run = wait_run(older), wait_run(newer)

    assert newer_run.state.is_completed(), newer_run.state.message
    assert older_run.state.is_completed() or (
        older_run.state.is_cancelled() and newer_run.name in older_run.state.message
    ), older_run.state
    calls = _pipeline_mutations(stack_control, mark)
    writes = [image for action, image in calls if action == "ModifyEciScalingConfiguration"]
    expected_writes = [pinned(stack_cloud, newer_digest)]
    if older_run.state.is_completed():
        expected_writes.insert(0, pinned(stack_cloud, older_digest))
    assert writes == expected_writes
    # One release's calls, then the other's: never a write in the middle of another release.
    one_release = ["ModifyEciScalingConfiguration", "ScaleWithAdjustment", "RemoveInstances", "StartExecution"]
    one_release += ["NotifyExecution"]  # the health gate approves the second batch
    assert [action for action, _ in calls] == one_release * len(writes)
    assert group_images(stack_sdk) == (pinned(stack_cloud, newer_digest), [pinned(stack_cloud, newer_digest)] * 2)


def test_three_queued_runs_only_the_newest_deploys(stack, fresh_group, stack_cloud, stack_sdk, stack_control):
    digests = [push_web_image(stack_cloud, stack_sdk, f"q{n}-{uuid.uuid4().hex[:6]}", f"q{n}") for n in range(4)]
    group_id = group_by_name(stack_sdk).scaling_group_id
    stack_control.set_latencies(stay_up=4)  # the holder takes long enough for three runs to queue behind it
    try:
        mark = stack_control.audit_mark()
        holder = start_run("release/release", **_digest_release(digests[0]))
        _wait_until_held(group_id)
        queued = []
        for digest in digests[1:]:
            queued.append(start_run("release/release", **_digest_release(digest)))
            time.sleep(0.3)
        holder_run = wait_run(holder)
        first, second, newest = (wait_run(run_id) for run_id in queued)
    finally:
        stack_control.set_latencies(**TEST_LATENCIES.model_dump())

    assert holder_run.state.is_completed(), holder_run.state.message
    assert newest.state.is_completed(), newest.state.message
    for superseded in (first, second):
        assert superseded.state.is_cancelled(), superseded.state
        assert newest.name in superseded.state.message and "superseded" in superseded.state.message
    writes = [image for action, image in _pipeline_mutations(stack_control, mark) if action.startswith("Modify")]
    assert writes == [pinned(stack_cloud, digests[0]), pinned(stack_cloud, digests[3])]
    assert group_images(stack_sdk)[1] == [pinned(stack_cloud, digests[3])] * 2


def _wait_until_held(group_id: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            try:
                if client.read_global_concurrency_limit_by_name(limit_name(group_id)).active_slots == 1:
                    return
            except Exception:  # not created yet
                pass
            time.sleep(0.2)
    raise AssertionError(f"no run took the lock of {group_id} in {timeout} s")


def test_rollback_restores_the_previous_image_and_pins_the_group_against_nightly(
    stack, fresh_group, stack_cloud, stack_sdk, stack_control, tmp_path
):
    previous = push_web_image(stack_cloud, stack_sdk, f"prev-{uuid.uuid4().hex[:6]}", "previous")
    current = push_web_image(stack_cloud, stack_sdk, f"cur-{uuid.uuid4().hex[:6]}", "current")
    for digest in (previous, current):
        assert run_and_wait("release/release", **_digest_release(digest)).state.is_completed()

    back = run_and_wait("rollback/rollback", scaling_group="ess-eci-test")
    assert back.state.is_completed(), back.state.message
    assert group_images(stack_sdk) == (pinned(stack_cloud, previous), [pinned(stack_cloud, previous)] * 2)
    assert served_pages(stack_sdk) == ["previous", "previous"]
    assert "Pinned to" in _latest_report("ess-eci-test")

    mark = stack_control.audit_mark()
    context = stage_sample_app("pinned-nightly", tmp_path)
    nightly = run_and_wait(
        "release/nightly",
        target=TARGET,
        image={"repository": SEEDED_REPOSITORY, "tag": "pinned-nightly"},
        source={"context": str(context)},
    )
    assert nightly.state.is_completed(), nightly.state.message
    assert stack_control.mutating_calls(mark) == []
    assert group_images(stack_sdk)[0] == pinned(stack_cloud, previous)
    assert "is pinned to" in _latest_report("ess-eci-test")

    # A manual release lifts the pin.
    assert run_and_wait("release/release", **_digest_release(current)).state.is_completed()
    assert group_images(stack_sdk)[0] == pinned(stack_cloud, current)
    assert "Pinned to" not in _latest_report("ess-eci-test")


def test_a_paused_batch_waits_for_approval_in_prefect_and_goes_on_when_approved(
    stack, fresh_group, stack_cloud, stack_sdk
):
    digest = push_web_image(stack_cloud, stack_sdk, f"pause-{uuid.uuid4().hex[:6]}", "approved")
    run_id = start_run(
        "release/release",
        **_digest_release(digest),
        rollout={"batch_number": 2, "batch_pause": "FirstBatchPause"},
    )
    paused = _wait_for_state(run_id, "PAUSED")
    configured, running = group_images(stack_sdk)
    assert configured == pinned(stack_cloud, digest) and running.count(pinned(stack_cloud, digest)) == 1
    resume_flow_run(run_id, run_input={"approve": True, "note": "looks good"})
    done = wait_run(run_id)
    assert paused.state.name == "Paused" and done.state.is_completed(), done.state.message
    assert group_images(stack_sdk)[1] == [pinned(stack_cloud, digest)] * 2
    with get_client(sync_client=True) as client:
        [progress] = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[f"rollout-{_group_id(stack_sdk)}"])), limit=1
        )
    assert progress.data == 100.0 and "2 of 2 instances updated" in progress.description


def test_a_run_cancelled_from_prefect_mid_rollout_rolls_back_before_it_ends(stack, fresh_group, stack_cloud, stack_sdk):
    before = group_images(stack_sdk)[0]
    running = [i.instance_id for i in instances(stack_sdk, _group_id(stack_sdk), "InService")]
    digest = push_web_image(stack_cloud, stack_sdk, f"cancel-{uuid.uuid4().hex[:6]}", "cancelled")
    run_id = start_run(
        "release/release", **_digest_release(digest), rollout={"batch_number": 2, "batch_pause": "FirstBatchPause"}
    )
    _wait_for_state(run_id, "PAUSED")  # one instance updated, the other not: the rollout caught half way
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(run_id, Cancelling(message="cancelled from the UI"), force=True)
    done = wait_run(run_id)
    assert done.state.is_cancelled(), done.state
    assert inconsistencies(stack_sdk, before, 2, running) == []


def _group_id(sdk) -> str:
    return group_by_name(sdk).scaling_group_id


def _wait_for_state(flow_run_id, state_type: str, timeout: float = 120):
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            run = client.read_flow_run(flow_run_id)
            if run.state and run.state.type.value == state_type:
                return run
            assert not (run.state and run.state.is_final()), run.state
            time.sleep(0.3)
    raise AssertionError(f"flow run {flow_run_id} never reached {state_type}")

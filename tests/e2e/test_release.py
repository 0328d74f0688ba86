"""The release flow end to end: real Docker builds and pushes, the real registry, localcloud with
Docker-backed instances, Prefect. Each test starts from the seeded group."""

from __future__ import annotations

import pytest
from alibabacloud_ess20220222 import models as ess

from flows.parameters import ImageSpec, RolloutSpec, SourceSpec, TargetSpec
from flows.release import ReleaseFailed, release
from tasks.models import ImageRef
from tests.e2e.conftest import REPOSITORY
from tests.support.cloud_views import active_configuration, container_groups, group_by_name, instances, wait_activity
from tests.support.consistency import inconsistencies
from tests.support.http import page
from tests.support.images import push_image

TARGET = TargetSpec(scaling_group="ess-eci-test", container="nginx")


def _release_source(context, tag: str, **rollout):
    return release(
        target=TARGET,
        image=ImageSpec(repository=REPOSITORY, tag=tag),
        source=SourceSpec(context=str(context)),
        rollout=RolloutSpec(**rollout),
    )


def _served_versions(sdk) -> list[str]:
    ids = [i.instance_id for i in instances(sdk, group_by_name(sdk).scaling_group_id, "InService")]
    return sorted(page(g.intranet_ip, path="/version.txt").strip() for g in container_groups(sdk, ids))


def test_first_release_changed_tree_and_scale_out(seeded, pipeline_env, sdk, stage, run_id):
    running = [i.instance_id for i in instances(sdk, group_by_name(sdk).scaling_group_id, "InService")]
    first = _release_source(stage("v1"), "v1")
    assert first.status == "released", first.message
    assert first.image.digest and first.image.pinned.endswith(first.image.digest)
    assert _served_versions(sdk) == [f"v1-{run_id}"] * 2
    assert active_configuration(sdk, group_by_name(sdk)).containers[0].image == first.image.pinned
    assert first.verification.scaled_out and first.verification.probe_image == first.image.pinned
    assert first.verification.probe_health.startswith("HTTP 200")
    assert set(first.timings) == {"build", "publish", "update-scaling-config", "probe", "rolling-update", "verify"}
    assert "build" not in first.skipped and first.execution_id.startswith("exec-")
    # The timeline: each stage in order, and the cloud's own work as the cloud reports it.
    assert [s.name for s in first.timeline if s.kind == "pipeline"] == list(first.timings)
    cloud = {s.name for s in first.timeline if s.kind == "cloud"}
    assert {f"OOS {first.execution_id}", *(f"update {i}" for i in running)} <= cloud
    assert any(name.startswith("probe scale-out asa-") for name in cloud)

    second = _release_source(stage("v2"), "v2")
    assert second.status == "released", second.message
    assert second.image.digest != first.image.digest
    assert second.config_before == first.image.pinned and second.config_after == second.image.pinned
    assert _served_versions(sdk) == [f"v2-{run_id}"] * 2
    # The probe instance was removed: the group is back to its two instances.
    assert len(instances(sdk, group_by_name(sdk).scaling_group_id)) == 2

    # A scale-out after the run starts an instance on the new digest.
    group = group_by_name(sdk)
    started = sdk.ess.scale_with_adjustment(
        ess.ScaleWithAdjustmentRequest(
            scaling_group_id=group.scaling_group_id, adjustment_type="QuantityChangeInCapacity", adjustment_value=1
        )
    )
    activity = wait_activity(sdk, started.body.scaling_activity_id)
    [new_group] = container_groups(sdk, activity.created_instances)
    assert new_group.containers[0].image == second.image.pinned
    assert page(new_group.intranet_ip, path="/version.txt").strip() == f"v2-{run_id}"


def test_unchanged_rerun_builds_pushes_and_writes_nothing(seeded, pipeline_env, sdk, control, stage, run_id):
    context = stage("same")
    first = _release_source(context, "same")
    assert first.status == "released", first.message
    mark = control.audit_mark()
    rerun = _release_source(context, "same")
    assert rerun.status == "unchanged", rerun.message
    assert rerun.image == first.image
    assert {"build", "publish", "update-scaling-config", "probe", "rolling-update"} <= set(rerun.skipped)
    assert control.mutating_calls(mark) == []
    assert _served_versions(sdk) == [f"same-{run_id}"] * 2


def test_release_of_an_existing_digest_skips_build_and_publish(seeded, pipeline_env, sdk, local_cloud):
    existing = ImageRef.parse_pinned(push_image(local_cloud, "existing", "an existing image"))
    result = release(target=TARGET, image=ImageSpec(repository=REPOSITORY, digest=existing.digest))
    assert result.status == "released", result.message
    assert result.image.pinned == existing.pinned
    assert "build" in result.skipped and "publish" in result.skipped and "build" not in result.timings
    assert inconsistencies(sdk, existing.pinned, 2) == []


def test_failed_rollout_is_rolled_back_to_the_snapshot(seeded, pipeline_env, sdk, control, local_cloud):
    running = [i.instance_id for i in instances(sdk, group_by_name(sdk).scaling_group_id)]
    configuration_before = active_configuration(sdk, group_by_name(sdk)).to_map()["Containers"]
    bad = ImageRef.parse_pinned(push_image(local_cloud, "bad", "fails in OOS"))
    control.add_fault(kind="oos_child_failure", times=1)
    with pytest.raises(ReleaseFailed) as failed:
        release(target=TARGET, image=ImageSpec(repository=REPOSITORY, digest=bad.digest))
    result = failed.value.result
    assert result.status == "rolled_back"
    assert "rolled back" in result.message and result.rollback.complete
    assert result.rollback.execution_status == "Success"
    assert active_configuration(sdk, group_by_name(sdk)).to_map()["Containers"] == configuration_before
    assert inconsistencies(sdk, seeded["seed_image"], 2, running) == []
    assert result.config_after == seeded["seed_image"]


def test_an_image_failing_its_health_check_on_the_probe_never_reaches_the_running_instances(
    seeded, pipeline_env, sdk, control, stage
):
    running = [i.instance_id for i in instances(sdk, group_by_name(sdk).scaling_group_id)]
    mark = control.audit_mark()
    with pytest.raises(ReleaseFailed) as failed:
        _release_source(stage("unhealthy"), "unhealthy", health_path="/missing", health_timeout_seconds=3)
    result = failed.value.result
    assert result.status == "rolled_back", result.message
    assert "health check" in result.message and "/missing" in result.message
    # OOS never ran: the running instances are the same ones, never updated; the probe is gone.
    assert "StartExecution" not in control.mutating_calls(mark)
    assert inconsistencies(sdk, seeded["seed_image"], 2, running) == []


def test_an_unhealthy_first_batch_stops_the_rollout_before_the_second(seeded, pipeline_env, sdk, control, local_cloud):
    running = [i.instance_id for i in instances(sdk, group_by_name(sdk).scaling_group_id)]
    breaks = ImageRef.parse_pinned(push_image(local_cloud, "breaks", "healthy only on the probe"))
    # Healthy on the probe; frozen (Running, answering nothing) on the instance the first batch updates.
    control.add_fault(kind="unresponsive", image=breaks.digest, after=1)
    mark = control.audit_mark()
    with pytest.raises(ReleaseFailed) as failed:
        release(
            target=TARGET,
            image=ImageSpec(repository=REPOSITORY, digest=breaks.digest),
            rollout=RolloutSpec(batch_number=2, health_timeout_seconds=3),
        )
    result = failed.value.result
    assert result.status == "rolled_back", result.message
    assert "health gate stopped the rollout after batch 1" in result.message
    notified = [e for e in control.audit(mark) if e["action"] == "NotifyExecution" and e["status"] == 200]
    assert [e["params"]["NotifyType"] for e in notified] == ["Reject"]  # the second batch never got an Approve
    assert inconsistencies(sdk, seeded["seed_image"], 2, running) == []


def test_release_rides_out_throttling_and_server_errors(seeded, pipeline_env, sdk, control, stage, run_id):
    control.add_fault(kind="throttle", rate=0.2, times=6, retry_after_ms=50)
    control.add_fault(kind="server_error", status=503, rate=0.1, times=3)
    result = _release_source(stage("bumpy"), "bumpy")
    assert result.status == "released", result.message
    hits = sum(rule["hits"] for rule in control.faults())
    assert hits > 0  # the faults really fired
    control.clear_faults()  # the checks below use the plain SDK, which does not retry
    assert _served_versions(sdk) == [f"bumpy-{run_id}"] * 2

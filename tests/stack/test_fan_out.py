"""A fan-out on the running stack, as a person starts it: `eci-release release` with a canary and two more groups,
against the stack's Prefect server, whose workers run each group's release as a run of the release deployment. One
group's probe comes up on the old image; that group alone rolls back. Judged by each group read back through the
SDKs, and by the calls localcloud saw."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.sorting import ArtifactSort

from tasks.rate_limits import limit_name, prefix
from tests.conftest import scenario_loaded
from tests.stack.support import pinned, push_web_image
from tests.support.cloud_views import active_configuration, container_groups, group_by_name, instances
from tests.support.images import SEEDED_REPOSITORY

GROUPS = ["fan-a", "fan-b", "fan-c"]
WRITE = "ess:ModifyEciScalingConfiguration"
WRITE_RATE = 1.0  # one configuration write a second, across every worker


@pytest.fixture
def three_groups(stack, stack_control):
    scenario = {"scaling_groups": [{"name": name, "configuration_name": f"{name}-config"} for name in GROUPS]}
    for loaded in scenario_loaded(stack_control, scenario):
        yield {group["name"]: group["id"] for group in loaded["scaling_groups"]}, loaded["seed_image"]
    with get_client(sync_client=True) as client:  # the later tests' calls go unlimited again
        for limit in client.read_global_concurrency_limits(limit=200):
            if limit.name.startswith(prefix() + "-"):
                client.delete_global_concurrency_limit_by_name(limit.name)


def _images(sdk, name: str) -> tuple[str, list[str]]:
    group = group_by_name(sdk, name)
    configured = active_configuration(sdk, group).containers[0].image
    ids = [i.instance_id for i in instances(sdk, group.scaling_group_id, "InService")]
    return configured, sorted(g.containers[0].image for g in container_groups(sdk, ids))


def test_a_canary_then_two_groups_each_in_its_own_release_run_and_only_the_failing_group_rolls_back(
    stack, three_groups, stack_cloud, stack_sdk, stack_control, tmp_path
):
    ids, seed_image = three_groups
    digest = push_web_image(stack_cloud, stack_sdk, f"fan-{uuid.uuid4().hex[:6]}", "fanned out")
    stack_control.add_fault(kind="launch_image", scaling_group_id=ids["fan-b"], image=seed_image)
    with get_client(sync_client=True) as client:  # the fan-out creates the others; this one it leaves as it is
        client.create_global_concurrency_limit(
            GlobalConcurrencyLimitCreate(name=limit_name(WRITE), limit=1, slot_decay_per_second=WRITE_RATE)
        )
    mark = stack_control.audit_mark()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ECI_RELEASE_", "ALIBABA_CLOUD_"))}
    done = subprocess.run(
        [sys.executable, "-m", "deployments.cli", "release", "--canary", "fan-a", "--group", "fan-b"]
        + ["--group", "fan-c", "--container", "nginx", "--repository", SEEDED_REPOSITORY, "--digest", digest]
        + ["--credentials-block", "localcloud", "--registry-block", "localcloud", "--json"],
        capture_output=True,
        text=True,
        env={**env, "PREFECT_API_URL": stack["api_url"], "PREFECT_HOME": str(tmp_path / "home"), "DO_NOT_TRACK": "1"},
        timeout=300,
    )
    assert done.returncode == 1, done.stderr[-3000:]  # one group did not release
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert [(g["group"], g["status"]) for g in result["groups"]] == [
        ("fan-a", "released"),
        ("fan-b", "rolled_back"),
        ("fan-c", "released"),
    ], result
    assert "probe instance" in result["groups"][1]["message"]

    new = pinned(stack_cloud, digest)
    assert _images(stack_sdk, "fan-a") == (new, [new, new])
    assert _images(stack_sdk, "fan-c") == (new, [new, new])
    assert _images(stack_sdk, "fan-b") == (seed_image, [seed_image, seed_image])

    run_ids = [g["flow_run_id"] for g in result["groups"]]
    with get_client(sync_client=True) as client:
        release_deployment = client.read_deployment_by_name("release/release").id
        runs = {
            str(r.id): r for r in client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=run_ids)))
        }
        [report] = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["fan-out"])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
        client.read_deployment_by_name("fan-out/fan-out")  # deployed from prefect.yaml too
    canary, *rest = (runs[run_id] for run_id in run_ids)
    for run in (canary, *rest):  # each group's release is a run of the release deployment, a subflow of the fan-out
        assert run.deployment_id == release_deployment and run.parent_task_run_id is not None
    assert all(run.created >= canary.end_time for run in rest)  # the others started once the canary had released
    assert all(f"| {name} | cn-hangzhou |" in report.data for name in GROUPS)

    # The configuration writes (one per group, then fan-b's rollback) went out one per slot of their shared limit,
    # whichever worker made them.
    writes = sorted(
        entry["time"]
        for entry in stack_control.audit(mark)
        if entry["action"] == "ModifyEciScalingConfiguration" and entry["caller"] == "api" and entry["status"] == 200
    )
    assert len(writes) == 4
    assert min(later - earlier for earlier, later in zip(writes, writes[1:])) >= 0.8 / WRITE_RATE

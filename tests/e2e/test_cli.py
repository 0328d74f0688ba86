"""`eci-release` from a shell, as a user runs it."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid

from tests.e2e.conftest import REPOSITORY
from tests.support.cloud_views import active_configuration, container_groups, group_by_name, instances
from tests.support.images import push_image


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "deployments.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=600,
    )


def test_release_an_existing_tag_with_json_output(seeded, pipeline_env, sdk):
    group = group_by_name(sdk)
    flags = ("--group", "ess-eci-test", "--container", "nginx", "--repository", REPOSITORY, "--tag", "seed")
    done = _cli("release", *flags, "--batch-number", "1", "--json", env=pipeline_env)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["status"] == "released"
    assert result["skipped"]["build"] == "an existing image was given"
    assert active_configuration(sdk, group).containers[0].image == result["image"]["registry"] + "/" + (
        f"{REPOSITORY}@{result['image']['digest']}"
    )


def test_bad_arguments_fail_with_a_clear_message(pipeline_env):
    done = _cli(
        "release",
        "--group",
        "ess-eci-test",
        "--container",
        "nginx",
        "--repository",
        "BAD",
        "--tag",
        "v1",
        env=pipeline_env,
    )
    assert done.returncode == 2
    assert "must be namespace/name" in done.stderr


def test_unknown_group_exits_non_zero_and_says_why_in_one_line(seeded, pipeline_env, tmp_path):
    done = _cli(
        "release",
        "--group",
        "no-such-group",
        "--container",
        "nginx",
        "--repository",
        REPOSITORY,
        "--tag",
        "seed",
        "--json",
        env={**pipeline_env, "PREFECT_HOME": str(tmp_path)},
    )
    message = "no scaling group 'no-such-group' in region cn-hangzhou: check the name or id and the region"
    assert done.returncode == 1
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"status": "failed", "message": message}
    # One line on the terminal, no traceback (--debug shows it: tests/unit/test_console.py) ...
    assert "Traceback" not in done.stderr, done.stderr
    assert [line for line in done.stderr.splitlines() if line.startswith("eci-release:")] == [f"eci-release: {message}"]
    assert all(line[:1] not in (" ", "\t") for line in done.stderr.splitlines()), done.stderr  # no stack lines
    # ... while what Prefect sent to its server, the run's logs, keeps it.
    with sqlite3.connect(tmp_path / "prefect.db") as db:
        logs = [text for (text,) in db.execute("SELECT message FROM log")]
    failed = [text for text in logs if text.startswith("Encountered exception during execution")]
    assert failed and "Traceback (most recent call last)" in failed[0] and "no-such-group" in failed[0]


def test_demo_releases_v1_then_v2_and_verifies(pipeline_env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ALIBABA_CLOUD_", "ECI_RELEASE_", "PREFECT_"))}
    done = subprocess.run(
        [sys.executable, "-m", "deployments.cli", "demo", "--json"],
        capture_output=True,
        text=True,
        env=clean,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["verified"] is True
    assert {version for _, version in outcome["served"].values()} == {"v2"}
    assert outcome["releases"]["v2"]["verification"]["scaled_out"] is True


def test_two_releases_to_one_group_from_two_shells_never_interleave(seeded, pipeline_env, local_cloud, sdk, control):
    older, newer = (push_image(local_cloud, f"shell-{n}-{uuid.uuid4().hex[:6]}", f"shell {n}") for n in (1, 2))
    mark = control.audit_mark()
    shells = []
    for image in (older, newer):
        shells.append(
            subprocess.Popen(
                [sys.executable, "-m", "deployments.cli", "release", "--group", "ess-eci-test", "--container"]
                + ["nginx", "--repository", REPOSITORY, "--digest", image.partition("@")[2], "--json"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, **pipeline_env},
            )
        )
        time.sleep(0.5)
    outcomes = [json.loads(shell.communicate(timeout=600)[0].strip().splitlines()[-1]) for shell in shells]

    # Which of the two is the newer request is decided by when each shell's run was created (each shell first
    # starts a temporary Prefect server, so the second shell can get there first). Either both release, one
    # after the other, or the older one is superseded; never both at once.
    released = [o for o in outcomes if o["status"] == "released"]
    superseded = [o for o in outcomes if o["status"] == "cancelled" and "superseded" in o["message"]]
    assert len(released) + len(superseded) == 2 and released, outcomes
    entries = [e for e in control.audit(mark) if e["mutating"] and e["status"] == 200 and e["caller"] == "api"]
    one_release = ["ModifyEciScalingConfiguration", "ScaleWithAdjustment", "RemoveInstances", "StartExecution"]
    one_release += ["NotifyExecution"]  # the health gate approves the second batch
    assert [e["action"] for e in entries] == one_release * len(released)  # one release's calls, then the other's
    last_written = [e for e in entries if e["action"] == "ModifyEciScalingConfiguration"][-1]
    group = group_by_name(sdk)
    configured = active_configuration(sdk, group).containers[0].image
    assert configured in (older, newer) and configured == _written_image(last_written)
    in_service = [i.instance_id for i in instances(sdk, group.scaling_group_id, "InService")]
    assert {g.containers[0].image for g in container_groups(sdk, in_service)} == {configured}


def _written_image(entry: dict) -> str:
    containers = entry["params"].get("Container") or entry["params"].get("Containers")
    return containers[0]["Image"]

"""`eci-release` from a shell, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.e2e.conftest import REPOSITORY
from tests.support.cloud_views import active_configuration, group_by_name


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
    done = _cli(
        "release",
        "--group",
        "ess-eci-test",
        "--container",
        "nginx",
        "--repository",
        REPOSITORY,
        "--tag",
        "seed",
        "--batch-number",
        "1",
        "--json",
        env=pipeline_env,
    )
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


def test_unknown_group_exits_non_zero_and_says_why(seeded, pipeline_env):
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
        env=pipeline_env,
    )
    assert done.returncode == 1
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "status": "failed",
        "message": "no scaling group 'no-such-group' in region cn-hangzhou: check the name or id and the region",
    }


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

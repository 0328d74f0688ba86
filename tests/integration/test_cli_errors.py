"""An expected failure of `eci-release release` is one line on the terminal naming its cause; the traceback
is in the run's logs in the Prefect server (tests/unit/test_console.py shows it on the terminal with --debug)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alibabacloud_cr20181201 import models as cr

from localcloud import LocalCloud
from tests.conftest import TEST_LATENCIES
from tests.support.sdk import SdkClients

NO_CONTAINER = "the active configuration of ess-eci-test has no container 'no-such-container'"


@pytest.fixture(scope="module")
def cloud_env(tmp_path_factory, _no_proxy_for_loopback) -> dict[str, str]:
    """A localcloud with simulated instances, and the variables a user would set to point the CLI at it; no
    Prefect server named, so each run starts its own temporary one (its database under PREFECT_HOME)."""
    with LocalCloud(
        instances="simulated", state_dir=tmp_path_factory.mktemp("cloud"), latencies=TEST_LATENCIES.model_copy()
    ) as cloud:
        info = cloud.info
        instance = SdkClients.for_cloud(info).cr.list_instance(cr.ListInstanceRequest()).body.instances[0]
        ours = ("ALIBABA_CLOUD_", "ECI_RELEASE_", "PREFECT_")
        clean = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
        yield {
            **clean,
            "ALIBABA_CLOUD_ACCESS_KEY_ID": info.access_key_id,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": info.access_key_secret,
            "ALIBABA_CLOUD_REGION_ID": info.region_id,
            "ECI_RELEASE_ENDPOINT": f"http://{info.endpoint}",
            "ECI_RELEASE_REGISTRY_HOST": info.registry,
            "ECI_RELEASE_ACR_INSTANCE_ID": instance.instance_id,
        }


def _release_to_a_missing_container(env: dict[str, str], home: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "deployments.cli", "release", "--group", "ess-eci-test"]
        + ["--container", "no-such-container", "--repository", "eci/app", "--tag", "seed"],
        capture_output=True,
        text=True,
        env={**env, "PREFECT_HOME": str(home)},
        timeout=300,
    )


def _run_logs(home: Path) -> list[str]:
    with sqlite3.connect(home / "prefect.db") as db:
        return [message for (message,) in db.execute("SELECT message FROM log")]


def test_a_failure_before_any_build_is_one_line_and_its_traceback_is_in_the_run_logs(cloud_env, tmp_path):
    done = _release_to_a_missing_container(cloud_env, tmp_path)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    ours = [line for line in done.stderr.splitlines() if line.startswith("eci-release:")]
    assert len(ours) == 1 and ours[0].startswith(f"eci-release: {NO_CONTAINER}"), done.stderr
    assert all(line[:1] not in (" ", "\t") for line in done.stderr.splitlines()), done.stderr  # no stack lines
    # What Prefect sent to its server, the run's logs, keeps the traceback.
    failed = [m for m in _run_logs(tmp_path) if m.startswith("Encountered exception during execution")]
    assert failed and "Traceback (most recent call last)" in failed[0] and NO_CONTAINER in failed[0]

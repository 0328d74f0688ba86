"""The local stack as a person starts it (`eci-release up`), here on PostgreSQL with two workers: a real Prefect
server, real workers running the deployments of prefect.yaml, a real localcloud. Tests talk to it only through
the Prefect API and the Alibaba SDKs, and judge by the cloud's state read back."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings

from localcloud import LocalCloudInfo
from localcloud.control_client import ControlClient
from tests.support.requirements import require_docker
from tests.support.sdk import SdkClients

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def stack():
    require_docker()
    # Not under pytest's own temporary directory: that is closed to the postgres user the server runs as.
    state_dir = Path(tempfile.mkdtemp(prefix="eci-release-stack-"))
    state_dir.chmod(0o711)  # enterable, not listable
    process = subprocess.Popen(
        [sys.executable, "-m", "deployments.cli", "up", "--json", "--database", "postgresql", "--workers", "2"]
        + ["--state-dir", str(state_dir)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=(state_dir / "up.log").open("w"),
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")},
    )
    line = process.stdout.readline()
    if not line:
        process.wait()
        pytest.fail(f"eci-release up did not start: {(state_dir / 'up.log').read_text()[-3000:]}")
    info = json.loads(line)
    assert "api_url" in info, info
    with temporary_settings(updates={PREFECT_API_URL: info["api_url"]}):
        yield info
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
    assert process.returncode == 0, (state_dir / "up.log").read_text()[-3000:]
    shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def stack_cloud(stack) -> LocalCloudInfo:
    return LocalCloudInfo(**stack["localcloud"])


@pytest.fixture(scope="session")
def stack_sdk(stack_cloud) -> SdkClients:
    return SdkClients.for_cloud(stack_cloud)


@pytest.fixture(scope="session")
def stack_control(stack_cloud) -> ControlClient:
    return ControlClient(stack_cloud.control_url)


@pytest.fixture
def fresh_group(stack_control):
    """The seeded scenario loaded anew (a new group id, so no record or pin from another test)."""
    stack_control.clear_faults()
    stack_control.load_scenario()
    return stack_control

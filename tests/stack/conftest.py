"""The local stack as a person starts it (`eci-release up`), here on PostgreSQL with two workers: a real Prefect
server, real workers running the deployments of prefect.yaml, a real localcloud. Tests talk to it only through
the Prefect API and the Alibaba SDKs, and judge by the cloud's state read back."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings

from deployments.stack_process import StackProcess
from localcloud import LocalCloudInfo
from localcloud.control_client import ControlClient
from tests.conftest import scenario_loaded
from tests.support.requirements import require_docker
from tests.support.sdk import SdkClients


@pytest.fixture(scope="session")
def stack():
    require_docker()
    # Not under pytest's own temporary directory: that is closed to the postgres user the server runs as.
    state_dir = Path(tempfile.mkdtemp(prefix="eci-release-stack-"))
    state_dir.chmod(0o711)  # enterable, not listable
    try:
        running = StackProcess.start(state_dir, database="postgresql", workers=2)
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    with temporary_settings(updates={PREFECT_API_URL: running.info["api_url"]}):
        yield running.info
    assert running.stop() == 0, running.log_path.read_text()[-3000:]
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
def fresh_group(stack_control) -> Iterator[dict]:
    """The seeded scenario loaded anew (a new group id, so no record or pin from another test), with the suite's
    fast latencies."""
    yield from scenario_loaded(stack_control)

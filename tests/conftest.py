"""Shared fixtures: two localclouds per test session, one with Docker-backed instances and one with simulated
instances, the scenario reloaded per test.

``local_cloud`` (and ``control``, ``sdk``, ``seeded`` on top of it) is the Docker-backed one, unless a test is
parametrized indirectly with the runtime it needs (``"docker"`` or ``"simulated"``), as the contract and
integration tests are (tests/support/runtimes.py)."""

from __future__ import annotations

import logging
import os
from typing import Iterator

import pytest
from prefect.testing.utilities import prefect_test_harness

from localcloud import LocalCloud
from localcloud.control_client import ControlClient
from localcloud.timing import Latencies
from tests.support.canary import LogRecords, record_issued_tokens
from tests.support.requirements import require_docker, require_registry_binary
from tests.support.runtimes import MARKER as RUNTIMES_MARKER
from tests.support.sdk import SdkClients

# Fast but not instant: every state (Pending, Updating, ...) is still observable for a moment.
TEST_LATENCIES = Latencies(
    instance_schedule=0.1,
    image_pull=0.0,
    container_start=0.0,
    stay_up=0.3,
    instance_release=0.05,
    activity_overhead=0.05,
    oos_wait_delay=0.1,
    oos_task_overhead=0.0,
)
# A freshly loaded scenario's instances come up with no waiting at all; the tests' latencies apply once it is loaded.
SEEDING_LATENCIES = Latencies(**dict.fromkeys(Latencies.model_fields, 0.0))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", RUNTIMES_MARKER)


@pytest.fixture(scope="session", autouse=True)
def _no_proxy_for_loopback():
    """The SDK sends even loopback calls through HTTP(S)_PROXY and ignores NO_PROXY."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        os.environ.pop(name, None)


@pytest.fixture(scope="session", autouse=True)
def log_records():
    """Every log record of the session, for the secret canary (tests/e2e/test_secrets.py)."""
    recording = LogRecords()
    logging.getLogger().addHandler(recording)  # Prefect's loggers propagate to the root logger too
    logging.getLogger("eci_release").setLevel(logging.DEBUG)  # the pipeline's own records, every level
    yield recording.texts
    logging.getLogger().removeHandler(recording)


@pytest.fixture(scope="session")
def prefect_harness():
    """One Prefect test server for the session, for whatever a test runs that talks to Prefect."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    with prefect_test_harness(server_startup_timeout=120):
        yield


def _started_cloud(instances: str) -> Iterator[LocalCloud]:
    require_registry_binary()
    with LocalCloud(instances=instances, latencies=TEST_LATENCIES.model_copy()) as cloud:
        cloud.issued_tokens = record_issued_tokens(cloud)
        yield cloud


@pytest.fixture(scope="session")
def docker_cloud(_no_proxy_for_loopback) -> Iterator[LocalCloud]:
    require_docker()
    yield from _started_cloud("docker")


@pytest.fixture(scope="session")
def simulated_cloud(_no_proxy_for_loopback) -> Iterator[LocalCloud]:
    yield from _started_cloud("simulated")


@pytest.fixture(scope="session")
def local_cloud(request) -> LocalCloud:
    """The session's Docker-backed localcloud, or the one its (indirect) parameter names."""
    return request.getfixturevalue(f"{getattr(request, 'param', 'docker')}_cloud")


@pytest.fixture(scope="session")
def control(local_cloud) -> ControlClient:
    return ControlClient(local_cloud.info.control_url)


def scenario_loaded(control: ControlClient, scenario: dict | None = None) -> Iterator[dict]:
    """For a fixture: the scenario (the default one when None) loaded fresh, with no faults and the test
    latencies; its faults cleared afterwards."""
    control.clear_faults()
    control.set_latencies(**SEEDING_LATENCIES.model_dump())
    loaded = control.load_scenario(scenario)
    control.set_latencies(**TEST_LATENCIES.model_dump())
    yield loaded
    control.clear_faults()


@pytest.fixture
def seeded(local_cloud, control) -> Iterator[dict]:
    """The default scenario, loaded fresh for this test, with no faults and the test latencies."""
    yield from scenario_loaded(control)


@pytest.fixture(scope="session")
def sdk(local_cloud) -> SdkClients:
    return SdkClients.for_cloud(local_cloud.info)

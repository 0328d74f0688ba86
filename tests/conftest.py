"""Shared fixtures: one localcloud with Docker-backed instances per test session, reset per test."""

from __future__ import annotations

import logging
import os

import pytest
from prefect.testing.utilities import prefect_test_harness

from localcloud import LocalCloud
from localcloud.control_client import ControlClient
from localcloud.timing import Latencies
from tests.support.canary import LogRecords, record_issued_tokens
from tests.support.requirements import require_docker
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


@pytest.fixture(scope="session")
def local_cloud(_no_proxy_for_loopback):
    require_docker()
    with LocalCloud(instances="docker", latencies=TEST_LATENCIES.model_copy()) as cloud:
        cloud.issued_tokens = record_issued_tokens(cloud)
        yield cloud


@pytest.fixture(scope="session")
def control(local_cloud) -> ControlClient:
    return ControlClient(local_cloud.info.control_url)


@pytest.fixture
def seeded(local_cloud, control) -> dict:
    """The default scenario, loaded fresh for this test, with no faults and the test latencies."""
    control.clear_faults()
    control.set_latencies(**TEST_LATENCIES.model_dump())
    seeded = control.load_scenario()
    yield seeded
    control.clear_faults()


@pytest.fixture(scope="session")
def sdk(local_cloud) -> SdkClients:
    return SdkClients.for_cloud(local_cloud.info)

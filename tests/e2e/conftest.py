"""End-to-end fixtures: the pipeline pointed at the session's localcloud through the environment, as a user
would (the Prefect test harness is in tests/conftest.py)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from deployments.local_cloud_target import pipeline_environment
from deployments.sample_app import stage_sample_app
from localcloud import LocalCloud
from tests.support.images import SEEDED_REPOSITORY

REPOSITORY = SEEDED_REPOSITORY


@pytest.fixture(scope="session")
def pipeline_env(local_cloud, prefect_harness):
    """The standard variables pointing the pipeline at localcloud; restored afterwards."""
    values = pipeline_environment(local_cloud.info.model_dump())
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    yield values
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def on_simulated_cloud(simulated_cloud, prefect_harness, monkeypatch) -> LocalCloud:
    """The pipeline pointed at the session's simulated localcloud, for this test only (for tests about the
    pipeline, not the containers)."""
    for name, value in pipeline_environment(simulated_cloud.info.model_dump()).items():
        monkeypatch.setenv(name, value)
    return simulated_cloud


@pytest.fixture(scope="session")
def run_id() -> str:
    """Unique per session, so the first build of a version is a real build even on a machine that ran the suite
    before (the build cache lives in the Docker engine)."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def stage(tmp_path: Path, run_id: str):
    def staged(version: str) -> Path:
        return stage_sample_app(f"{version}-{run_id}", tmp_path / version)

    return staged

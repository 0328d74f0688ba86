"""Secrets stay out of what Prefect stores, on the failure paths too."""

from __future__ import annotations

import asyncio
import pickle
import uuid

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.settings import PREFECT_RESULTS_LOCAL_STORAGE_PATH, temporary_settings

from flows.parameters import ImageSpec, TargetSpec
from flows.release import release
from tasks.publish import PublishFailed
from tests.e2e.conftest import REPOSITORY
from tests.support.canary import files_holding_secret, holds_secret


async def _task_run_states(flow_run_id):
    async with get_client() as client:
        runs = await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
        return [run.state for run in runs]


def test_a_refused_registry_login_leaves_the_password_nowhere(seeded, pipeline_env, control, monkeypatch, tmp_path):
    password = f"canary-{uuid.uuid4().hex}"
    monkeypatch.setenv("ECI_RELEASE_REGISTRY_USERNAME", "canary-user")
    monkeypatch.setenv("ECI_RELEASE_REGISTRY_PASSWORD", password)
    storage = tmp_path / "storage"
    mark = control.audit_mark()
    with temporary_settings(updates={PREFECT_RESULTS_LOCAL_STORAGE_PATH: storage}):
        final = release(
            target=TargetSpec(scaling_group="ess-eci-test", container="nginx"),
            image=ImageSpec(repository=REPOSITORY, tag="seed"),
            return_state=True,
        )
    assert final.is_failed()
    error = final.result(raise_on_failure=False)
    assert not holds_secret(pickle.dumps(error), password)
    assert not storage.exists() or files_holding_secret(storage, password) == []
    for state in asyncio.run(_task_run_states(final.state_details.flow_run_id)):
        stored = state.result(raise_on_failure=False) if state.is_failed() else None
        assert stored is None or not holds_secret(pickle.dumps(stored), password)
    # The failure still says what went wrong, in words.
    assert isinstance(error, PublishFailed) and "registry check of" in str(error), error
    assert "authentication required" in str(error)
    assert control.mutating_calls(mark) == []

"""Secrets stay out of everything Prefect stores, on the failure paths too: a registry that refuses the login,
when deploying an existing tag and when building on a base image from that registry. And the suite's own canary:
after the end-to-end runs before it (releases, rollbacks, bad input, credentials), none of the session's secrets
is in a log record, a run, a result, an artifact, a variable, the database or a file under the Prefect home."""

from __future__ import annotations

import asyncio
import pickle
import uuid
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowRunFilter,
    FlowRunFilterId,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.settings import PREFECT_RESULTS_LOCAL_STORAGE_PATH, get_current_settings, temporary_settings

from flows.parameters import ImageSpec, SourceSpec, TargetSpec
from flows.release import release
from tests.e2e.conftest import REPOSITORY
from tests.support.canary import files_holding_secret, holds_secret, secrets_in
from tests.support.images import push_image


async def _stored_by_prefect(flow_run_id) -> list[bytes]:
    """What the Prefect server keeps about a run: logs, flow and task run states and parameters, artifacts,
    and every variable."""
    async with get_client() as client:
        logs = await client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
        run = await client.read_flow_run(flow_run_id)
        tasks = await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
        variables = await client.read_variables()
    return [
        *(log.model_dump_json().encode() for log in logs),
        run.model_dump_json().encode(),
        *(task.model_dump_json().encode() for task in tasks),
        *(artifact.model_dump_json().encode() for artifact in artifacts),
        *(variable.model_dump_json().encode() for variable in variables),
    ]


def _database_file() -> Path:
    url = get_current_settings().server.database.connection_url.get_secret_value()
    return Path(url.split(":///", 1)[1])


def _context_on_our_registry(context: Path, registry: str) -> str:
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {registry}/{REPOSITORY}:seed\nCOPY page.txt /www/page.txt\n")
    (context / "page.txt").write_text("built on the seed image\n")
    return str(context)


@pytest.mark.parametrize("path", ["deploy-a-tag", "build-on-a-base"])
def test_a_refused_registry_login_leaves_the_password_nowhere(
    seeded, pipeline_env, control, monkeypatch, tmp_path, path
):
    password = f"canary-{uuid.uuid4().hex}"
    monkeypatch.setenv("ECI_RELEASE_REGISTRY_USERNAME", "canary-user")
    monkeypatch.setenv("ECI_RELEASE_REGISTRY_PASSWORD", password)
    source = None
    if path == "build-on-a-base":
        registry = pipeline_env["ECI_RELEASE_REGISTRY_HOST"]
        source = SourceSpec(context=_context_on_our_registry(tmp_path / "app", registry))
    storage = tmp_path / "storage"
    mark = control.audit_mark()
    with temporary_settings(updates={PREFECT_RESULTS_LOCAL_STORAGE_PATH: storage}):
        final = release(
            target=TargetSpec(scaling_group="ess-eci-test", container="nginx"),
            image=ImageSpec(repository=REPOSITORY, tag="seed" if source is None else f"canary-{path}"),
            source=source,
            return_state=True,
        )
    assert final.is_failed()
    error = final.result(raise_on_failure=False)
    assert not holds_secret(pickle.dumps(error), password)
    assert not storage.exists() or files_holding_secret(storage, password) == []
    stored = asyncio.run(_stored_by_prefect(final.state_details.flow_run_id))
    assert [blob[:300] for blob in stored if holds_secret(blob, password)] == []
    assert not holds_secret(_database_file().read_bytes(), password)
    # The failure still says what went wrong, in words.
    assert "authentication required" in str(error) or "unauthorized" in str(error).lower(), error
    assert control.mutating_calls(mark) == []


async def _every_run_stored() -> list[bytes]:
    runs, page = [], 200
    async with get_client() as client:
        while batch := await client.read_flow_runs(limit=page, offset=len(runs)):
            runs += batch
    stored = []
    for run in runs:
        stored += await _stored_by_prefect(run.id)
    return stored


def test_no_secret_of_the_session_is_anywhere_the_suites_runs_left_something(
    seeded, local_cloud, pipeline_env, log_records, tmp_path
):
    # A release of its own first, so that the success path is looked at even when this test runs alone.
    digest = push_image(local_cloud, f"canary-{uuid.uuid4().hex[:6]}", "canary").rpartition("@")[2]
    storage = tmp_path / "storage"
    with temporary_settings(updates={PREFECT_RESULTS_LOCAL_STORAGE_PATH: storage}):
        released = release(
            target=TargetSpec(scaling_group="ess-eci-test", container="nginx"),
            image=ImageSpec(repository=REPOSITORY, digest=digest),
        )
    assert released.status == "released", released.message
    assert not storage.exists() or list(storage.iterdir()) == []  # no task persisted what it returned
    secrets = {"registry admin password": local_cloud.cloud.registry.admin_auth()["password"]}
    for key in local_cloud.cloud.access_keys.values():  # the AccessKeys and every STS key AssumeRole handed out
        secrets[f"secret of {key.access_key_id}"] = key.access_key_secret
        if key.security_token:
            secrets[f"security token of {key.access_key_id}"] = key.security_token
    secrets |= {f"ACR temporary token {n}": token for n, token in enumerate(local_cloud.issued_tokens)}
    assert local_cloud.issued_tokens, "the releases logged in with ACR temporary tokens"
    stored = asyncio.run(_every_run_stored())
    assert len(stored) > 20, "the runs left logs, runs and artifacts to look through"
    assert log_records, "the session's log records are looked at"
    settings = get_current_settings()
    database = _database_file()
    places = {
        "the Prefect database": [path.read_bytes() for path in database.parent.glob(database.name + "*")],  # -wal
        "the Prefect API (logs, runs, task runs, artifacts, variables)": stored,
        "log records": [text.encode() for text in log_records],
    }
    home_files = [path for path in Path(settings.home).rglob("*") if path.is_file()]
    places["files under the Prefect home"] = [path.read_bytes() for path in home_files]
    names = {secret: name for name, secret in secrets.items()}
    found = sorted(
        f"{names[secret]} in {where}"
        for where, blobs in places.items()
        for blob in blobs
        for secret in secrets_in(blob, list(secrets.values()))
    )
    assert found == []

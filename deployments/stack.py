"""``eci-release up``: the whole pipeline on one machine, as a person uses it from the Prefect UI.

It starts localcloud, a Prefect server (SQLite, or a PostgreSQL server of its own as a team would run), saves
the blocks that point at localcloud, creates the process work pool (its job command hands each run to the zygote,
``deployments/zygote.py``, which forks it already imported), deploys ``prefect.yaml`` and starts the zygote and the
workers.
When everything answers it prints one JSON line, and it runs until SIGINT or SIGTERM, then stops what it
started, newest first.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from alibabacloud_cr20181201 import models as cr
from prefect.settings import PREFECT_API_URL, temporary_settings

from blocks.credentials import AlibabaCloudCredentials, ProductEndpoints
from blocks.registry import AcrRegistry
from deployments.local_cloud_process import LocalCloudProcess
from deployments.postgres import start_postgres
from deployments.processes import Children, free_port, wait_http_ok, write_private_file
from deployments.sample_app import stage_sample_app
from deployments.webhook.tokens import new_token
from deployments.work_pool import create_work_pool, start_zygote

REPO_ROOT = Path(__file__).resolve().parents[1]
WORK_POOL = "eci-release"
BLOCK_NAME = "localcloud"
DEPLOYMENTS = ["release/release", "release/nightly", "release/on-push", "rollback/rollback", "fan-out/fan-out"]
SEEDED_REPOSITORY = ("ess_eci_test_namespace", "ess_eci_test_repo")


def _prefect(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "prefect"), *args]


def _prefect_environment(state_dir: Path, api_url: str) -> dict[str, str]:
    home = state_dir / "prefect-home"
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)  # result storage and the database live here: not for other users' eyes
    return {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api_url,
        "PREFECT_UI_API_URL": api_url,
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
    }


def save_local_blocks(cloud: LocalCloudProcess) -> None:
    """The credentials and registry blocks for localcloud, as a team would save theirs for the real cloud."""
    endpoint = f"http://{cloud.info['endpoint']}"
    credentials = AlibabaCloudCredentials(
        access_key_id=cloud.info["access_key_id"],
        access_key_secret=cloud.info["access_key_secret"],
        region_id=cloud.info["region_id"],
        endpoints=ProductEndpoints(ess=endpoint, eci=endpoint, oos=endpoint, cr=endpoint),
    )
    credentials.save(BLOCK_NAME, overwrite=True)
    instance = credentials.get_cr_client().list_instance(cr.ListInstanceRequest()).body.instances[0]
    namespace, repository = SEEDED_REPOSITORY
    AcrRegistry(
        edition="enterprise",
        instance_id=instance.instance_id,
        instance_name=instance.instance_name,
        region_id=cloud.info["region_id"],
        registry_host=cloud.info["registry"],
        namespace=namespace,
        repository=repository,
    ).save(BLOCK_NAME, overwrite=True)


def _run(command: list[str], env: dict[str, str], what: str, cwd: Path | None = None) -> None:
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed: {(done.stdout + done.stderr).strip()[-2000:]}")


def run_stack(state_dir: Path, database: str, instances: str, workers: int, as_json: bool) -> int:
    state_dir = state_dir.resolve()
    (state_dir / "logs").mkdir(parents=True, exist_ok=True)
    children = Children(state_dir / "logs")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    # The registry is told where the receiver will listen before either starts; it retries until it answers.
    webhook_port, webhook_token = free_port(), new_token()
    tokens_file = write_private_file(state_dir / "webhook-tokens", webhook_token + "\n")
    webhook_url = f"http://127.0.0.1:{webhook_port}"
    cloud = LocalCloudProcess.start(
        state_dir / "cloud", instances=instances, notify=(f"{webhook_url}/registry", f"Bearer {webhook_token}")
    )
    try:
        port = free_port()
        api_url = f"http://127.0.0.1:{port}/api"
        env = _prefect_environment(state_dir, api_url)
        database_url = (
            start_postgres(children, state_dir / "postgresql")
            if database == "postgresql"
            else f"sqlite+aiosqlite:///{Path(env['PREFECT_HOME']) / 'prefect.db'}"  # inside the private home
        )
        server = children.start(
            "prefect-server",
            _prefect("server", "start", "--host", "127.0.0.1", "--port", str(port)),
            env={**env, "PREFECT_API_DATABASE_CONNECTION_URL": database_url},
        )
        wait_http_ok(f"{api_url}/health", 180, server, "the Prefect server")
        with temporary_settings(updates={PREFECT_API_URL: api_url}):  # this process saves the blocks there too
            save_local_blocks(cloud)
        create_work_pool(WORK_POOL, env)
        nightly_source = stage_sample_app("nightly", state_dir / "nightly-source")
        _run(
            _prefect("--no-prompt", "deploy", "--all"),
            {**env, "ECI_RELEASE_NIGHTLY_CONTEXT": str(nightly_source)},
            "prefect deploy --all",
            cwd=REPO_ROOT,
        )
        # Started before the workers, so stopped after them: a worker stopping still hands its runs' signals on.
        worker_env = start_zygote(children, state_dir / "zygote.sock", env)
        for number in range(1, workers + 1):
            children.start(
                f"worker-{number}",
                _prefect("worker", "start", "--pool", WORK_POOL, "--name", f"eci-release-worker-{number}"),
                env=worker_env,
                cwd=REPO_ROOT,
            )
        webhook = children.start(
            "webhook",
            [
                str(Path(sys.executable).parent / "eci-release"),
                *("webhook", "--port", str(webhook_port), "--rules", str(REPO_ROOT / "webhook-rules.yaml")),
                *("--tokens-file", str(tokens_file), "--json"),
            ],
            env=env,
        )
        wait_http_ok(f"{webhook_url}/health", 60, webhook, "the webhook receiver")
        ready_line = next(line for line in children.log_tail("webhook", 1_000).splitlines() if line.startswith("{"))
        receiver = json.loads(ready_line)  # the receiver's --json line: its URL and paths
        info = {
            "api_url": api_url,
            "ui_url": api_url.removesuffix("/api"),
            "work_pool": WORK_POOL,
            "workers": workers,
            "deployments": DEPLOYMENTS,
            "blocks": {"credentials": BLOCK_NAME, "registry": BLOCK_NAME},
            "database": database,
            "logs": str(state_dir / "logs"),
            "webhook_url": receiver["url"],
            "webhook_paths": receiver["paths"],
            "webhook_token": webhook_token,
            "webhook_tokens_file": str(tokens_file),
            "localcloud": cloud.info,
        }
        if as_json:
            print(json.dumps(info), flush=True)
        else:
            print(f"Prefect UI: {info['ui_url']}  (API {api_url})", flush=True)
            print(f"deployments: {', '.join(DEPLOYMENTS)} on work pool {WORK_POOL}", flush=True)
            print(f"webhook receiver: {webhook_url}/registry (the registry notifies it), {webhook_url}/acr", flush=True)
            print("Ctrl-C stops everything", flush=True)
        while not stop.wait(1):
            if exited := children.exited():
                print(f"eci-release up: {', '.join(exited)} exited; see {state_dir / 'logs'}", file=sys.stderr)
                return 1
        return 0
    except Exception as error:
        print(f"eci-release up: {error}", file=sys.stderr)
        if as_json:
            print(json.dumps({"status": "failed", "message": str(error)}), flush=True)
        return 1
    finally:
        children.stop_all()
        cloud.stop()

"""Flow runs of the stack's work pool go through its job command, the launcher: handed to the zygote, each is still a
process of its own, with the job's environment, and SIGTERM to the launcher (what the worker sends to cancel) reaches
it; with no zygote listening the launcher runs the engine itself."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.states import Pending

from deployments.launch import SOCKET_VARIABLE
from tests.stack.support import wait_run
from tests.support.waiting import wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
JOB_VARIABLE = {"ZYGOTE_PROBE_VARIABLE": "from-the-job"}


@pytest.fixture(scope="module")
def probe_deployment(stack):
    """The probe flow deployed on the stack's work pool, with a job environment variable."""
    with get_client(sync_client=True) as client:
        return client.create_deployment(
            flow_id=client.create_flow_from_name("zygote-probe"),
            name="zygote-probe",
            entrypoint="tests/stack/zygote_probe.py:zygote_probe",
            work_pool_name=stack["work_pool"],
            pull_steps=[{"prefect.deployments.steps.set_working_directory": {"directory": str(REPO_ROOT)}}],
            job_variables={"env": JOB_VARIABLE},
        )


def _report(path: Path, entries: int, timeout: float = 90) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= entries:
            return [json.loads(line) for line in lines]
        time.sleep(0.1)
    raise AssertionError(f"the probe wrote {path.read_text() if path.exists() else 'nothing'}")


def _pids(fragment: str, flow_run_id: str | None = None) -> list[int]:
    """The processes whose command line holds ``fragment`` (and, when given, whose environment names the run)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            environment = (entry / "environ").read_bytes().split(b"\0") if flow_run_id else []
        except (OSError, ValueError):
            continue
        if fragment in command and (not flow_run_id or f"PREFECT__FLOW_RUN_ID={flow_run_id}".encode() in environment):
            found.append(int(entry.name))
    return found


def test_a_run_forked_by_the_zygote_is_its_own_process_with_the_job_environment_and_gets_the_launchers_sigterm(
    stack, probe_deployment, tmp_path
):
    report = tmp_path / "report"
    with get_client(sync_client=True) as client:
        run = client.create_flow_run_from_deployment(
            probe_deployment, parameters={"report": str(report), "wait_seconds": 120}
        )
    [started] = _report(report, 1)
    [launcher] = _pids("deployments.launch", str(run.id))
    zygote_processes = _pids(str(Path(stack["logs"]).parent / "zygote.sock"))  # the zygote and its forked runs
    assert (started["flow_run_id"], started["job_variable"]) == (str(run.id), "from-the-job")
    assert started["ppid"] in zygote_processes and started["pid"] in zygote_processes
    assert launcher not in (started["pid"], started["ppid"])

    os.kill(launcher, signal.SIGTERM)
    assert _report(report, 2)[1] == {"stopped_by": "TerminationSignal"}
    assert wait_run(run.id, timeout=60).state.is_final()
    # The run's process ends a moment after its final state, and its launcher then: the launcher is gone soon after.
    wait_until(lambda: not _pids("deployments.launch", str(run.id)), timeout=30, what="the launcher to end")


def test_without_a_zygote_the_launcher_runs_the_engine_itself(stack, probe_deployment, tmp_path):
    report = tmp_path / "report"
    with get_client(sync_client=True) as client:  # Pending: no worker takes it; the launcher below runs it
        run = client.create_flow_run_from_deployment(
            probe_deployment, parameters={"report": str(report)}, state=Pending()
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    launcher = subprocess.run(
        [sys.executable, "-m", "deployments.launch"],
        env={
            **env,
            **JOB_VARIABLE,
            "PREFECT_API_URL": stack["api_url"],
            "PREFECT_HOME": str(tmp_path / "home"),
            "PREFECT__FLOW_RUN_ID": str(run.id),
            SOCKET_VARIABLE: str(tmp_path / "no-zygote.sock"),
        },
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert launcher.returncode == 0, launcher.stderr[-3000:]
    [ran] = _report(report, 1)
    assert ran["flow_run_id"] == str(run.id) and ran["job_variable"] == "from-the-job"
    assert ran["ppid"] == os.getpid()  # the launcher became the engine: the process this test started
    assert wait_run(run.id, timeout=30).state.is_completed()


def test_a_run_is_stopped_when_its_zygote_dies(stack, probe_deployment, tmp_path):
    # A zygote of this test's own (the stack's serves the other tests), killed while its forked run waits: the run is
    # told to stop (SIGTERM: a release rolls back) rather than going on unseen while its launcher reports it ended.
    socket_path = tmp_path / "zygote.sock"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env |= {"PREFECT_API_URL": stack["api_url"], "PREFECT_HOME": str(tmp_path / "home")}
    zygote = subprocess.Popen(
        [sys.executable, "-m", "deployments.zygote", "--socket", str(socket_path)], env=env, cwd=REPO_ROOT
    )
    launcher = started = None
    try:
        deadline = time.monotonic() + 60
        while not socket_path.exists():
            assert zygote.poll() is None and time.monotonic() < deadline, "the zygote did not listen"
            time.sleep(0.1)
        report = tmp_path / "report"
        with get_client(sync_client=True) as client:  # Pending: no worker takes it; the launcher below runs it
            run = client.create_flow_run_from_deployment(
                probe_deployment, parameters={"report": str(report), "wait_seconds": 120}, state=Pending()
            )
        launcher = subprocess.Popen(
            [sys.executable, "-m", "deployments.launch"],
            env={**env, **JOB_VARIABLE, "PREFECT__FLOW_RUN_ID": str(run.id), SOCKET_VARIABLE: str(socket_path)},
            cwd=tmp_path,
        )
        [started] = _report(report, 1)
        assert started["ppid"] == zygote.pid  # forked by this zygote
        zygote.kill()
        assert _report(report, 2)[1] == {"stopped_by": "TerminationSignal"}
        assert launcher.wait(timeout=60) != 0  # it says the run did not end well
    finally:
        for process in (launcher, zygote):
            if process is not None and process.poll() is None:
                process.kill()
        if started:  # the forked run, should it have outlived its zygote
            try:
                os.kill(started["pid"], signal.SIGKILL)
            except ProcessLookupError:
                pass

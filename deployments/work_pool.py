"""The process work pool whose job command is the launcher (``deployments/launch.py``), and the zygote that a machine's
workers hand their runs to: what ``eci-release up`` and the benchmark start, so both run flow runs the same way."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from deployments.launch import SOCKET_VARIABLE
from deployments.processes import Children

REPO_ROOT = Path(__file__).resolve().parents[1]
ZYGOTE_READY_SECONDS = 120


def launcher_job_template() -> dict:
    """The process worker's default job template, with the launcher as the default command (a deployment or a run
    may still set its own). The launcher runs on this interpreter: a worker on another machine needs it at the same
    path, as it needs the flows' checkout there."""
    from prefect.workers.process import ProcessWorker

    template = ProcessWorker.get_default_base_job_template()
    command = template["variables"]["properties"]["command"]
    command["default"] = f"{sys.executable} -m deployments.launch"
    command["description"] = (
        "The flow run's command. The default hands the run to the machine's zygote (a process that has imported "
        "the flows once and forks each run) and starts `python -m prefect.engine` itself when none listens."
    )
    return template


def create_work_pool(name: str, env: dict[str, str]) -> None:
    """Create (or overwrite) the process work pool ``name`` with the launcher as its job command."""
    with tempfile.NamedTemporaryFile("w", suffix=".json") as template:
        json.dump(launcher_job_template(), template)
        template.flush()
        done = subprocess.run(
            [str(Path(sys.executable).parent / "prefect"), "work-pool", "create", name, "--type", "process"]
            + ["--base-job-template", template.name, "--overwrite"],
            env=env,
            capture_output=True,
            text=True,
        )
    if done.returncode != 0:
        raise RuntimeError(f"creating the work pool {name} failed: {(done.stdout + done.stderr).strip()[-2000:]}")


def start_zygote(children: Children, socket_path: Path, env: dict[str, str]) -> dict[str, str]:
    """Start the zygote and wait until it listens; returns ``env`` with the socket the workers' runs look for."""
    zygote = children.start(
        "zygote",
        [sys.executable, "-m", "deployments.zygote", "--socket", str(socket_path)],
        env=env,
        cwd=REPO_ROOT,
    )
    deadline = time.monotonic() + ZYGOTE_READY_SECONDS
    while not socket_path.exists():
        if zygote.poll() is not None:
            raise RuntimeError(f"the zygote exited with status {zygote.returncode}: {children.log_tail('zygote')}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the zygote did not listen on {socket_path} within {ZYGOTE_READY_SECONDS} s")
        time.sleep(0.1)
    return {**env, SOCKET_VARIABLE: str(socket_path)}

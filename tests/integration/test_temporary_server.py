"""A command run from a shell (no PREFECT_API_URL) runs on a temporary Prefect server of its own; killed with
SIGKILL, it leaves none behind: the server's guard stops it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from tests.support.waiting import wait_until


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"  # a zombie has ended; only its parent (gone) would have reaped it


def _processes_on(home: Path) -> dict[str, int]:
    """The temporary server and its guard among the processes whose PREFECT_HOME is ``home``, by kind."""
    marker = f"PREFECT_HOME={home}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker in (entry / "environ").read_bytes().split(b"\0"):
                command = (entry / "cmdline").read_bytes()
                if b"uvicorn" in command:
                    found["server"] = int(entry.name)
                elif b"deployments.server_guard" in command:
                    found["guard"] = int(entry.name)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            pass
    return found


def test_a_shell_release_killed_with_sigkill_leaves_no_prefect_server_behind(tmp_path, _no_proxy_for_loopback):
    # A cloud endpoint that takes connections and never answers: the release waits on its first call, changing
    # nothing, for as long as the test needs.
    frozen = socket.socket()
    frozen.bind(("127.0.0.1", 0))
    frozen.listen(16)
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ECI_RELEASE_", "ALIBABA_CLOUD_"))}
    env |= {
        "PREFECT_HOME": str(home),
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAI5tNobodyAnswers",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "not-a-secret",
        "DO_NOT_TRACK": "1",
    }
    release = subprocess.Popen(
        [sys.executable, "-m", "deployments.cli", "release", "--group", "web", "--container", "web"]
        + ["--repository", "team/app", "--digest", "sha256:" + "a" * 64]
        + ["--endpoint", f"http://127.0.0.1:{frozen.getsockname()[1]}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    found = {}
    try:
        found = wait_until(
            lambda: (on := _processes_on(home)).keys() >= {"server", "guard"} and on,
            timeout=120,
            what="the temporary Prefect server and its guard",
        )
        release.send_signal(signal.SIGKILL)  # the command alone: no atexit, no group signal
        release.wait(timeout=30)

        wait_until(lambda: not _running(found["server"]), timeout=30, what="the temporary server to stop")
        wait_until(lambda: not _running(found["guard"]), timeout=30, what="the guard to end")
    finally:
        release.kill()
        for pid in found.values():  # whatever the outcome, nothing of this test lives on
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
        frozen.close()

"""Child processes of the local stack: started with their logs in files, waited for, stopped in reverse order;
and the private files (passwords, tokens) they are given."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_private_file(path: Path, text: str) -> Path:
    """Write ``text`` to a file only its owner can read, from the first byte on."""
    path.unlink(missing_ok=True)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
        file.write(text)
    return path


class Children:
    """Processes started for the stack, stopped newest first (a worker before the server it talks to)."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self._started: list[tuple[str, subprocess.Popen]] = []

    def start(
        self, name: str, command: list[str], env: dict[str, str], cwd: Path | None = None, user: str | None = None
    ) -> subprocess.Popen:
        log = (self.log_dir / f"{name}.log").open("w")
        process = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, user=user
        )
        self._started.append((name, process))
        return process

    def log_tail(self, name: str, lines: int = 20) -> str:
        path = self.log_dir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def exited(self) -> list[str]:
        return [name for name, process in self._started if process.poll() is not None]

    def stop_all(self) -> None:
        for _, process in reversed(self._started):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self._started.clear()


def wait_http_ok(url: str, timeout: float, process: subprocess.Popen, what: str) -> None:
    session = requests.Session()
    session.trust_env = False  # loopback: never through a proxy
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode} before it was ready")
        try:
            if session.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{what} did not answer {url} within {timeout:.0f} s")

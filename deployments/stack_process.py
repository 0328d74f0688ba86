"""Running ``eci-release up`` as a child process, through its command-line contract only: start it, read its
one JSON line, stop it with SIGTERM. For tests and benchmarks that use the stack as a person would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


class StackProcess:
    def __init__(self, process: subprocess.Popen, info: dict, log_path: Path):
        self.process = process
        self.info = info
        self.log_path = log_path

    @classmethod
    def start(cls, state_dir: Path, *, database: str = "sqlite", workers: int = 1) -> "StackProcess":
        log_path = state_dir / "up.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "deployments.cli", "up", "--json", "--database", database]
            + ["--workers", str(workers), "--state-dir", str(state_dir)],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=log_path.open("w"),
            text=True,
            # The stack chooses its own Prefect home and API; settings of the caller's must not leak in.
            env={k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")},
        )
        line = process.stdout.readline()
        info = json.loads(line) if line else {}
        if "api_url" not in info:
            process.wait()
            raise RuntimeError(f"eci-release up did not start: {info or log_path.read_text()[-3000:]}")
        return cls(process, info, log_path)

    def stop(self) -> int:
        """SIGTERM, as a person's Ctrl-C; returns the exit status."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

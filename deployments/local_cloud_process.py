"""Running ``localcloud serve`` as a child process, through its command-line contract only (product code does
not import localcloud): start it, read its one JSON line, stop it with SIGTERM."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


class LocalCloudProcess:
    def __init__(self, process: subprocess.Popen, info: dict):
        self.process = process
        self.info = info

    @classmethod
    def start(
        cls, state_dir: Path, instances: str = "docker", notify: tuple[str, str] | None = None
    ) -> "LocalCloudProcess":
        """Start it; its log goes to ``state_dir/localcloud.log`` (a pipe nobody reads would fill and block it).
        With ``notify`` (URL, Authorization header), its registry sends push events there."""
        state_dir.mkdir(parents=True, exist_ok=True)
        log_path = state_dir / "localcloud.log"
        command = [sys.executable, "-m", "localcloud", "serve", "--instances", instances, "--state-dir", str(state_dir)]
        env = dict(os.environ)
        if notify is not None:
            command += ["--notify", notify[0]]
            env["LOCALCLOUD_NOTIFY_AUTHORIZATION"] = notify[1]
        process = subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log_path.open("w"),
            text=True,
        )
        line = process.stdout.readline()
        if not line:
            process.wait()
            raise RuntimeError(f"localcloud did not start: {log_path.read_text().strip()[-2000:]}")
        return cls(process, json.loads(line))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()

"""Running distribution's ``docker-registry`` (Debian's name; upstream calls the binary ``registry``)."""

from __future__ import annotations

import atexit
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests

STARTUP_TIMEOUT = 15.0  # seconds


class RegistryStartError(Exception):
    pass


def find_registry_binary() -> str:
    binary = shutil.which("docker-registry") or shutil.which("registry")
    if binary is None:
        raise RegistryStartError(
            "no docker-registry binary on PATH: install the Debian package docker-registry "
            "(apt-get install docker-registry) or put distribution's `registry` binary on PATH"
        )
    return binary


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Notifications:
    """Where the registry sends its events (distribution's ``notifications.endpoints``): manifest pushes and
    deletes, as the real registry sends them, with this ``Authorization`` header. The registry retries an event
    until the endpoint answers 2xx or 3xx, so an endpoint that is down gets the events once it is up."""

    url: str
    authorization: str

    def config(self) -> dict:
        return {
            "endpoints": [
                {
                    "name": "notify",
                    "url": self.url,
                    "headers": {"Authorization": [self.authorization]},
                    "timeout": "5s",
                    "threshold": 3,
                    "backoff": "1s",
                    # Blob uploads and pulls say nothing about a new image: only manifests go out.
                    "ignore": {"mediatypes": ["application/octet-stream"], "actions": ["pull"]},
                }
            ]
        }


def write_config(work_dir: Path, address: str, htpasswd: Path, notifications: Notifications | None = None) -> Path:
    """The registry's config. YAML is a superset of JSON, so JSON it is."""
    config = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(work_dir / "storage")}, "delete": {"enabled": True}},
        # A random secret silences the "no HTTP secret" warning; upload state never outlives the process.
        "http": {"addr": address, "secret": secrets.token_hex(16)},
        "auth": {"htpasswd": {"realm": "localcloud-registry", "path": str(htpasswd)}},
    }
    if notifications is not None:
        config["notifications"] = notifications.config()
    path = work_dir / "config.yml"
    path.unlink(missing_ok=True)
    # Readable by its owner only from the first byte: it holds the HTTP secret and the notification token.
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
        file.write(json.dumps(config, indent=1))
    return path


class RegistryProcess:
    def __init__(self, process: subprocess.Popen[bytes], address: str, log_path: Path) -> None:
        self.process = process
        self.address = address
        self.log_path = log_path

    @classmethod
    def start(
        cls, work_dir: Path, host: str, htpasswd: Path, notifications: Notifications | None = None
    ) -> "RegistryProcess":
        address = f"{host}:{free_port(host)}"
        config = write_config(work_dir, address, htpasswd, notifications)
        log_path = work_dir / "registry.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [find_registry_binary(), "serve", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        started = cls(process, address, log_path)
        atexit.register(started.stop)  # a localcloud that exits without stopping leaves no registry behind
        try:
            started._wait_until_serving()
        except BaseException:
            started.stop()
            raise
        return started

    def _wait_until_serving(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        with requests.Session() as probe:
            probe.trust_env = False  # loopback: never through a proxy
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RegistryStartError(
                        f"docker-registry exited with code {self.process.returncode} while starting on "
                        f"{self.address}; its log ({self.log_path}) ends with:\n{self._log_tail()}"
                    )
                try:
                    # 401 is fine: it answers, and it wants the credentials it should want.
                    if probe.get(f"http://{self.address}/v2/", timeout=1).status_code in (200, 401):
                        return
                except requests.ConnectionError:
                    pass
                time.sleep(0.05)
        raise RegistryStartError(
            f"docker-registry did not answer on {self.address} within {STARTUP_TIMEOUT:.0f} s; "
            f"its log ({self.log_path}) ends with:\n{self._log_tail()}"
        )

    def _log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

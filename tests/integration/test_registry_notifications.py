"""The registry localcloud starts tells an endpoint about pushes, as distribution's registry does
(``notifications.endpoints``): one envelope per manifest push with the tag and digest, the configured
Authorization header, nothing for blob uploads or pulls, and events held back and retried while the endpoint
refuses them."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from localcloud.registry.seed_image import http_image
from localcloud.registry.service import Notifications, Registry
from tests.support.requirements import require_registry_binary


class _Endpoint:
    """A notification endpoint on loopback that records what it gets and answers ``status``."""

    def __init__(self) -> None:
        self.received: list[tuple[dict, dict]] = []
        self.status = 200
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if endpoint.status == 200:
                    endpoint.received.append((dict(self.headers), body))
                self.send_response(endpoint.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/registry"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 15) -> list[tuple[dict, dict]]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} notification(s) in {timeout} s, not {count}"
            time.sleep(0.05)
        return self.received


@pytest.fixture
def endpoint():
    started = _Endpoint()
    yield started
    started.server.shutdown()


@pytest.fixture
def notifying_registry(tmp_path, endpoint):
    require_registry_binary()
    registry = Registry.start(tmp_path / "registry", notifications=Notifications(endpoint.url, "Bearer s3cret-token"))
    yield registry
    registry.stop()


def test_each_manifest_push_is_one_envelope_with_its_tag_digest_and_the_header(notifying_registry, endpoint, tmp_path):
    layers, config = http_image("notified")
    digest = notifying_registry.push_image("team/web", "v1", layers, config)
    [(headers, envelope)] = endpoint.wait_for(1)
    assert headers["Authorization"] == "Bearer s3cret-token"
    assert headers["Content-Type"] == "application/vnd.docker.distribution.events.v1+json"
    [event] = envelope["events"]
    assert event["action"] == "push"
    assert (event["target"]["repository"], event["target"]["tag"], event["target"]["digest"]) == (
        "team/web",
        "v1",
        digest,
    )
    # Reading the image back (a pull) and the blob uploads before the manifest sent nothing more.
    assert notifying_registry.manifest("team/web", "v1").digest == digest
    time.sleep(1)
    assert len(endpoint.received) == 1
    config_file = tmp_path / "registry" / "config.yml"
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600  # it holds the token


def test_a_refusing_endpoint_gets_the_event_again_once_it_accepts(notifying_registry, endpoint):
    endpoint.status = 503
    layers, config = http_image("retried")
    digest = notifying_registry.push_image("team/web", "v2", layers, config)
    time.sleep(1.5)
    assert endpoint.received == []
    endpoint.status = 200
    [(_, envelope)] = endpoint.wait_for(1)
    assert envelope["events"][0]["target"]["digest"] == digest


def test_serve_with_notify_but_no_header_says_so_in_one_line():
    environment = {key: value for key, value in os.environ.items() if key != "LOCALCLOUD_NOTIFY_AUTHORIZATION"}
    done = subprocess.run(
        [sys.executable, "-m", "localcloud", "serve", "--notify", "http://127.0.0.1:9/registry"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "localcloud: --notify needs $LOCALCLOUD_NOTIFY_AUTHORIZATION (e.g. 'Bearer <token>')"
    ]

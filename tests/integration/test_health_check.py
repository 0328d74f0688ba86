"""The HTTP health check against real servers on loopback: a 5xx is a failure however often it answers, a server
that recovers within the time is healthy, a gate over many instances stops at the first that fails."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tasks.models import ConfigSnapshot, HealthCheck, InstanceState, ScalingGroupRef
from tasks.verify import HealthGate, VerificationFailed, check_health


@pytest.fixture
def server():
    """Answers each GET with the next status of ``server.statuses`` (the last one from then on)."""
    statuses: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(statuses.pop(0) if len(statuses) > 1 else statuses[0])
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    running = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    running.statuses = statuses
    threading.Thread(target=running.serve_forever, daemon=True).start()
    yield running
    running.shutdown()


def test_a_server_answering_500_fails_the_health_check(server):
    server.statuses[:] = [500]
    with pytest.raises(VerificationFailed, match="last: HTTP 500"):
        check_health("127.0.0.1", server.server_address[1], "/healthz", timeout=2)


def test_a_server_that_recovers_in_time_is_healthy(server):
    server.statuses[:] = [503, 503, 200]
    assert check_health("127.0.0.1", server.server_address[1], "/", timeout=10).startswith("HTTP 200")


@pytest.fixture
def frozen_port():
    """A port that takes connections and never answers them (a frozen process): every check runs to its end."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    yield listener.getsockname()[1]
    listener.close()


def test_a_gate_over_many_instances_stops_at_the_first_failure(frozen_port):
    group = ScalingGroupRef(
        scaling_group_id="asg-1",
        scaling_group_name="web",
        region_id="cn-hangzhou",
        active_scaling_configuration_id="asc-1",
        min_size=0,
        max_size=40,
        total_capacity=40,
    )
    snapshot = ConfigSnapshot(group=group, scaling_configuration_id="asc-1", container_name="web", containers=[])
    # More instances than are checked at once: checking every set in turn would take 3 x 2 s and more.
    frozen = [
        InstanceState(
            instance_id=f"eci-{n}", lifecycle_state="InService", status="Running", ip="127.0.0.1", image="app@sha256:1"
        )
        for n in range(40)
    ]
    gate = HealthGate(None, snapshot, "app@sha256:1", HealthCheck(port=frozen_port, timeout_seconds=2))

    started = time.monotonic()
    with pytest.raises(VerificationFailed, match="failed for"):
        gate.check_updated(frozen)

    assert time.monotonic() - started < 6  # the timeout once (2 s), with room for a busy machine
    assert gate.checked == {}

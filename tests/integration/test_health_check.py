"""The probe's HTTP health check against a real server on loopback: a 5xx is a failure however often it answers,
a server that recovers within the time is healthy."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tasks.verify import VerificationFailed, check_health


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

"""The control endpoint: outside the Alibaba API, for tests, demos and benchmarks.

``GET /health``, ``GET /audit?since=N``, ``GET|POST|DELETE /faults``, ``GET|POST /latencies``,
``POST /scenario`` (load one; body is a Scenario, ``{}`` for the default), ``GET /state``.
"""

from __future__ import annotations

import json
import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydantic import ValidationError

from localcloud import scenario as scenarios
from localcloud.cloud import Cloud
from localcloud.faults import FaultRule
from localcloud.timing import Latencies

log = logging.getLogger("localcloud.control")


class ControlServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], cloud: Cloud) -> None:
        self.cloud = cloud
        super().__init__(address, _Handler)


class BadRequest(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    server: ControlServer
    protocol_version = "HTTP/1.1"
    # Headers and body go in two sends: with Nagle's delay meeting the client's delayed ACK, each call waited
    # about 40 ms.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug(format, *args)

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        route = _ROUTES.get((method, url.path))
        try:
            body = self._json_body()
            if route is None:
                self._send(404, {"error": f"no route {method} {url.path}; see localcloud/control.py"})
                return
            self._send(200, route(self.server.cloud, body, parse_qs(url.query)))
        except (BadRequest, ValidationError, ValueError) as exc:
            self._send(400, {"error": str(exc)})
        except Exception as exc:  # report, do not hang the client
            log.exception("control %s %s failed", method, url.path)
            self._send(500, {"error": repr(exc)})

    def _json_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return None
        try:
            return json.loads(self.rfile.read(length))
        except json.JSONDecodeError as exc:
            raise BadRequest(f"the body must be JSON: {exc}") from exc

    def _send(self, status: int, payload: Any) -> None:
        data = json.dumps(payload, default=str).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _health(cloud: Cloud, body: Any, query: dict[str, list[str]]) -> dict[str, Any]:
    return {"ok": True, "instances": cloud.runtime.kind, "registry": cloud.registry.address if cloud.registry else None}


def _audit(cloud: Cloud, body: Any, query: dict[str, list[str]]) -> dict[str, Any]:
    since = int(query.get("since", ["0"])[0])
    return {"entries": cloud.audit.entries(since), "last_seq": cloud.audit.last_seq()}


def _faults(cloud: Cloud, body: Any, query: dict[str, list[str]]) -> dict[str, Any]:
    return {"rules": [r.model_dump() for r in cloud.faults.rules()]}


def _add_faults(cloud: Cloud, body: Any, query: dict[str, list[str]]) -> dict[str, Any]:
    if not isinstance(body, (dict, list)):
        raise BadRequest('send one fault rule, a list of them, or {"rules": [...]}')
    raw = body.get("rules", [body]) if isinstance(body, dict) else body
    rules = [FaultRule.model_validate(r) for r in raw]
    for rule in rules:
        cloud.faults.add(rule)
    return _faults(cloud, None, query)


def _clear_faults(cloud: Cloud, body: Any, query: dict[str, list[str]]) -> dict[str, Any]:
    cloud.faults.clear()
    return {"rules": []}


def _latencies(cloud: Cloud, body: Any, query: dict[str, list[str]]) -> dict[str, Any]:
    return cloud.latencies.model_dump()


def _set_latencies(cloud: Cloud, body: Any, query: dict[str, list[str]]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("send a JSON object of latency names to seconds")
    updated = Latencies.model_validate({**cloud.latencies.model_dump(), **body})
    unknown = set(body) - set(Latencies.model_fields)
    if unknown:
        raise BadRequest(f"unknown latencies {sorted(unknown)}; known: {sorted(Latencies.model_fields)}")
    for name in body:
        setattr(cloud.latencies, name, getattr(updated, name))
    return cloud.latencies.model_dump()


def _load_scenario(cloud: Cloud, body: Any, query: dict[str, list[str]]) -> dict[str, Any]:
    return scenarios.load(cloud, scenarios.Scenario.model_validate(body or {}))


def _state(cloud: Cloud, body: Any, query: dict[str, list[str]]) -> dict[str, Any]:
    return cloud.snapshot()


_ROUTES = {
    ("GET", "/health"): _health,
    ("GET", "/audit"): _audit,
    ("GET", "/faults"): _faults,
    ("POST", "/faults"): _add_faults,
    ("DELETE", "/faults"): _clear_faults,
    ("GET", "/latencies"): _latencies,
    ("POST", "/latencies"): _set_latencies,
    ("POST", "/scenario"): _load_scenario,
    ("GET", "/state"): _state,
}

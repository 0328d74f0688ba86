"""A small client of the control endpoint, for tests, benchmarks and demos."""

from __future__ import annotations

from typing import Any

import requests


class ControlError(RuntimeError):
    pass


class ControlClient:
    def __init__(self, control_url: str, timeout: float = 180) -> None:
        self.url = control_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        self._session.trust_env = False  # loopback only: never through a proxy

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = self._session.request(method, self.url + path, json=body, timeout=self.timeout)
        if response.status_code != 200:
            raise ControlError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()

    def audit(self, since: int = 0) -> list[dict[str, Any]]:
        return self._call("GET", f"/audit?since={since}")["entries"]

    def audit_mark(self) -> int:
        """The sequence number of the newest audit entry; pass it to ``audit(since=...)`` later."""
        return self._call("GET", "/audit?since=0")["last_seq"]

    def mutating_calls(self, since: int) -> list[str]:
        """Actions that changed something (answered 200) after audit entry ``since``."""
        return [e["action"] for e in self.audit(since) if e["mutating"] and e["status"] == 200]

    def faults(self) -> list[dict[str, Any]]:
        """The fault rules in force, each with how often it has hit."""
        return self._call("GET", "/faults")["rules"]

    def add_fault(self, **rule: Any) -> list[dict[str, Any]]:
        return self._call("POST", "/faults", rule)["rules"]

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def set_latencies(self, **seconds: float) -> dict[str, float]:
        return self._call("POST", "/latencies", seconds)

    def load_scenario(self, scenario: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._call("POST", "/scenario", scenario or {})

    def state(self) -> dict[str, Any]:
        return self._call("GET", "/state")

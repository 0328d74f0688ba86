"""Real HTTP requests to containers on their loopback addresses."""

from __future__ import annotations

import requests

_session = requests.Session()
_session.trust_env = False  # loopback only, never through a proxy


def page(ip: str, port: int = 80, path: str = "/") -> str:
    response = _session.get(f"http://{ip}:{port}{path}", timeout=5)
    response.raise_for_status()
    return response.text

"""``eci-release webhook``: serve the receiver with uvicorn until SIGINT or SIGTERM.

It needs a Prefect server (``PREFECT_API_URL``) for the blocks the rules name, the push marks and the events.
When it is ready it prints one line: JSON with ``url`` and the paths it serves under ``--json``.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
from pathlib import Path

import uvicorn
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound

from deployments.webhook.app import create_app
from deployments.webhook.events import send
from deployments.webhook.receiver import Receiver
from deployments.webhook.registry_check import RegistryCheck
from deployments.webhook.replays import ReplayWindow
from deployments.webhook.rules import Rules
from deployments.webhook.tokens import Tokens

REPLAY_WINDOW_SECONDS = 600
PATHS = {"acr": "/acr", "registry": "/registry", "health": "/health"}


def _log_requests_to_stderr() -> None:
    # Prefect has configured the root logger by now; the receiver's own lines get a handler of their own.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    requests_log = logging.getLogger("eci_release.webhook")
    requests_log.addHandler(handler)
    requests_log.setLevel(logging.INFO)
    requests_log.propagate = False


class SetupError(RuntimeError):
    """What the rules name cannot be found in the Prefect server."""


def _registry_check(rules: Rules) -> RegistryCheck:
    try:
        return RegistryCheck.from_rules(rules)
    except Exception as error:  # no server at PREFECT_API_URL, or no such block
        raise SetupError(f"cannot load the rules' blocks from the Prefect server: {error}") from None


def _check_deployments(rules: Rules) -> None:
    """Every deployment a rule names exists and has a trigger: an event for one without would start nothing."""
    try:
        _read_deployments(rules)
    except SetupError:
        raise
    except Exception as error:  # no server at PREFECT_API_URL
        raise SetupError(f"cannot read the rules' deployments from the Prefect server: {error}") from None


def _read_deployments(rules: Rules) -> None:
    with get_client(sync_client=True) as client:
        for name in sorted({rule.deployment for rule in rules.rules}):
            try:
                deployment = client.read_deployment_by_name(name)
            except ObjectNotFound:
                raise SetupError(f"a rule names the deployment {name}, which does not exist: deploy it first") from None
            if not client.read_resource_related_automations(f"prefect.deployment.{deployment.id}"):
                raise SetupError(f"the deployment {name} has no trigger: events for it would start nothing")


def serve(host: str, port: int, rules_file: Path, tokens_file: Path | None, as_json: bool) -> int:
    rules = Rules.load(rules_file)
    tokens = Tokens.from_file_or_environment(tokens_file)
    receiver = Receiver(rules, _registry_check(rules), ReplayWindow(REPLAY_WINDOW_SECONDS), send)
    _check_deployments(rules)
    listener = socket.create_server((host, port))  # bound before the line is printed: the URL works at once
    url = f"http://{host}:{listener.getsockname()[1]}"
    _log_requests_to_stderr()
    server = uvicorn.Server(
        uvicorn.Config(create_app(receiver, tokens), access_log=False, log_level="warning", lifespan="off")
    )
    ready = {"url": url, "paths": PATHS, "rules": len(rules.rules)}
    print(json.dumps(ready) if as_json else f"webhook receiver on {url} (POST {url}/acr, {url}/registry)", flush=True)
    server.run(sockets=[listener])
    return 0

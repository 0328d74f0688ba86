"""Helpers for the webhook tests: payloads in the senders' shapes, posting them, a real `docker push`, and what
reached the Prefect server (events, runs)."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import docker
import requests
from alibabacloud_cr20181201 import models as cr
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterExpectedStartTime, FlowRunFilterTags
from prefect.client.schemas.objects import FlowRun
from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter

from deployments.sample_app import stage_sample_app
from deployments.webhook.events import PUSHED
from localcloud import LocalCloudInfo
from tests.support.images import SEEDED_REPOSITORY
from tests.support.sdk import SdkClients

REFERENCE = Path(__file__).resolve().parents[1] / "support" / "webhooks"


def acr_payload(repository: str, tag: str, digest: str) -> dict:
    """ACR's trigger payload (the shape of its documented example) for a push of ``repository:tag``."""
    payload = json.loads((REFERENCE / "acr-trigger-push.json").read_text())
    namespace, name = repository.split("/")
    payload["push_data"].update(digest=digest, tag=tag)
    payload["repository"].update(namespace=namespace, name=name, repo_full_name=repository)
    return payload


def registry_envelope(repository: str, tag: str | None, digest: str, action: str = "push") -> dict:
    """A distribution notification envelope (the shape the registry sends) with one event."""
    envelope = json.loads((REFERENCE / "registry-notification-push.json").read_text())
    [event] = envelope["events"]
    event["id"] = str(uuid.uuid4())
    event["action"] = action
    event["target"].update(repository=repository, digest=digest, tag=tag)
    if tag is None:
        del event["target"]["tag"]
    return envelope


def post(
    url: str,
    path: str,
    body: bytes | dict,
    *,
    token: str | None = None,
    where: str = "query",
    method: str = "POST",
) -> requests.Response:
    """Send ``body`` with the token in the query (``?token=``), the ``X-Webhook-Token`` header or as a bearer
    token."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    params, headers = {}, {"Content-Type": "application/json"}
    if token is not None:
        if where == "query":
            params["token"] = token
        elif where == "header":
            headers["X-Webhook-Token"] = token
        else:
            headers["Authorization"] = f"Bearer {token}"
    with requests.Session() as session:
        session.trust_env = False  # loopback: never through a proxy
        return session.request(method, url + path, params=params, headers=headers, data=data, timeout=30)


def random_digest() -> str:
    return "sha256:" + uuid.uuid4().hex * 2


def burst(url: str, token: str, count: int, parallel: int = 16) -> list[tuple[int, float]]:
    """``count`` authenticated notifications for a repository no rule matches and ``count`` forged ACR payloads
    (a wrong token) for the released repository, interleaved, ``parallel`` at a time: (status, seconds) each."""
    sends = []
    for _ in range(count):
        unmatched = registry_envelope("other_team/app", "v1", random_digest())
        forged = acr_payload(SEEDED_REPOSITORY, f"v{uuid.uuid4().hex[:8]}", random_digest())
        sends.append(lambda body=unmatched: post(url, "/registry", body, token=token, where="bearer"))
        sends.append(lambda body=forged: post(url, "/acr", body, token=uuid.uuid4().hex * 2))

    def timed(send) -> tuple[int, float]:
        started = time.perf_counter()
        return send().status_code, time.perf_counter() - started

    with ThreadPoolExecutor(parallel) as pool:
        return list(pool.map(timed, sends))


def percentiles_ms(seconds: list[float]) -> str:
    ordered = sorted(value * 1000 for value in seconds)

    def at(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))]

    return f"p50 {at(0.5):.1f} ms, p90 {at(0.9):.1f} ms, p99 {at(0.99):.1f} ms, max {ordered[-1]:.1f} ms"


def docker_push(cloud: LocalCloudInfo, sdk: SdkClients, repository: str, tag: str, workdir: Path) -> str:
    """Build the sample app (its page says ``tag``) and `docker push` it through the Docker engine as a person
    would, logged in with an ACR temporary token. Returns the pushed digest."""
    instance_id = sdk.cr.list_instance(cr.ListInstanceRequest()).body.instances[0].instance_id
    token = sdk.cr.get_authorization_token(cr.GetAuthorizationTokenRequest(instance_id=instance_id)).body
    engine = docker.from_env()
    name = f"{cloud.registry}/{repository}"
    engine.images.build(path=str(stage_sample_app(tag, workdir)), tag=f"{name}:{tag}", rm=True)
    auth = {"username": token.temp_username, "password": token.authorization_token}
    digest = None
    for line in engine.api.push(name, tag=tag, auth_config=auth, stream=True, decode=True):
        assert "error" not in line, line
        digest = line.get("aux", {}).get("Digest", digest)
    assert digest, "the push reported no digest"
    return digest


def wait_for_receiver_log(stack: dict, text: str, timeout: float = 30) -> None:
    """Until the receiver's log (``<logs>/webhook.log`` of ``eci-release up``) says ``text``."""
    log = Path(stack["logs"]) / "webhook.log"
    deadline = time.monotonic() + timeout
    while text not in log.read_text():
        assert time.monotonic() < deadline, f"the receiver never logged {text!r}: {log.read_text()[-2000:]}"
        time.sleep(0.5)


def pushed_events(since: datetime) -> list:
    with get_client(sync_client=True) as client:
        page = client.read_events(
            filter=EventFilter(event=EventNameFilter(name=[PUSHED]), occurred=EventOccurredFilter(since=since)),
            limit=50,  # the most the API gives in one page; the tests expect a handful
        )
    return page.events


def _wait_for(read, count: int, what: str, timeout: float) -> list:
    deadline = time.monotonic() + timeout
    while len(found := read()) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(found)} {what} in {timeout} s, not {count}")
        time.sleep(0.5)
    return found


def wait_for_pushed_events(since: datetime, count: int, timeout: float = 30) -> list:
    return _wait_for(lambda: pushed_events(since), count, "push event(s) reached the server", timeout)


def on_push_runs(since: datetime) -> list[FlowRun]:
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                tags=FlowRunFilterTags(all_=["on-push"]),
                expected_start_time=FlowRunFilterExpectedStartTime(after_=since),
            )
        )


def wait_for_on_push_runs(since: datetime, count: int, timeout: float = 30) -> list[FlowRun]:
    return _wait_for(lambda: on_push_runs(since), count, "on-push run(s) were created", timeout)

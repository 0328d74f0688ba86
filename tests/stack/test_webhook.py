"""Registry pushes into releases, on the running stack: the real registry notifies the receiver (`eci-release
webhook`, started by `eci-release up`), which emits a Prefect event that the on-push deployment's trigger turns into
a run on a worker. (That a release's own push starts nothing is checked by the source release of
test_deployments.py.) Refusals are judged by what reached the Prefect server (no event, no run), releases by the
group read back through the SDKs."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

from deployments.webhook.tokens import new_token
from tests.stack.support import group_images, pinned, push_web_image, served_pages, wait_run
from tests.stack.webhooks import (
    acr_payload,
    burst,
    docker_push,
    on_push_runs,
    percentiles_ms,
    post,
    pushed_events,
    random_digest,
    registry_envelope,
    wait_for_on_push_runs,
    wait_for_pushed_events,
    wait_for_receiver_log,
)
from tests.support.images import SEEDED_REPOSITORY


def _release_tag() -> str:
    return f"v{uuid.uuid4().hex[:8]}"  # the stack's rule releases tags that start with "v"


def _now() -> datetime:
    return datetime.now(timezone.utc)


@pytest.fixture
def webhook(stack):
    """The receiver's URL and token; the tokens file is put back as it was after the test."""
    tokens_file = Path(stack["webhook_tokens_file"])
    original = tokens_file.read_text()
    yield stack["webhook_url"], stack["webhook_token"], tokens_file
    tokens_file.write_text(original)


def _assert_on_the_image(sdk, cloud, digest: str) -> None:
    configured, running = group_images(sdk)
    assert configured == pinned(cloud, digest)
    assert running == [configured, configured]


def test_refusals_emit_nothing_and_an_acr_payload_with_a_rotated_token_releases_once(
    stack, fresh_group, stack_cloud, stack_sdk, webhook
):
    url, old_token, tokens_file = webhook
    assert stack["webhook_paths"] == {"acr": "/acr", "registry": "/registry", "health": "/health"}
    since = _now()
    # Rotated: only the new token is valid, so the registry's own notification of the push below (it still sends
    # the old one) is refused and retried; the ACR-shaped payload is what gets the push through.
    token = new_token()
    tokens_file.write_text(token + "\n")
    tag = _release_tag()
    digest = push_web_image(stack_cloud, stack_sdk, tag, f"pushed as {tag}")
    payload = acr_payload(SEEDED_REPOSITORY, tag, digest)
    envelope = registry_envelope(SEEDED_REPOSITORY, tag, digest)
    refusals = {
        "the rotated-out token": (post(url, "/acr", payload, token=old_token), 401),
        "no token": (post(url, "/acr", payload), 401),
        "a wrong token": (post(url, "/acr", payload, token=new_token(), where="header"), 401),
        "an ACR token as a bearer token": (post(url, "/acr", payload, token=token, where="bearer"), 401),
        "a registry token in the query": (post(url, "/registry", envelope, token=token, where="query"), 401),
        "not JSON": (post(url, "/acr", b"{not json", token=token), 400),
        "a truncated body": (post(url, "/acr", json.dumps(payload).encode()[:-9], token=token), 400),
        "the wrong shape": (post(url, "/acr", {"push_data": {"tag": tag}}, token=token), 400),
        "an ACR payload on the registry path": (post(url, "/registry", payload, token=token, where="bearer"), 400),
        "a 10 MB body": (post(url, "/acr", b"x" * 10_000_000, token=token), 413),
        "GET": (post(url, "/acr", payload, token=token, method="GET"), 405),
        "a digest the registry does not serve for the tag": (
            post(url, "/acr", acr_payload(SEEDED_REPOSITORY, tag, random_digest()), token=token),
            409,
        ),
        "a registry event for a digest the registry does not have": (
            post(
                url,
                "/registry",
                registry_envelope(SEEDED_REPOSITORY, tag, random_digest()),
                token=token,
                where="bearer",
            ),
            202,  # the registry resends what it gets no 2xx for: the event's own 409 is inside
        ),
        "a tag no rule matches": (
            post(url, "/acr", acr_payload(SEEDED_REPOSITORY, "x" + tag, digest), token=token),
            202,
        ),
        "another repository": (post(url, "/acr", acr_payload("other_team/app", tag, digest), token=token), 202),
        "a pull": (
            post(
                url, "/registry", registry_envelope(SEEDED_REPOSITORY, tag, digest, "pull"), token=token, where="bearer"
            ),
            202,
        ),
        "a delete": (
            post(
                url,
                "/registry",
                registry_envelope(SEEDED_REPOSITORY, tag, digest, "delete"),
                token=token,
                where="bearer",
            ),
            202,
        ),
    }
    for case, (response, status) in refusals.items():
        assert response.status_code == status, f"{case}: {response.status_code} {response.text}"
        answer = response.json()
        assert "event_id" not in json.dumps(answer), f"{case}: {answer}"
        if status == 202:
            said = answer if "ignored" in answer else answer["events"][0]
            assert said.get("ignored") or said["status"] == 409, f"{case}: {answer}"
    # No and wrong tokens get the same answer: nothing tells a prober which it was.
    assert refusals["no token"][0].json() == refusals["a wrong token"][0].json()

    accepted = post(url, "/acr", payload, token=token, where="header")
    assert accepted.status_code == 202, accepted.text
    event_id = accepted.json()["event_id"]
    replay = post(url, "/acr", payload, token=token)
    assert replay.status_code == 202 and "was accepted for ess-eci-test" in replay.json()["ignored"]
    # Both tokens valid again (a rotation's middle step): the registry's retried notification now gets in, and
    # is the same image again.
    tokens_file.write_text(f"{token}\n{old_token}\n")

    # The registry's own notification, held back while refused, gets in now and is the same release again.
    wait_for_receiver_log(stack, f"{SEEDED_REPOSITORY}@{digest} was accepted for ess-eci-test")
    [run] = wait_for_on_push_runs(since, 1)
    run = wait_run(run.id)
    assert run.state.is_completed(), run.state.message
    assert run.parameters["image"]["digest"] == digest and run.parameters["trigger"] == "push"
    _assert_on_the_image(stack_sdk, stack_cloud, digest)
    assert served_pages(stack_sdk) == [f"pushed as {tag}"] * 2
    # Only the accepted push reached the server, and it made exactly one run.
    assert [str(event.id) for event in pushed_events(since)] == [event_id]
    assert len(on_push_runs(since)) == 1


def test_a_docker_push_releases_right_after_a_burst_of_unmatched_and_forged_pushes(
    stack, fresh_group, stack_cloud, stack_sdk, webhook, tmp_path
):
    url, token, _ = webhook
    since = _now()

    answers = burst(url, token, 200)
    statuses = [status for status, _ in answers]
    assert statuses.count(202) == 200 and statuses.count(401) == 200, sorted(set(statuses))
    print(f"burst of 400: {percentiles_ms([seconds for _, seconds in answers])}")

    tag = _release_tag()
    pushed_at = time.monotonic()
    digest = docker_push(stack_cloud, stack_sdk, SEEDED_REPOSITORY, tag, tmp_path)
    [run] = wait_for_on_push_runs(since, 1)
    run = wait_run(run.id)
    assert run.state.is_completed(), run.state.message
    print(f"docker push -> verified in {time.monotonic() - pushed_at:.1f} s")
    _assert_on_the_image(stack_sdk, stack_cloud, digest)
    assert served_pages(stack_sdk, "/version.txt") == [tag, tag]
    assert [event.payload["digest"] for event in pushed_events(since)] == [digest]


def test_three_pushes_in_a_row_release_only_the_newest(stack, fresh_group, stack_cloud, stack_sdk):
    since = _now()
    tags = [_release_tag() for _ in range(3)]
    digests = [push_web_image(stack_cloud, stack_sdk, tag, f"push {n}") for n, tag in enumerate(tags)]
    wait_for_pushed_events(since, 3)
    runs = [wait_run(run.id) for run in wait_for_on_push_runs(since, 3)]
    # In the order they ended: the server lists runs by id, and ids are random.
    completed = sorted((run for run in runs if run.state.is_completed()), key=lambda run: run.end_time)
    released = [run.parameters["image"]["digest"] for run in completed]
    # The newest wins, and an older one still queued when a newer one arrived is superseded. One older run may
    # have taken the lock before the newest push made its run: it releases first, and never after a newer one.
    assert released[-1] == digests[-1] and len(released) < 3, released
    assert released == sorted(released, key=digests.index), released
    for run in runs:
        if run not in completed:
            assert run.state.is_cancelled() and "superseded by the newer run" in run.state.message, run.state
    _assert_on_the_image(stack_sdk, stack_cloud, digests[-1])
    assert served_pages(stack_sdk) == ["push 2", "push 2"]

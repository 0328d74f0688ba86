"""The receiver's parts that need no server: payload parsing, rules, tokens, the replay window, and the order in
which ``Receiver`` decides (with a registry stand-in; the stack tests run it against the real registry)."""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from deployments.webhook.app import create_app
from deployments.webhook.payloads import BadPayload, NotAPush, Push, parse_acr, parse_registry
from deployments.webhook.receiver import Receiver
from deployments.webhook.replays import ReplayWindow
from deployments.webhook.rules import Rules, RulesError
from deployments.webhook.tokens import TokenError, Tokens, new_token
from tasks.registry_access import RegistryUnavailable

EXAMPLES = Path(__file__).resolve().parents[1] / "support" / "webhooks"
ACR = (EXAMPLES / "acr-trigger-push.json").read_bytes()
REGISTRY = (EXAMPLES / "registry-notification-push.json").read_bytes()
DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64


def test_the_documented_acr_payload_is_a_push_of_its_tag_and_digest():
    push = parse_acr(ACR)
    assert push == Push(
        repository="namespace/repoTest",
        tag="latest",
        digest="sha256:457f4aa83fc9a6663ab9d1b0a6e2dce25a12a943ed5bf2c1747c58d48bbb4917",
        source="acr",
    )


def test_a_registry_notification_is_a_push_and_pulls_deletes_and_untagged_pushes_are_not():
    [(event_id, push)] = parse_registry(REGISTRY)
    assert event_id == "6fd17cfc-e303-436c-916e-923d60d4fe7a"
    assert (push.repository, push.tag, push.source) == ("ns/demo", "v2", "registry")
    envelope = json.loads(REGISTRY)
    for action in ("pull", "delete", "mount"):
        envelope["events"][0]["action"] = action
        assert isinstance(parse_registry(json.dumps(envelope).encode())[0][1], NotAPush)
    envelope["events"][0]["action"] = "push"
    del envelope["events"][0]["target"]["tag"]
    assert "without a tag" in parse_registry(json.dumps(envelope).encode())[0][1].reason


@pytest.mark.parametrize(
    "body, problem",
    [
        (b"", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[]", "the body"),
        (
            b'{"push_data": {"digest": "sha256:1", "tag": "v1"}, "repository": {"namespace": "a", "name": "b"}}',
            "digest",
        ),
        (b'{"push_data": {"digest": 7, "tag": "v1"}, "repository": {"namespace": "a", "name": "b"}}', "digest"),
        (ACR.replace(b'"latest"', b'"-bad tag"'), "tag"),
        (ACR.replace(b'"namespace/repoTest"', b'"other/repo"'), "repo_full_name"),
    ],
)
def test_a_malformed_acr_payload_says_what_is_wrong(body, problem):
    with pytest.raises(BadPayload, match=problem):
        parse_acr(body)


def test_an_empty_envelope_is_refused_and_a_malformed_event_spoils_only_itself():
    with pytest.raises(BadPayload, match="events"):
        parse_registry(b'{"events": []}')
    envelope = json.loads(REGISTRY)
    good = envelope["events"][0]
    no_digest = json.loads(json.dumps(good))
    del no_digest["target"]["digest"]
    bad_digest = json.loads(REGISTRY.replace(b'"sha256:79d6', b'"md5:79d6', 1))["events"][0]
    bad_id = {**good, "id": "\ud800"}
    envelope["events"] = [good, no_digest, bad_digest, bad_id]
    [(first, push), (_, missing), (_, malformed), (number, odd)] = parse_registry(json.dumps(envelope).encode())
    assert isinstance(push, Push) and first == good["id"]
    assert "tag and a sha256 digest" in str(missing) and "digest" in str(malformed)
    assert isinstance(odd, BadPayload) and number == "#3"


@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"events": [' + b"9" * 5000 + b"]}"])
def test_bodies_that_break_the_json_parser_are_malformed_too(body):
    with pytest.raises(BadPayload, match="not JSON"):
        parse_registry(body)


def _rules(tmp_path: Path, text: str) -> Rules:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    return Rules.load(path)


RULES = """
registry_block: r
rules:
  - {repository: team/web, tags: "v*", scaling_group: web-a, container: web}
  - {repository: team/web, tags: "*", scaling_group: web-b, container: web, deployment: release/other}
"""


def test_the_first_matching_rule_wins(tmp_path):
    rules = _rules(tmp_path, RULES)
    assert rules.match(Push("team/web", "v1.2", DIGEST, "acr")).scaling_group == "web-a"
    other = rules.match(Push("team/web", "latest", DIGEST, "acr"))
    assert (other.scaling_group, other.deployment) == ("web-b", "release/other")
    assert rules.match(Push("team/api", "v1", DIGEST, "acr")) is None


@pytest.mark.parametrize(
    "text, problem",
    [
        ("registry_block: r\nrules: []", "rules"),
        ("rules: [{repository: team/web, scaling_group: g, container: c}]", "registry_block"),
        ("registry_block: r\nrules: [{repository: Team/Web, scaling_group: g, container: c}]", "namespace/name"),
        ("registry_block: r\nrules: [{repository: team/web, scaling_group: g, container: c, color: red}]", "color"),
        ("registry_block: [r", "not YAML"),
    ],
)
def test_a_bad_rules_file_is_one_clear_error(tmp_path, text, problem):
    with pytest.raises(RulesError, match=problem):
        _rules(tmp_path, text)


def test_two_tokens_are_valid_at_once_and_a_rewritten_file_counts_at_once(tmp_path):
    old, new = new_token(), new_token()
    path = tmp_path / "tokens"
    path.write_text(f"{new}\n{old}\n")
    tokens = Tokens(file=path)
    assert tokens.accepts(new) and tokens.accepts(old)
    assert not tokens.accepts(None) and not tokens.accepts("") and not tokens.accepts(new[:-1])
    path.write_text(new + "\n")
    assert tokens.accepts(new) and not tokens.accepts(old)


@pytest.mark.parametrize(
    "text, problem",
    [("", "no webhook token"), ("\n".join(["a" * 20, "b" * 20, "c" * 20]), "at most"), ("short", "shorter")],
)
def test_bad_token_files_are_refused(tmp_path, text, problem):
    path = tmp_path / "tokens"
    path.write_text(text)
    with pytest.raises(TokenError, match=problem):
        Tokens(file=path)


def test_the_replay_window_accepts_an_image_once_until_it_passes():
    window = ReplayWindow(0.2)
    assert window.claim(DIGEST) and not window.claim(DIGEST) and window.seen(DIGEST)
    assert window.claim(OTHER)
    window.release(OTHER)
    assert window.claim(OTHER)
    time.sleep(0.25)
    assert not window.seen(DIGEST) and window.claim(DIGEST)


class _Registry:
    """Stands in for the registry: which digest each tag names, and which digests exist."""

    def __init__(self, tags: dict[str, str], digests: set[str] = frozenset(), down: bool = False):
        self.tags, self.digests, self.down = tags, set(digests) | set(tags.values()), down

    def tag_digest(self, repository, tag):
        if self.down:
            raise RegistryUnavailable("registry check of team/web:v1 failed: 503 Service Unavailable")
        return self.tags.get(tag)

    def has_digest(self, repository, digest):
        return digest in self.digests


def _receiver(tmp_path, registry, sent, fail_sends=0, own=None):
    failures = [fail_sends]

    def send(event):
        if failures[0]:
            failures[0] -= 1
            raise ConnectionError("connection refused")
        sent.append(event)

    return Receiver(_rules(tmp_path, RULES), registry, ReplayWindow(60), send, lambda *_: own)


def test_a_stale_registry_notification_is_ignored_but_a_wrong_acr_digest_is_refused(tmp_path):
    sent = []
    receiver = _receiver(tmp_path, _Registry({"v1": OTHER}, {DIGEST}), sent)
    stale = receiver.take(Push("team/web", "v1", DIGEST, "registry"))
    assert stale.status == 202 and "moved on to" in stale.body["ignored"]
    refused = receiver.take(Push("team/web", "v1", DIGEST, "acr"))
    assert refused.status == 409 and OTHER in refused.body["error"]
    assert sent == []


def test_an_unreachable_registry_or_server_is_503_and_the_retry_is_not_a_replay(tmp_path):
    sent = []
    down = _receiver(tmp_path, _Registry({}, down=True), sent)
    assert down.take(Push("team/web", "v1", DIGEST, "acr")).status == 503
    receiver = _receiver(tmp_path, _Registry({"v1": DIGEST, "v2": DIGEST, "latest": DIGEST}), sent, fail_sends=1)
    assert receiver.take(Push("team/web", "v1", DIGEST, "acr")).status == 503
    accepted = receiver.take(Push("team/web", "v1", DIGEST, "acr"))
    assert accepted.status == 202 and accepted.body["scaling_group"] == "web-a"
    assert [event.payload["digest"] for event in sent] == [DIGEST]
    assert receiver.take(Push("team/web", "v2", DIGEST, "registry")).status == 202  # same image: a replay
    assert len(sent) == 1
    receiver.registry.down = True  # a replay is answered from the window, without asking the registry
    assert "was accepted for web-a" in receiver.take(Push("team/web", "v1", DIGEST, "acr")).body["ignored"]
    receiver.registry.down = False
    # The same image for another group (the second rule) is another release.
    assert receiver.take(Push("team/web", "latest", DIGEST, "registry")).body["scaling_group"] == "web-b"
    assert len(sent) == 2


def test_a_push_the_release_made_itself_is_ignored_before_the_registry_is_asked(tmp_path):
    class Mark:
        flow_run_id = "run-1"

    sent = []
    receiver = _receiver(tmp_path, _Registry({}, down=True), sent, own=Mark())
    outcome = receiver.take(Push("team/web", "v1", DIGEST, "registry"))
    assert outcome.status == 202 and outcome.body["ignored"] == "pushed by the release run run-1 itself"
    assert sent == []


TOKEN = new_token()
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@contextmanager
def _app(tmp_path, registry: _Registry):
    """The receiver's ASGI app in process, with the registry stand-in; yields the client and the events sent."""
    sent = []
    app = create_app(_receiver(tmp_path, registry, sent), Tokens(tokens=(TOKEN,)), max_body_bytes=4096)
    with TestClient(app) as client:
        yield client, sent


def _envelope(*events: dict) -> bytes:
    return json.dumps({"events": list(events)}).encode()


def _event(digest: str = DIGEST, action: str = "push") -> dict:
    event = json.loads(REGISTRY)["events"][0]
    event["action"] = action
    event["target"].update(repository="team/web", tag="v1", digest=digest)
    return event


def test_http_refusals_say_why_and_send_nothing(tmp_path):
    def chunks():
        for _ in range(5):
            yield b"x" * 1000  # no Content-Length: the limit is counted as the body arrives

    with _app(tmp_path, _Registry({"v1": DIGEST})) as (client, sent):
        assert client.get("/registry", headers=BEARER).status_code == 405
        assert client.post("/registry", content=_envelope(_event())).status_code == 401
        assert client.post("/registry", content=_envelope(_event()), params={"token": TOKEN}).status_code == 401
        assert client.post("/acr", content=chunks(), params={"token": TOKEN}).status_code == 413
        assert client.post("/acr", content=b"[" * 3000, headers={"X-Webhook-Token": TOKEN}).status_code == 400
    assert sent == []


def test_an_envelope_is_answered_202_with_each_events_own_outcome(tmp_path):
    envelope = _envelope(_event(), _event(action="pull"), _event(digest=OTHER), {**_event(), "id": "\ud800"})
    with _app(tmp_path, _Registry({"v1": DIGEST})) as (client, sent):
        answer = client.post("/registry", content=envelope, headers=BEARER)
    assert answer.status_code == 202, answer.text
    events = answer.json()["events"]
    assert [event["status"] for event in events] == [202, 202, 409, 400]
    assert "event_id" in events[0] and "ignored" in events[1]
    assert [event.payload["digest"] for event in sent] == [DIGEST]


def test_an_envelope_worth_sending_again_is_503(tmp_path):
    with _app(tmp_path, _Registry({}, down=True)) as (client, sent):
        answer = client.post("/registry", content=_envelope(_event(), _event(action="pull")), headers=BEARER)
    assert answer.status_code == 503
    assert [event["status"] for event in answer.json()["events"]] == [503, 202] and sent == []

"""What the receiver does with one push, in order, each step able to end it:

1. a rule must match the repository and tag (else 202, ignored);
2. the same image accepted inside the replay window is not accepted again (202, ignored);
3. a push a release made itself starts nothing (202, ignored);
4. the registry must serve that digest for the tag (else 409; a registry notification for a tag that has moved
   on since is stale, 202 ignored, because the newer push has a notification of its own);
5. one Prefect event, which the rule's deployment trigger turns into a run (202 with the event id).

A registry or a Prefect server that cannot answer is 503, so the sender tries again later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from prefect.events import Event

from deployments.webhook.events import push_event
from deployments.webhook.payloads import Push
from deployments.webhook.registry_check import RegistryCheck
from deployments.webhook.replays import ReplayWindow
from deployments.webhook.rules import Rules
from tasks.cloud_calls import CloudCallFailed
from tasks.own_pushes import OwnPush
from tasks.registry_access import PublishFailed


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict = field(default_factory=dict)
    note: str | None = None  # what the log says, when the body does not say it in one line

    @property
    def reason(self) -> str:
        return self.note or self.body.get("ignored") or self.body.get("error") or f"event {self.body.get('event_id')}"


def ignored(reason: str) -> Outcome:
    return Outcome(202, {"ignored": reason})


class Receiver:
    def __init__(
        self,
        rules: Rules,
        registry: RegistryCheck,
        replays: ReplayWindow,
        send: Callable[[Event], None],
        own_push: Callable[[str, str, str], OwnPush | None] = OwnPush.find,
    ) -> None:
        self.rules, self.registry, self.replays = rules, registry, replays
        self._send, self._own_push = send, own_push

    def take(self, push: Push) -> Outcome:
        rule = self.rules.match(push)
        if rule is None:
            return ignored(f"no rule matches {push.repository}:{push.tag}")
        # The same image for the same release target is one release; for another group it is another.
        replay_key = (push.repository, push.digest, rule.deployment, rule.scaling_group)
        accepted_already = ignored(
            f"{push.repository}@{push.digest} was accepted for {rule.scaling_group} in the last "
            f"{self.replays.seconds:.0f} s"
        )
        if self.replays.seen(replay_key):
            return accepted_already
        try:
            own = self._own_push(push.repository, push.tag, push.digest)
        except Exception as error:  # the Prefect server did not answer
            return Outcome(503, {"error": f"cannot read the push marks from the Prefect server: {error}"})
        if own is not None:
            return ignored(f"pushed by the release run {own.flow_run_id} itself")
        try:
            refusal = self._disagreement(push)
        except (PublishFailed, CloudCallFailed) as error:
            return Outcome(503, {"error": f"cannot check the push with the registry: {error}"})
        if refusal is not None:
            return refusal
        if not self.replays.claim(replay_key):  # the same push, checked at the same time
            return accepted_already
        event = push_event(push, rule)
        try:
            self._send(event)
        except Exception as error:
            self.replays.release(replay_key)  # a retry of this push is not a replay
            return Outcome(503, {"error": f"cannot reach the Prefect server: {error}"})
        image = f"{push.repository}@{push.digest}"
        return Outcome(
            202,
            {
                "event_id": str(event.id),
                "deployment": rule.deployment,
                "scaling_group": rule.scaling_group,
                "image": image,
            },
        )

    def _disagreement(self, push: Push) -> Outcome | None:
        """None when the registry serves the pushed digest for the tag, else the answer."""
        current = self.registry.tag_digest(push.repository, push.tag)
        if current == push.digest:
            return None
        if push.source == "registry" and current and self.registry.has_digest(push.repository, push.digest):
            return ignored(f"stale: {push.repository}:{push.tag} has moved on to {current}")
        now = f"serves {current}" if current else "has no such tag"
        return Outcome(409, {"error": f"the registry {now} for {push.repository}:{push.tag}, not {push.digest}"})

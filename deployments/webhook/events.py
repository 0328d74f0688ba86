"""The Prefect event one accepted push becomes. A deployment's trigger in ``prefect.yaml`` matches it by the
``eci-release.deployment`` label and takes the run's parameters from its payload."""

from __future__ import annotations

from prefect.client.orchestration import get_client
from prefect.events import Event

from deployments.webhook.payloads import Push
from deployments.webhook.rules import Rule

PUSHED = "eci-release.image.pushed"


def push_event(push: Push, rule: Rule) -> Event:
    return Event(
        event=PUSHED,
        resource={
            "prefect.resource.id": f"eci-release.image.{push.repository}:{push.tag}",
            "prefect.resource.name": f"{push.repository}:{push.tag}",
            "eci-release.deployment": rule.deployment,
            "eci-release.scaling-group": rule.scaling_group,
        },
        payload={
            "repository": push.repository,
            "tag": push.tag,
            "digest": push.digest,
            "source": push.source,
            "scaling_group": rule.scaling_group,
            "container": rule.container,
        },
    )


def send(event: Event) -> None:
    """Post the event and return once the server took it (``POST /api/events``), so a sender is told 202 only
    for an event that will be acted on; raises when the server cannot be reached."""
    with get_client(sync_client=True) as client:
        client.request("POST", "/events", json=[event.model_dump(mode="json")])

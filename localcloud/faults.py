"""Faults on demand, set through the control endpoint: API throttling, 5xx, dropped connections, answers lost
after the action took effect, writes that do not stick; failing image pulls, crash-looping containers, new
instances on the wrong image, container groups reported Pending or Failed, containers that run but never answer;
failing OOS loop items and stuck scaling activities. A rule can spare the first few events it matches (``after``),
so that, say, the probe instance of a release is healthy and the instances updated after it are not."""

from __future__ import annotations

import random
import threading
from typing import Literal

from pydantic import BaseModel, Field, model_validator

FaultKind = Literal[
    "throttle",  # 400 Throttling.User with x-acs-retry-after
    "server_error",  # 500 InternalError or 503 ServiceUnavailable (``status``)
    "drop_connection",  # the connection closes with no response, before the action is carried out
    "lost_response",  # the action is carried out, then the connection closes with no response
    "no_effect",  # the call answers success and changes nothing (as when a concurrent writer undid it)
    "pull_failure",  # pulling an image whose reference contains ``image`` fails (ErrImagePull)
    "crash_loop",  # containers of an image whose reference contains ``image`` exit right after start
    "oos_child_failure",  # the OOS per-instance update of ``instance_id`` (or any instance) fails
    "stuck_activity",  # scaling activities of ``scaling_group_id`` (or any group) never finish
    "launch_image",  # instances ``scaling_group_id`` (or any group) launches run ``image``, not the configuration's
    "container_group_status",  # the container group of ``instance_id`` shows ``group_status`` (Pending, Failed)
    "unresponsive",  # containers of an image whose reference contains ``image`` run but never answer (frozen)
]
API_FAULTS = {"throttle", "server_error", "drop_connection", "lost_response", "no_effect"}


class FaultRule(BaseModel):
    kind: FaultKind
    action: str = Field("*", description="API faults: the action name, or * for every action")
    product: str = Field("*", description="API faults: ess, eci, oos, cr, or *")
    rate: float = Field(1.0, ge=0, le=1, description="the chance that a matching call is hit")
    times: int | None = Field(None, ge=1, description="stop after hitting this many times")
    after: int = Field(0, ge=0, description="spare the first this many matches (pulls, starts, polls), then hit")
    image: str | None = None
    instance_id: str | None = None
    scaling_group_id: str | None = None
    status: Literal[500, 503] = 503
    group_status: Literal["Pending", "Failed"] = "Failed"
    retry_after_ms: int = Field(200, ge=1)
    hits: int = 0
    spared: int = 0

    @model_validator(mode="after")
    def _needs_its_target(self) -> "FaultRule":
        if self.kind in ("pull_failure", "crash_loop", "unresponsive") and not self.image:
            raise ValueError(f"a {self.kind} fault needs 'image' (a substring of the image reference)")
        if self.kind == "no_effect" and self.action == "*":
            raise ValueError("a no_effect fault names the (mutating) action whose writes do not stick")
        if self.kind == "launch_image" and not self.image:
            raise ValueError("a launch_image fault needs 'image' (the image new instances run instead)")
        if self.kind == "container_group_status" and not self.instance_id:
            raise ValueError("a container_group_status fault needs 'instance_id'")
        return self


class Faults:
    def __init__(self, seed: int | None = None) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._random = random.Random(seed)

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return [r.model_copy() for r in self._rules]

    def _hit(self, predicate) -> FaultRule | None:
        with self._lock:
            for rule in self._rules:
                if rule.times is not None and rule.hits >= rule.times:
                    continue
                if not predicate(rule):
                    continue
                if rule.spared < rule.after:
                    rule.spared += 1
                    continue
                if self._random.random() < rule.rate:
                    rule.hits += 1
                    return rule.model_copy()
        return None

    def api_fault(self, product: str, action: str) -> FaultRule | None:
        return self._hit(lambda r: r.kind in API_FAULTS and r.action in ("*", action) and r.product in ("*", product))

    def pull_fails(self, image: str) -> bool:
        return self._hit(lambda r: r.kind == "pull_failure" and r.image in image) is not None

    def crashes(self, image: str) -> bool:
        return self._hit(lambda r: r.kind == "crash_loop" and r.image in image) is not None

    def freezes(self, image: str) -> bool:
        return self._hit(lambda r: r.kind == "unresponsive" and r.image in image) is not None

    def oos_child_fails(self, instance_id: str) -> bool:
        return self._hit(lambda r: r.kind == "oos_child_failure" and r.instance_id in (None, instance_id)) is not None

    def activity_stuck(self, scaling_group_id: str) -> bool:
        return (
            self._hit(lambda r: r.kind == "stuck_activity" and r.scaling_group_id in (None, scaling_group_id))
            is not None
        )

    def launch_image(self, scaling_group_id: str) -> str | None:
        """The image a new instance of the group runs instead of the configuration's, if a fault says so."""
        rule = self._hit(lambda r: r.kind == "launch_image" and r.scaling_group_id in (None, scaling_group_id))
        return rule.image if rule else None

    def reported_status(self, instance_id: str) -> str | None:
        rule = self._hit(lambda r: r.kind == "container_group_status" and r.instance_id == instance_id)
        return rule.group_status if rule else None

"""What the cloud itself spent on a release's serial path, read from localcloud's own state (``GET /state``: its
records keep times to the microsecond, where the API's StartDate/EndDate have whole seconds).

The cloud's work in a window of time, for one scaling group: the OOS rolling-update executions started in it
(the parent execution, from its creation to its end, less the pauses between batches in which it waited for its
caller's NotifyExecution) and the group's scaling activities started in it (from start to end: the probe's
scale-out and its removal, a peer's scale-out, the template's standby moves). The critical path is the length of
the union of those spans: whoever waits on the cloud cannot end sooner, however fast it notices; work the cloud
did at the same time (a standby move inside the OOS execution) counts once.

A pause is taken to start when the batch's last instance update (child execution) ended and to end with the
answer (the NotifyExecution call in the audit log): the time the caller took to see the pause, check the batch
and answer is the caller's, not the cloud's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TEMPLATE = "ACS-ESS-RollingUpdateByUpdateContainerGroup"


@dataclass(frozen=True)
class CloudWork:
    name: str
    start: float  # epoch seconds
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


def _activity_name(activity: dict[str, Any]) -> str:
    cause = activity["cause"]
    if cause.startswith("ScaleWithAdjustment"):
        return f"scale-out {activity['id']}"
    if cause.startswith("Remove instances"):
        return f"removal {activity['id']}"
    return f"{cause} {activity['id']}"


def answers(audit: list[dict[str, Any]]) -> list[tuple[str, float]]:
    """(execution id, time) of each NotifyExecution that localcloud accepted, from its audit log."""
    return [
        (e["params"].get("ExecutionId", ""), e["time"])
        for e in audit
        if e["product"] == "oos" and e["action"] == "NotifyExecution" and e["status"] == 200
    ]


def _busy(execution: dict[str, Any], executions: list[dict[str, Any]], answered: list[float]) -> list[tuple]:
    """The execution's span cut at its pauses: (start, end) of each stretch the cloud worked in."""
    ends = sorted(
        e["ended"] for e in executions if e["parent_execution_id"] == execution["execution_id"] and e["ended"]
    )
    stretches, start = [], execution["created"]
    for answer in sorted(answered):
        paused = max((end for end in ends if start <= end <= answer), default=None)
        if paused is None:
            continue
        stretches.append((start, paused))
        start = answer
    return [*stretches, (start, execution["ended"])]


def cloud_work(
    state: dict[str, Any], group_id: str, since: float, until: float, answered: list[tuple[str, float]] = ()
) -> list[CloudWork]:
    """The group's OOS executions (cut at the pauses ``answered`` ended, see ``answers``) and scaling activities
    that started in [since, until], in order. Raises when one of them is still running: the window was closed too
    early."""
    work = []
    executions = state["oos"]["executions"]
    for execution in executions:
        if (
            execution["parent_execution_id"]
            or execution["template_name"] != TEMPLATE
            or (execution["parameters"] or {}).get("scalingGroupId") != group_id
            or not since <= execution["created"] <= until
        ):
            continue
        if execution["ended"] is None:
            raise RuntimeError(f"OOS execution {execution['execution_id']} has not ended")
        mine = [t for execution_id, t in answered if execution_id == execution["execution_id"]]
        for start, end in _busy(execution, executions, mine):
            work.append(CloudWork(f"OOS {execution['execution_id']}", start, end))
    for activity in state["ess"]["activities"]:
        if activity["group_id"] != group_id or not since <= activity["started_at"] <= until:
            continue
        if activity["ended_at"] is None:
            raise RuntimeError(f"scaling activity {activity['id']} has not ended")
        work.append(CloudWork(_activity_name(activity), activity["started_at"], activity["ended_at"]))
    return sorted(work, key=lambda w: w.start)


def serial_seconds(work: list[CloudWork]) -> float:
    """The length of the union of the spans."""
    total, reach = 0.0, float("-inf")
    for piece in sorted(work, key=lambda w: w.start):
        if piece.end <= reach:
            continue
        total += piece.end - max(piece.start, reach)
        reach = piece.end
    return total


def on_the_path(work: list[CloudWork]) -> list[CloudWork]:
    """The pieces not wholly inside an OOS execution (those inside it are part of its span)."""
    executions = [w for w in work if w.name.startswith("OOS ")]
    return [
        w
        for w in work
        if w.name.startswith("OOS ") or not any(e.start <= w.start and w.end <= e.end for e in executions)
    ]

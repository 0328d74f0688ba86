"""What a release would do, worked out from what was read: the batches OOS forms, the calls that change the
cloud, and how long it should take. Pure functions: the plan flow reads the cloud, these do the arithmetic."""

from __future__ import annotations

import math
from collections import Counter

from tasks.models import InstanceState, PlannedBatch
from tasks.release_record import ReleaseRecord


def oos_batches(instances: list[InstanceState], batch_number: int, image: str) -> list[PlannedBatch]:
    """The InService instances in the batches the rolling-update template forms: its loop runs
    ``Fn::CalculateBatch(batchNumber, items)`` items at a time, ceil(items / batchNumber), at least one."""
    size = max(1, math.ceil(len(instances) / batch_number))
    return [
        PlannedBatch(
            instances=[i.instance_id for i in chunk],
            already_on_image=[i.instance_id for i in chunk if i.image == image],
        )
        for chunk in (instances[start : start + size] for start in range(0, len(instances), size))
    ]


def rolls_out(batches: list[PlannedBatch]) -> bool:
    """Whether OOS has anything to do: an instance does not run the image yet."""
    return any(len(b.already_on_image) < len(b.instances) for b in batches)


def mutating_calls(
    *, writes_configuration: bool, probes: bool, batches: list[PlannedBatch], suspends_processes: bool
) -> dict[str, int]:
    """The calls that change the cloud, by product and action: the pipeline's, and the template's on its behalf
    (the template updates every InService instance of ``batches``, standing each by around its update, and writes
    the configuration again at its end); no batches: no rollout."""
    calls: Counter[str] = Counter()
    if writes_configuration:
        calls["ess:ModifyEciScalingConfiguration"] += 1
    if probes:
        calls.update({"ess:ScaleWithAdjustment": 1, "ess:RemoveInstances": 1})
    instances = sum(len(b.instances) for b in batches)
    if batches:
        calls.update(
            {
                "oos:StartExecution": 1,
                "oos:NotifyExecution": len(batches) - 1,  # the health gate answers each pause between batches
                "ess:EnterStandby": instances,
                "eci:UpdateContainerGroup": instances,
                "ess:ExitStandby": instances,
                "ess:ModifyEciScalingConfiguration": 1,
            }
        )
        if suspends_processes:
            calls.update({"ess:SuspendProcesses": 1, "ess:ResumeProcesses": 1})
    return {action: count for action, count in sorted(calls.items()) if count}


def eta(last: ReleaseRecord | None, *, builds: bool, probes: bool, batches: int) -> tuple[float | None, str]:
    """Seconds the release should take, scaled from the group's last successful release: its stages' times, the
    rollout per batch. (None, why) when no release of the group recorded its times."""
    if last is None or last.state != "released" or not last.timings:
        return None, "no earlier release of this group recorded its timings"
    past = last.timings
    seconds = past.get("update-scaling-config", 0.0) + past.get("verify", 0.0) + past.get("publish", 0.0)
    if builds:
        seconds += past.get("build", 0.0)
    if probes:
        seconds += past.get("probe", 0.0)
    if batches and last.batches:
        seconds += past.get("rolling-update", 0.0) / last.batches * batches
    return round(seconds, 1), (
        f"from the release of {last.image_after} ({last.updated_at}): "
        f"{past.get('rolling-update', 0.0):.1f} s for {last.batches} batch(es)"
    )

"""What a release says at its end: the ``ReleaseResult``, built once, from what each stage returned. Pure: no cloud,
no Prefect, so every outcome (released, unchanged, failed with nothing changed, rolled back, rollback incomplete)
is unit-tested."""

from __future__ import annotations

from pydantic import BaseModel, Field

from tasks.models import (
    ConfigChange,
    ImageRef,
    InstanceState,
    Recovery,
    ReleaseResult,
    RollbackResult,
    RolloutResult,
    Span,
    Verification,
)
from tasks.probe import Probe


class StageOutputs(BaseModel):
    """What the stages of one release returned, as far as it got."""

    group_name: str
    image: ImageRef
    config_before: str
    instances_before: list[InstanceState] = []
    produced: bool = Field(False, description="something was built or pushed")
    recovery: Recovery | None = None
    change: ConfigChange | None = None
    probe: Probe | None = None
    rollout: RolloutResult | None = None
    execution_id: str | None = Field(None, description="the OOS execution, as soon as it existed")
    swept: list[InstanceState] | None = None
    health_checked: list[str] = []
    changed: list[str] = Field(default_factory=list, description="what the release changed in the cloud")
    timings: dict[str, float] = {}
    timeline: list[Span] = []
    skipped: dict[str, str] = {}


def _verification(outputs: StageOutputs) -> Verification | None:
    if outputs.swept is None:
        return None
    probe = outputs.probe or Probe(note=outputs.skipped.get("probe", ""))
    return Verification(
        swept=outputs.swept,
        probe_instance_id=probe.instance_id,
        probe_image=probe.image,
        probe_health=probe.health,
        scaled_out=probe.instance_id is not None,
        health_checked=outputs.health_checked,
        note=probe.note,
    )


def release_result(
    outputs: StageOutputs,
    *,
    error: BaseException | None = None,
    rollback: RollbackResult | None = None,
    instances_now: list[InstanceState] | None = None,
) -> ReleaseResult:
    """The result of a release that got as far as ``outputs`` says. ``error``: why it stopped early; ``rollback``:
    what undoing its changes did (None when it changed nothing)."""
    pinned = outputs.image.pinned
    common = dict(
        image=outputs.image,
        config_before=outputs.config_before,
        execution_id=outputs.execution_id,
        instances_before=outputs.instances_before,
        recovery=outputs.recovery,
        timings=outputs.timings,
        timeline=outputs.timeline,
        skipped=outputs.skipped,
    )
    recovered = f"first recovered an unfinished release ({outputs.recovery.done}); " if outputs.recovery else ""
    if error is None:
        unchanged = not outputs.produced and not outputs.changed
        return ReleaseResult(
            status="unchanged" if unchanged else "released",
            config_after=outputs.change.image_after if outputs.change else None,
            instances_after=outputs.swept or [],
            verification=_verification(outputs),
            message=recovered
            + (
                f"{outputs.group_name} already runs {pinned}; nothing changed"
                if unchanged
                else f"{outputs.group_name} runs {pinned} on {len(outputs.swept or [])} instance(s)"
            ),
            **common,
        )
    if rollback is None:
        return ReleaseResult(
            status="failed",
            config_after=outputs.config_before,
            instances_after=instances_now or [],
            message=f"{recovered}release of {pinned} to {outputs.group_name} failed ({error}); nothing was changed",
            **common,
        )
    outcome = "rolled back" if rollback.complete else "ROLLBACK INCOMPLETE, check the group"
    return ReleaseResult(
        status="rolled_back" if rollback.complete else "failed",
        config_after=outputs.config_before if rollback.complete else None,
        instances_after=instances_now or [],
        rollback=rollback,
        message=f"{recovered}release of {pinned} failed ({error}); {outcome}: {rollback.message}",
        **common,
    )

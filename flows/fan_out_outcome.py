"""What a fan-out plans and what it says at its end: the groups and their waves, each group's outcome read from its
release run (and the release record the run left), the ``FanOutResult`` and its markdown report. Pure: no cloud, no
Prefect server, so every outcome is unit-tested."""

from __future__ import annotations

from typing import Literal

from prefect.client.schemas.objects import FlowRun, StateType
from pydantic import BaseModel, Field

from flows.parameters import REGION_PATTERN
from flows.report import short_image
from tasks.release_record import ReleaseRecord

GroupStatus = Literal["released", "unchanged", "rolled_back", "failed", "cancelled", "unfinished", "not_started"]
SUCCEEDED = ("released", "unchanged")


class FanOutGroup(BaseModel):
    scaling_group: str = Field(min_length=1, description="scaling group id (asg-...) or name")
    region_id: str | None = Field(None, pattern=REGION_PATTERN, description="its region; empty: the credentials'")

    @classmethod
    def parse(cls, text: str) -> "FanOutGroup":
        """``GROUP`` or ``REGION/GROUP`` (group names hold no ``/``), as the command line takes them."""
        region, _, group = text.rpartition("/")
        return cls(scaling_group=group, region_id=region or None)

    @property
    def label(self) -> str:
        return f"{self.region_id}/{self.scaling_group}" if self.region_id else self.scaling_group


class GroupOutcome(BaseModel):
    group: str = Field(description="the group as it was named")
    region_id: str
    status: GroupStatus
    message: str
    scaling_group_id: str | None = None
    flow_run_id: str | None = Field(None, description="the group's run of the release deployment")
    flow_run_name: str | None = None


class FanOutResult(BaseModel):
    status: Literal["released", "failed"] = Field(description="released: every group released (or unchanged)")
    message: str
    image: str | None = Field(None, description="the image every group was given, pinned by digest")
    groups: list[GroupOutcome] = Field(description="every group's outcome, in the order they were named")


def waves(groups: list[FanOutGroup], canary: FanOutGroup | None) -> list[list[FanOutGroup]]:
    """The canary alone first (when there is one), then every other group at once."""
    return [[canary], groups] if canary else [groups]


def check_groups(groups: list[FanOutGroup], canary: FanOutGroup | None, default_region: str) -> None:
    """Refuse, before anything starts, a fan-out with no group, or a group named twice."""
    named = ([canary] if canary else []) + groups
    if not groups:
        raise ValueError("name at least one group besides the canary")
    seen, twice = set(), []
    for group in named:
        key = (group.region_id or default_region, group.scaling_group)
        if key in seen:
            twice.append(group.label)
        seen.add(key)
    if twice:
        raise ValueError(f"groups named more than once: {', '.join(twice)} (the canary counts too)")


def group_outcome(
    group: FanOutGroup,
    region: str,
    group_id: str,
    run: FlowRun,
    record: ReleaseRecord | None,
    waited_seconds: float,
) -> GroupOutcome:
    """The outcome of one group's release run: its final state says whether it succeeded; the release record it
    left (a run that changes nothing leaves none) says whether it released or rolled back, and how."""
    mine = record if record is not None and record.flow_run_id == str(run.id) else None
    state = run.state
    if state is None or not state.is_final():
        status = "unfinished"
        message = (
            f"still {state.name if state else 'not scheduled'} after {waited_seconds:.0f} s; the run goes on, and "
            "its own report says how it ended"
        )
    elif state.type == StateType.COMPLETED:
        status = "released" if mine else "unchanged"
        message = mine.message if mine else f"{group.label} already ran the image; nothing changed"
    elif state.type == StateType.CANCELLED:
        status, message = "cancelled", state.message or "cancelled"
    else:  # failed or crashed
        status = "rolled_back" if mine and mine.state == "rolled_back" else "failed"
        message = (mine.message if mine and mine.message else None) or state.message or state.name
    return GroupOutcome(
        group=group.label,
        region_id=region,
        status=status,
        message=message,
        scaling_group_id=group_id,
        flow_run_id=str(run.id),
        flow_run_name=run.name,
    )


def not_started(group: FanOutGroup, region: str, why: str, group_id: str | None = None) -> GroupOutcome:
    return GroupOutcome(
        group=group.label, region_id=region, status="not_started", message=why, scaling_group_id=group_id
    )


def stop_reason(wave: list[GroupOutcome]) -> str | None:
    """Why the waves after this one do not start, or None when every group of it succeeded."""
    failed = [o for o in wave if o.status not in SUCCEEDED]
    if not failed:
        return None
    return "; ".join(f"the canary {o.group} ended {o.status}" for o in failed)


def fan_out_result(image: str | None, outcomes: list[GroupOutcome]) -> FanOutResult:
    succeeded = [o for o in outcomes if o.status in SUCCEEDED]
    others = [o for o in outcomes if o.status not in SUCCEEDED]
    message = f"{len(succeeded)} of {len(outcomes)} group(s) run {image}"
    if others:
        message += "; " + "; ".join(f"{o.group} {o.status}: {o.message}" for o in others)
    return FanOutResult(status="failed" if others else "released", message=message, image=image, groups=list(outcomes))


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def render_markdown(result: FanOutResult) -> str:
    lines = [
        f"# Fan-out of `{short_image(result.image)}` to {len(result.groups)} group(s): {result.status}",
        "",
        _cell(result.message),
        "",
        f"**Image:** `{result.image}`",
        "",
        "| group | region | status | message | flow run |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {_cell(o.group)} | {o.region_id} | {o.status} | {_cell(o.message)} | "
        + (f"{o.flow_run_name} `{o.flow_run_id}`" if o.flow_run_id else "")
        + " |"
        for o in result.groups
    ]
    return "\n".join(lines) + "\n"

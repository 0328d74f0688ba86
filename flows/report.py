"""The release report: the markdown of the artifact at the end of every run (status and message, pin, image,
configuration before and after, OOS execution, seconds per stage, verification, rollback, and the instances
before and after)."""

from __future__ import annotations

from tasks.models import InstanceState, ReleaseResult


def _instances(rows: list[InstanceState]) -> str:
    if not rows:
        return "_none_\n"
    lines = ["| instance | state | status | address | image |", "|---|---|---|---|---|"]
    lines += [f"| {i.instance_id} | {i.lifecycle_state} | {i.status} | {i.ip} | `{i.image}` |" for i in rows]
    return "\n".join(lines) + "\n"


def render_markdown(result: ReleaseResult, group: str) -> str:
    parts = [f"# Release to `{group}`: {result.status}\n", f"{result.message}\n"]
    if result.pin:
        parts.append(f"**Pinned to:** `{result.pin}` (nightly and push runs leave the group alone)\n")
    if result.image:
        parts.append(f"**Image:** `{result.image}`\n")
    parts.append(f"**Scaling configuration:** `{result.config_before}` → `{result.config_after}`\n")
    if result.execution_id:
        parts.append(f"**OOS execution:** `{result.execution_id}`\n")
    parts.append("## Stages\n\n| stage | seconds | note |\n|---|---|---|\n")
    stages = dict.fromkeys([*result.timings, *result.skipped])
    parts += [
        f"| {stage} | {result.timings.get(stage, 0):.1f} | {result.skipped.get(stage, '')} |\n" for stage in stages
    ]
    if result.verification:
        v = result.verification
        probe = (
            f"new instance `{v.probe_instance_id}` on `{v.probe_image}`, {v.probe_health}" if v.scaled_out else v.note
        )
        parts.append(f"\n## Verification\n\n{len(v.swept)} InService instance(s) on the image; {probe}\n")
    if result.rollback:
        parts.append(f"\n## Rollback\n\n{result.rollback.message}\n")
    parts.append(f"\n## Instances before\n\n{_instances(result.instances_before)}")
    parts.append(f"\n## Instances after\n\n{_instances(result.instances_after)}")
    return "".join(parts)

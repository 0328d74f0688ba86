"""The release report: the markdown of the artifact at the end of every run (status and message, pin, image,
configuration before and after, OOS execution, seconds per stage, a timeline of the stages and the cloud's own
work, verification, rollback, and the instances before and after)."""

from __future__ import annotations

from tasks.models import InstanceState, ReleaseResult, Span

TIMELINE_WIDTH = 48  # characters of the time axis


def short_image(reference: str | None) -> str:
    """``registry/ns/repo@sha256:<64 hex>`` as ``repo@sha256:<12 hex>``, so a table reads at a normal width."""
    if not reference:
        return ""
    name, at, digest = reference.partition("@")
    return name.rsplit("/", 1)[-1] + (at + digest[: len("sha256:") + 12] if at else "")


def _instances(rows: list[InstanceState]) -> str:
    if not rows:
        return "_none_\n"
    lines = ["| instance | state | status | address | image |", "|---|---|---|---|---|"]
    lines += [
        f"| {i.instance_id} | {i.lifecycle_state} | {i.status} | {i.ip} | `{short_image(i.image)}` |" for i in rows
    ]
    images = sorted({i.image for i in rows if i.image and short_image(i.image) != i.image})
    lines += ["", *(f"`{short_image(image)}` is `{image}`  " for image in images)]
    return "\n".join(lines) + "\n"


def _covered(spans: list[Span]) -> float:
    """Seconds during which at least one of ``spans`` ran (their union)."""
    total, reach = 0.0, float("-inf")
    for span in sorted(spans, key=lambda s: s.start):
        end = span.start + span.seconds
        if end > reach:
            total += end - max(span.start, reach)
            reach = end
    return total


def _nested(timeline: list[Span]) -> list[Span]:
    """Each stage followed by the cloud's work it started: the work goes under the last stage that began before
    it, with a second's slack, since the cloud's clock counts whole seconds (a start it shows as 3 s may be 3.9 s)."""
    stages = sorted((s for s in timeline if s.kind == "pipeline"), key=lambda s: s.start)
    under: dict[int, list[Span]] = {}
    for work in sorted((s for s in timeline if s.kind == "cloud"), key=lambda s: s.start):
        began = [n for n, stage in enumerate(stages) if stage.start <= work.start + 1]
        under.setdefault(began[-1] if began else -1, []).append(work)
    return [*under.get(-1, []), *(span for n, stage in enumerate(stages) for span in (stage, *under.get(n, [])))]


def render_timeline(timeline: list[Span]) -> str:
    """The run on one time axis, a row per stage (``─``) and per piece of the cloud's own work (``█``), and how
    much of the wall time was the cloud's."""
    if not timeline:
        return ""
    end = max(s.start + s.seconds for s in timeline)
    scale = TIMELINE_WIDTH / end if end > 0 else 0.0
    name_width = max(len(s.name) for s in timeline) + 2
    rows = [f"{'':{name_width}}{'start':>7}{'s':>7}  |0 s{f'{end:.1f} s':>{TIMELINE_WIDTH - 3}}|"]
    for span in _nested(timeline):
        lead = round(span.start * scale)
        bar = max(1, round(span.seconds * scale))
        mark = "█" if span.kind == "cloud" else "─"
        name = f"  {span.name}" if span.kind == "cloud" else span.name
        axis = (" " * lead + mark * bar)[:TIMELINE_WIDTH].ljust(TIMELINE_WIDTH)
        rows.append(f"{name:{name_width}}{span.start:7.1f}{span.seconds:7.1f}  |{axis}|")
    cloud = _covered([s for s in timeline if s.kind == "cloud"])
    summary = (
        f"{end:.1f} s in all: the cloud's own work (█) {cloud:.1f} s, the pipeline's own time and waits "
        f"{end - cloud:.1f} s. The cloud reports its times to the second."
    )
    return "\n## Timeline\n\n```\n" + "\n".join(rows) + "\n```\n\n" + summary + "\n"


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
    parts.append(render_timeline(result.timeline))
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

"""The release report's timeline and its short image references."""

from __future__ import annotations

from flows.report import render_markdown, render_timeline, short_image
from tasks.models import InstanceState, ReleaseResult, Span

DIGEST = "sha256:" + "0123456789abcdef" * 4
LONG = f"127.0.0.1:5000/ess_eci_test_namespace/ess_eci_test_repo@{DIGEST}"


def test_an_image_pinned_by_digest_is_shortened_to_its_repository_and_twelve_hex_digits():
    assert short_image(LONG) == "ess_eci_test_repo@sha256:0123456789ab"
    assert short_image("registry.example/ns/app:v2") == "app:v2"
    assert short_image(None) == ""


def test_instance_tables_show_the_short_reference_and_the_full_one_below():
    row = InstanceState(instance_id="eci-1", lifecycle_state="InService", status="Running", ip="127.0.0.2", image=LONG)
    report = render_markdown(ReleaseResult(status="released", message="ok", instances_after=[row]), "g")
    table = report[report.index("## Instances after") :]
    assert "| `ess_eci_test_repo@sha256:0123456789ab` |" in table
    assert f"is `{LONG}`" in table and table.count(LONG) == 1


def test_the_timeline_puts_stages_and_the_clouds_work_on_one_axis_and_tells_their_time_apart():
    timeline = [
        Span(name="update-scaling-config", start=0.0, seconds=1.0, kind="pipeline"),
        Span(name="rolling-update", start=1.0, seconds=9.0, kind="pipeline"),
        Span(name="OOS exec-1", start=2.0, seconds=6.0, kind="cloud"),
        Span(name="update eci-1", start=2.0, seconds=3.0, kind="cloud"),
        Span(name="update eci-2", start=7.0, seconds=1.0, kind="cloud"),
    ]
    text = render_timeline(timeline)
    rows = {line.split("|")[0].strip().rsplit(None, 2)[0]: line for line in text.splitlines() if line.count("|") == 2}
    axis = rows["rolling-update"].split("|")[1]
    assert len(axis) == 48 and axis.index("─") == round(1.0 * 48 / 10) and axis.count("─") == round(9.0 * 48 / 10)
    assert rows["OOS exec-1"].split("|")[1].index("█") == round(2.0 * 48 / 10)
    # The cloud's spans overlap: their union (2 s to 8 s) is the cloud's time, the rest the pipeline's.
    assert "10.0 s in all: the cloud's own work (█) 6.0 s, the pipeline's own time and waits 4.0 s" in text
    assert render_timeline([]) == ""


def test_the_clouds_work_is_listed_under_the_stage_that_started_it_despite_its_whole_second_clock():
    timeline = [
        Span(name="update-scaling-config", start=3.6, seconds=0.1, kind="pipeline"),
        Span(name="probe", start=3.7, seconds=2.7, kind="pipeline"),
        Span(name="probe scale-out asa-1", start=3.0, seconds=2.0, kind="cloud"),  # began at 3.8, shown as 3
        Span(name="rolling-update", start=6.4, seconds=6.9, kind="pipeline"),
        Span(name="OOS exec-1", start=6.0, seconds=5.0, kind="cloud"),
    ]
    lines = [line for line in render_timeline(timeline).splitlines() if line.count("|") == 2]
    named = [line.split("|")[0].strip().rsplit(None, 2)[0] for line in lines[1:]]
    assert named == ["update-scaling-config", "probe", "probe scale-out asa-1", "rolling-update", "OOS exec-1"]

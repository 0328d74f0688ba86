"""The fan-out's pure parts: the groups as named, their waves, each group's outcome from its release run and the
record the run left, the result and its report."""

from __future__ import annotations

from uuid import uuid4

import pytest
from prefect.client.schemas.objects import FlowRun
from prefect.states import Cancelled, Completed, Crashed, Failed, Running
from pydantic import ValidationError

from flows import fan_out_outcome as fan
from tasks.release_record import ReleaseRecord

REGION = "cn-hangzhou"
IMAGE = "registry.local/team/app@sha256:" + "a" * 64


def _group(text: str) -> fan.FanOutGroup:
    return fan.FanOutGroup.parse(text)


def _run(state) -> FlowRun:
    return FlowRun(id=uuid4(), flow_id=uuid4(), name="fan-out-1-web-a", state=state)


def _record(run: FlowRun | None, state: str, message: str) -> ReleaseRecord:
    return ReleaseRecord(
        group_id="asg-a",
        group_name="web-a",
        trigger="manual",
        flow_run_id=str(run.id) if run else str(uuid4()),
        state=state,
        step="done",
        scaling_configuration_id="asc-a",
        container="web",
        image_before="registry.local/team/app:old",
        image_after=IMAGE,
        message=message,
    )


def test_a_group_is_named_alone_or_with_its_region():
    assert _group("web-a") == fan.FanOutGroup(scaling_group="web-a")
    assert _group("cn-beijing/web-a") == fan.FanOutGroup(scaling_group="web-a", region_id="cn-beijing")
    assert _group("cn-beijing/web-a").label == "cn-beijing/web-a" and _group("asg-123").label == "asg-123"
    for bad in ("Not A Region/web-a", "cn-beijing/", "a/b/c"):
        with pytest.raises(ValidationError):
            _group(bad)


def test_the_canary_goes_alone_first_then_every_other_group_at_once():
    a, b, c = _group("a"), _group("b"), _group("c")
    assert fan.waves([b, c], a) == [[a], [b, c]]
    assert fan.waves([a, b, c], None) == [[a, b, c]]


def test_a_group_named_twice_is_refused_before_anything_starts():
    fan.check_groups([_group("a"), _group(f"{REGION}/b")], _group("c"), REGION)
    with pytest.raises(ValueError, match="more than once: a"):
        fan.check_groups([_group("a"), _group("b")], _group("a"), REGION)
    with pytest.raises(ValueError, match=f"more than once: {REGION}/a"):
        fan.check_groups([_group("a"), _group(f"{REGION}/a")], None, REGION)
    fan.check_groups([_group("a"), _group("cn-beijing/a")], None, REGION)  # the same name in another region


def test_a_completed_run_released_when_it_left_a_record_and_was_unchanged_when_it_did_not():
    run = _run(Completed())
    released = fan.group_outcome(_group("web-a"), REGION, "asg-a", run, _record(run, "released", "web-a runs it"), 60)
    assert (released.status, released.message, released.flow_run_id) == ("released", "web-a runs it", str(run.id))
    # The record is an earlier release's: this run changed nothing.
    unchanged = fan.group_outcome(_group("web-a"), REGION, "asg-a", run, _record(None, "released", "earlier"), 60)
    assert unchanged.status == "unchanged" and "nothing changed" in unchanged.message
    assert fan.group_outcome(_group("web-a"), REGION, "asg-a", run, None, 60).status == "unchanged"


def test_a_failed_run_rolled_back_or_failed_as_its_record_says():
    run = _run(Failed(message="Flow run encountered an exception: ReleaseFailed: probe failed"))
    rolled = fan.group_outcome(
        _group("web-a"), REGION, "asg-a", run, _record(run, "rolled_back", "probe; rolled back"), 60
    )
    assert (rolled.status, rolled.message) == ("rolled_back", "probe; rolled back")
    for state in ("failed", "rolling-back"):  # a rollback that did not finish is a failure
        assert fan.group_outcome(_group("web-a"), REGION, "asg-a", run, _record(run, state, "x"), 60).status == "failed"
    nothing_changed = fan.group_outcome(_group("web-a"), REGION, "asg-a", run, None, 60)
    assert nothing_changed.status == "failed" and "probe failed" in nothing_changed.message
    crashed = fan.group_outcome(_group("web-a"), REGION, "asg-a", _run(Crashed(message="worker lost")), None, 60)
    assert (crashed.status, crashed.message) == ("failed", "worker lost")


def test_a_cancelled_run_says_why_and_one_still_running_is_unfinished():
    superseded = _run(Cancelled(message="superseded by the newer run 'x'"))
    outcome = fan.group_outcome(_group("web-a"), REGION, "asg-a", superseded, None, 60)
    assert (outcome.status, outcome.message) == ("cancelled", "superseded by the newer run 'x'")
    running = fan.group_outcome(_group("web-a"), REGION, "asg-a", _run(Running()), None, 7200)
    assert running.status == "unfinished" and "still Running after 7200 s" in running.message


def test_the_rest_does_not_start_when_the_canary_did_not_succeed():
    run = _run(Completed())
    ok = fan.group_outcome(_group("a"), REGION, "asg-a", run, _record(run, "released", "ok"), 60)
    assert fan.stop_reason([ok]) is None
    assert fan.stop_reason([ok.model_copy(update={"status": "unchanged"})]) is None
    failed = ok.model_copy(update={"status": "rolled_back"})
    assert fan.stop_reason([failed]) == "the canary a ended rolled_back"
    skipped = fan.not_started(_group("b"), REGION, fan.stop_reason([failed]), "asg-b")
    assert (skipped.status, skipped.message, skipped.flow_run_id) == (
        "not_started",
        "the canary a ended rolled_back",
        None,
    )


def test_the_result_lists_every_group_and_is_released_only_when_every_group_succeeded():
    run = _run(Completed())
    a = fan.group_outcome(_group("a"), REGION, "asg-a", run, _record(run, "released", "a runs it"), 60)
    b = a.model_copy(update={"group": "b", "status": "rolled_back", "message": "probe | failed\non b; rolled back"})
    c = a.model_copy(update={"group": "c", "status": "unchanged"})
    assert fan.fan_out_result(IMAGE, [a, c]).status == "released"
    result = fan.fan_out_result(IMAGE, [a, b, c])
    assert result.status == "failed" and [g.group for g in result.groups] == ["a", "b", "c"]
    assert result.message.startswith(f"2 of 3 group(s) run {IMAGE}; b rolled_back: probe")
    report = fan.render_markdown(result)
    assert report.startswith("# Fan-out of `app@sha256:aaaaaaaaaaaa` to 3 group(s): failed")
    rows = [line for line in report.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) == 3 and rows[1].startswith("| b | cn-hangzhou | rolled_back | probe \\| failed on b;")
    assert rows[0].endswith(f"fan-out-1-web-a `{run.id}` |")

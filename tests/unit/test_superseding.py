"""Which run supersedes a run that just got its group's lock: the newest standing request for the group that
began after it; never an automatic run over one a person started."""

from datetime import datetime, timedelta, timezone
from uuid import uuid4

from prefect.client.schemas.objects import FlowRun, StateType

from flows.group_lock import superseding_run, trigger_tag

T0 = datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc)


def _run(minutes: float, trigger: str = "manual", state: StateType = StateType.RUNNING, started: float = 0):
    """A run asked for at T0 + ``minutes`` (its expected start), that started running at T0 + ``started``."""
    return FlowRun(
        id=uuid4(),
        flow_id=uuid4(),
        name=f"{trigger}-{minutes}",
        tags=[trigger_tag(trigger)],
        state_type=state,
        expected_start_time=T0 + timedelta(minutes=minutes),
        start_time=T0 + timedelta(minutes=started),
        created=T0 - timedelta(days=1),
    )


def test_the_newest_later_request_wins():
    me, later, latest, earlier = _run(1), _run(2), _run(3), _run(0)
    assert superseding_run(me, "manual", [me, later, latest, earlier]) == latest
    assert superseding_run(latest, "manual", [me, later, latest, earlier]) is None


def test_a_later_run_that_already_released_still_supersedes_but_a_failed_or_cancelled_one_does_not():
    me = _run(1)
    assert superseding_run(me, "manual", [me, _run(2, state=StateType.COMPLETED)]) is not None
    for ended in (StateType.FAILED, StateType.CANCELLED, StateType.CRASHED):
        assert superseding_run(me, "manual", [me, _run(2, state=ended)]) is None


def test_what_counts_is_when_a_run_was_asked_for_not_when_it_started_running():
    me = _run(1, started=5)  # asked for first, but its worker was slow
    newer = _run(2, started=3)
    assert superseding_run(me, "manual", [me, newer]) == newer
    assert superseding_run(newer, "manual", [me, newer]) is None


def test_an_automatic_run_never_supersedes_a_run_a_person_started():
    for person in ("manual", "rollback"):
        me = _run(1, trigger=person)
        assert superseding_run(me, person, [me, _run(2, trigger="nightly")]) is None
    nightly = _run(1, trigger="nightly")
    assert superseding_run(nightly, "nightly", [nightly, _run(2, trigger="manual")]) is not None


def test_a_run_no_worker_has_started_yet_counts_by_its_trigger_parameter():
    def waiting(minutes: float, trigger: str) -> FlowRun:
        run = _run(minutes, state=StateType.SCHEDULED)
        return run.model_copy(update={"tags": ["eci-release", "on-push"], "parameters": {"trigger": trigger}})

    me = _run(1, trigger="push")
    newer_push = waiting(2, "push")
    assert superseding_run(me, "push", [me, newer_push]) == newer_push
    manual = _run(1, trigger="manual")
    assert superseding_run(manual, "manual", [manual, newer_push]) is None
    assert superseding_run(manual, "manual", [manual, waiting(2, "manual")]) is not None

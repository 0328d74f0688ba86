"""How a fan-out wave waits for its release runs on a Prefect server: until every run has ended, or until the wave's
timeout, when it returns each run as the server has it then (the fan-out reports those unfinished)."""

from __future__ import annotations

import time

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.states import Completed, Running, Scheduled

from flows.fan_out import wait_for_runs


@flow(name="fan-out-wait-test")
def _never_run() -> None:
    """Only the runs' records matter here: no worker runs them."""


def test_at_the_wave_timeout_each_run_is_returned_as_the_server_has_it(prefect_harness):
    with get_client(sync_client=True) as client:
        ended, running = (client.create_flow_run(_never_run, state=Scheduled()) for _ in range(2))
        client.set_flow_run_state(ended.id, Completed(), force=True)
        client.set_flow_run_state(running.id, Running(), force=True)

    # The runs as they were created (Scheduled); the wait reads what became of them.
    latest = wait_for_runs({"ended": ended, "running": running}, timeout=1.0)

    assert latest["ended"].state.is_completed()
    assert latest["running"].state.is_running()  # read at the deadline, not the Scheduled state it was given


def test_a_wave_whose_runs_all_ended_returns_them_ended(prefect_harness):
    with get_client(sync_client=True) as client:
        runs = {label: client.create_flow_run(_never_run, state=Scheduled()) for label in ("a", "b")}
        for run in runs.values():
            client.set_flow_run_state(run.id, Completed(), force=True)

    # A deadline an hour away: the wait must end on the runs' states, in about one poll.
    started = time.monotonic()
    latest = wait_for_runs(runs, timeout=3600)

    assert time.monotonic() - started < 60
    assert all(run.state.is_completed() for run in latest.values())

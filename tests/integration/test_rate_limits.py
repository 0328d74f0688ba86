"""How a process keeps to the rate limits on a Prefect server: a write takes a slot there, a read is paced in the
process at its share, the limit divided among the releases holding their group's lock."""

from __future__ import annotations

import time

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, GlobalConcurrencyLimitUpdate

from tasks.rate_limits import GROUP_LOCK_PREFIX, Limiter, limit_name

READ, WRITE = "ess:DescribeScalingGroups", "ess:ModifyEciScalingConfiguration"


@pytest.fixture
def limits(prefect_harness, monkeypatch):
    monkeypatch.setenv("ECI_RELEASE_RATE_LIMIT_PREFIX", "eci-release-test-rate")
    created = []

    def create(name: str, limit: int, per_second: float = 0.0) -> str:
        with get_client(sync_client=True) as client:
            client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(name=name, limit=limit, slot_decay_per_second=per_second)
            )
        created.append(name)
        return name

    yield create
    with get_client(sync_client=True) as client:
        for name in created:
            client.delete_global_concurrency_limit_by_name(name)


def _hold_group_locks(count: int, create) -> None:
    """``count`` releases holding their group's lock, as the server sees them."""
    with get_client(sync_client=True) as client:
        for n in range(count):
            name = create(f"{GROUP_LOCK_PREFIX}test-{n}", 1)
            client.increment_concurrency_slots(names=[name], slots=1, mode="concurrency")


def _seconds_for(limiter: Limiter, key: str, calls: int) -> float:
    started = time.monotonic()
    for _ in range(calls):
        limiter.take(key)
    return time.monotonic() - started


def test_reads_are_paced_at_the_share_of_the_releases_holding_locks_without_a_slot_each(limits):
    name = limits(limit_name(READ), 10, per_second=10.0)
    _hold_group_locks(2, limits)
    limiter = Limiter()
    limiter.take(READ)  # the limits read, the client open: not timed
    # Two releases share 10 reads a second with a burst of 10: this one has 5 and 5, one of them taken. Ten reads:
    # four at once, the others 0.2 s apart (alone it would have made nine at once and the last 0.1 s later).
    assert _seconds_for(limiter, READ, 10) >= 0.9
    with get_client(sync_client=True) as client:
        assert client.read_global_concurrency_limit_by_name(name).active_slots == 0  # no slot taken on the server


def test_reads_take_slots_on_the_server_when_more_releases_share_the_limit_than_its_burst(limits):
    name = limits(limit_name(READ), 2, per_second=0.5)
    _hold_group_locks(3, limits)  # a third of a call's burst each: not something a process can pace alone
    Limiter().take(READ)
    with get_client(sync_client=True) as client:
        assert client.read_global_concurrency_limit_by_name(name).active_slots == 1


def test_writes_take_a_slot_of_the_limit_on_the_server(limits):
    name = limits(limit_name(WRITE), 1, per_second=0.5)
    limiter = Limiter()
    started = time.monotonic()
    limiter.take(WRITE)
    with get_client(sync_client=True) as client:
        assert client.read_global_concurrency_limit_by_name(name).active_slots == 1  # until 2 s after it was taken
    # A burst of one, one every 2 s: the next write waits for that slot to decay.
    limiter.take(WRITE)
    assert time.monotonic() - started >= 1.5


def test_a_call_without_an_active_limit_goes_straight_out(limits):
    limits(limit_name(READ), 1, per_second=0.1)
    with get_client(sync_client=True) as client:
        client.update_global_concurrency_limit(limit_name(READ), GlobalConcurrencyLimitUpdate(active=False))
    assert _seconds_for(Limiter(), READ, 5) < 5  # at 0.1 a second, five reads would take 40 s

"""Polling the cloud until something settles, at a pace set by how long the wait has lasted, with a deadline that
says what it waited for.

Only the cloud's own answer or the deadline ends a wait: a status read that still fails after its retries
(throttling, 5xx, a dropped connection) is logged and tried again at the next poll.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

from tasks.cloud_calls import is_hiccup
from tasks.logs import logger

T = TypeVar("T")


CLOSING_IN = 0.02  # seconds between the polls around a wait's expected end: half of it is how late the end is seen
# Polls before a wait's expected end come this share of the time still expected apart: a wait that ends a little
# early (a batch 0.3 s shorter than the last one) is seen within a sixth of that.
CLOSING_SHARE = 1 / 6


class WaitTimeout(TimeoutError):
    pass


def next_delay(waited: float, *, first: float, cap: float, expected: float | None = None, share: float = 0.1) -> float:
    """Seconds until the next poll after ``waited`` seconds, up to ``cap``.

    Without ``expected``: a ``share`` of the time waited so far, ``first`` at least. A wait notices its end at most a
    tenth of its length late (a 4 s scale-out within 0.4 s), and the polls of a long wait grow with the logarithm of
    its length.

    With ``expected`` (how long the same wait took last time): the polls also close in on it, ``CLOSING_SHARE`` of
    the time still expected apart and ``CLOSING_IN`` apart at the end; past it, a tenth of the overrun. Never later
    than without it: a wait that ends far sooner than the last one did is seen as soon as it would have been. A 4 s
    wait that ends when expected is seen within 0.02 s (33 polls), where a tenth of the time waited is 0.3 s late
    (18 polls); a 60 s one within 0.02 s (76 polls), against 1.1 s (46 polls)."""
    without = min(cap, max(first, share * waited))
    if expected is None:
        return without
    if waited < expected:
        return min(without, max(CLOSING_IN, CLOSING_SHARE * (expected - waited)))
    return min(without, max(CLOSING_IN, share * (waited - expected)))


class Pace:
    """When to poll next in a wait that may come in phases (an OOS execution's batches): each phase starts with
    ``restart`` and what it is expected to last."""

    def __init__(self, *, first: float = 0.2, cap: float = 5.0, expected: float | None = None) -> None:
        self.first, self.cap = first, cap
        self.restart(expected)

    def restart(self, expected: float | None) -> None:
        self.started, self.expected = time.monotonic(), expected

    @property
    def waited(self) -> float:
        return time.monotonic() - self.started

    def delay(self) -> float:
        return next_delay(self.waited, first=self.first, cap=self.cap, expected=self.expected)


class Durations:
    """How long each kind of wait took (the probe's scale-out, an OOS batch), in seconds: read from the group's last
    release record and updated as this release goes, so that a wait's polls close in on when it is expected to end."""

    def __init__(self, seconds: dict[str, float] | None = None) -> None:
        self.seconds = dict(seconds or {})

    def expected(self, kind: str) -> float | None:
        return self.seconds.get(kind)

    @contextmanager
    def timing(self, kind: str) -> Iterator[float | None]:
        """Time a wait of ``kind``, yielding how long it is expected to last; kept only for a wait that ended."""
        started = time.monotonic()
        yield self.expected(kind)
        self.took(kind, time.monotonic() - started)

    def took(self, kind: str, seconds: float) -> None:
        self.seconds[kind] = round(seconds, 3)


def poll(
    probe: Callable[[], T | None],
    *,
    what: str,
    timeout: float,
    first: float = 0.2,
    cap: float = 5.0,
    expected: float | None = None,
    pace: Pace | None = None,
    excluded: Callable[[], float] = lambda: 0.0,
) -> T:
    """Call ``probe`` until it returns something other than None, at the pace ``next_delay`` sets (closing in on
    ``expected`` seconds when given), or ``pace``'s when the caller restarts it for each phase of the wait.
    ``excluded`` says how many seconds so far do not count against the timeout (waiting for a person)."""
    pace = pace or Pace(first=first, cap=cap, expected=expected)
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = probe()
        except Exception as error:
            if not is_hiccup(error):
                raise
            logger().warning("waiting for %s: %s; trying again", what, error)
            result = None
        if result is not None:
            return result
        delay = pace.delay()
        if time.monotonic() + delay > deadline + excluded():
            raise WaitTimeout(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(delay)

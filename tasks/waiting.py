"""Polling the cloud until something settles, at a pace set by how long the wait has lasted, with a deadline that
says what it waited for.

Only the cloud's own answer or the deadline ends a wait: a status read that still fails after its retries
(throttling, 5xx, a dropped connection) is logged and tried again at the next poll.
"""

from __future__ import annotations

import time
from typing import Callable, TypeVar

from tasks.cloud_calls import is_hiccup
from tasks.logs import logger

T = TypeVar("T")


class WaitTimeout(TimeoutError):
    pass


def next_delay(waited: float, *, first: float, cap: float, share: float = 0.1) -> float:
    """Seconds until the next poll after ``waited`` seconds: a ``share`` of the time waited so far, from ``first``
    up to ``cap``. So a wait notices the state it waits for at most a tenth of its length late (a 4 s scale-out
    within 0.4 s), and the polls of a long wait grow with the logarithm of its length, not with the length."""
    return min(cap, max(first, share * waited))


def poll(
    probe: Callable[[], T | None],
    *,
    what: str,
    timeout: float,
    first: float = 0.2,
    cap: float = 5.0,
    excluded: Callable[[], float] = lambda: 0.0,
) -> T:
    """Call ``probe`` until it returns something other than None, at the pace ``next_delay`` sets.
    ``excluded`` says how many seconds so far do not count against the timeout (waiting for a person)."""
    started = time.monotonic()
    deadline = started + timeout
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
        delay = next_delay(time.monotonic() - started, first=first, cap=cap)
        if time.monotonic() + delay > deadline + excluded():
            raise WaitTimeout(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(delay)

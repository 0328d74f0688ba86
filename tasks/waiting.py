"""Polling the cloud with backoff until something settles, with a deadline that says what it waited for.

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


def poll(
    probe: Callable[[], T | None],
    *,
    what: str,
    timeout: float,
    first: float = 0.2,
    cap: float = 5.0,
    factor: float = 1.5,
    excluded: Callable[[], float] = lambda: 0.0,
) -> T:
    """Call ``probe`` until it returns something other than None; back off from ``first`` up to ``cap``.
    ``excluded`` says how many seconds so far do not count against the timeout (waiting for a person)."""
    deadline = time.monotonic() + timeout
    delay = first
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
        if time.monotonic() + delay > deadline + excluded():
            raise WaitTimeout(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(delay)
        delay = min(cap, delay * factor)

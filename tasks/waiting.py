"""Polling the cloud with backoff until something settles, with a deadline that says what it waited for."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

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
        result = probe()
        if result is not None:
            return result
        if time.monotonic() + delay > deadline + excluded():
            raise WaitTimeout(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(delay)
        delay = min(cap, delay * factor)

"""Polling with a deadline, for states that the cloud reaches asynchronously."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


def wait_until(probe: Callable[[], T], *, timeout: float = 60, interval: float = 0.1, what: str = "condition") -> T:
    """Call ``probe`` until it returns something truthy, and return that; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: T = probe()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; last value: {last!r}")
        time.sleep(interval)
        last = probe()
    return last


# How long a release record write may take to reach a Prefect server on SQLite: now and then the server answers an
# update 503 (another write came in between its read and its write) and Prefect's client tries again after about 2 s.
RECORD_WRITE_SECONDS = 5.0

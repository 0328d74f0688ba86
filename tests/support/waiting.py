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

"""Independent calls made at once, for round trips on a run's critical path that do not need each other's answers."""

from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable


def side_by_side(*calls: Callable[[], Any]) -> list[Any]:
    """Each call's answer, in order, once all have returned; the first call's error (in order) is raised after all
    ended. Each runs in a thread of its own with a copy of this context, so the run logger and settings work there."""
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(contextvars.copy_context().run, call) for call in calls]
    return [future.result() for future in futures]

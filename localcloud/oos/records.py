"""What OOS remembers: executions and task executions, as JSON-able dataclasses, and how they end."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

RUNNING = "Running"
WAITING = "Waiting"  # a loop paused by batchPauseOption, until NotifyExecution
SUCCESS = "Success"
FAILED = "Failed"
CANCELLED = "Cancelled"
FINISHED = frozenset({SUCCESS, FAILED, CANCELLED})

_sequence = itertools.count(1)


class ExecutionStopped(Exception):
    """The execution was cancelled, localcloud is stopping or OOS state was reset: unwind, leave the status alone."""


def next_sequence() -> int:
    """A tie-breaker for records created within the same clock tick, so listings keep creation order."""
    return next(_sequence)


@dataclass
class Execution:
    execution_id: str
    template_name: str
    template_id: str
    template_version: str
    parameters: dict[str, Any]
    region_id: str
    parent_execution_id: str = ""
    mode: str = "Automatic"
    loop_mode: str = "Automatic"
    safety_check: str = "ConfirmEveryHighRiskAction"
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    ram_role: str = ""
    resource_group_id: str = ""
    status: str = RUNNING
    status_message: str = ""
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    ended: float | None = None
    seq: int = field(default_factory=next_sequence)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


@dataclass
class TaskExecution:
    task_execution_id: str
    execution_id: str
    task_name: str
    task_action: str
    template_id: str
    properties: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)
    status: str = RUNNING
    status_message: str = ""
    # loop parents: the loop's settings (Items, Concurrency, BatchPauseOption, MaxErrors, Batches, CurrentBatch)
    loop: dict[str, Any] | None = None
    # loop children: one per item, each running a child execution
    parent_task_execution_id: str = ""
    child_execution_id: str = ""
    loop_item: str = ""
    loop_batch_number: int | None = None
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    ended: float | None = None
    seq: int = field(default_factory=next_sequence)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


def touch(record: Execution | TaskExecution) -> None:
    record.updated = time.time()


def finish(record: Execution | TaskExecution, status: str, message: str) -> None:
    assert status in FINISHED, status
    record.status, record.status_message = status, message
    record.ended = record.updated = time.time()

"""How an OOS loop splits its items into batches: ``Fn::CalculateBatch(batchNumber, items)``."""

from __future__ import annotations

import math
from typing import TypeVar

Item = TypeVar("Item")


def calculate_batch(batch_number: int, item_count: int) -> int:
    """Items per batch so that ``item_count`` items fall into ``batch_number`` batches (at least one per batch):
    6 items in 3 batches -> 2; 5 in 2 -> 3; 2 in 5 -> 1."""
    if batch_number < 1:
        raise ValueError(f"batch_number must be at least 1, got {batch_number}")
    return max(1, math.ceil(item_count / batch_number))


def plan_batches(items: list[Item], batch_number: int) -> list[list[Item]]:
    """The items in the order the loop runs them, batch by batch."""
    size = calculate_batch(batch_number, len(items))
    return [items[start : start + size] for start in range(0, len(items), size)]

"""ScaleWithAdjustment's arithmetic: the capacity an adjustment asks for, before the group's MinSize and MaxSize
clamp it."""

from __future__ import annotations

from localcloud.errors import invalid_parameter

ADJUSTMENT_TYPES = ("QuantityChangeInCapacity", "PercentChangeInCapacity", "TotalCapacity")


def requested_capacity(current: int, adjustment_type: str, value: int, min_adjustment_magnitude: int = 0) -> int:
    """``QuantityChangeInCapacity`` adds ``value`` instances; ``PercentChangeInCapacity`` adds ``value`` percent of
    ``current`` (rounded towards zero; a growth of at least ``min_adjustment_magnitude``); ``TotalCapacity`` asks
    for ``value``. Raises ``InvalidParameter`` for a value out of the type's range or an unknown type."""
    if adjustment_type == "QuantityChangeInCapacity":
        if not -1000 <= value <= 1000:
            raise invalid_parameter("AdjustmentValue", "QuantityChangeInCapacity takes -1000 to 1000.")
        return current + value
    if adjustment_type == "PercentChangeInCapacity":
        if not -100 <= value <= 10000:
            raise invalid_parameter("AdjustmentValue", "PercentChangeInCapacity takes -100 to 10000.")
        change = int(current * value / 100)
        if value > 0:
            change = max(change, min_adjustment_magnitude)
        return current + change
    if adjustment_type == "TotalCapacity":
        if not 0 <= value <= 2000:
            raise invalid_parameter("AdjustmentValue", "TotalCapacity takes 0 to 2000.")
        return value
    raise invalid_parameter("AdjustmentType", f"Valid values: {', '.join(ADJUSTMENT_TYPES)}.")

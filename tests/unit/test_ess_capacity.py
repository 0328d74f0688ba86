"""ScaleWithAdjustment's arithmetic, before MinSize and MaxSize clamp it."""

import pytest

from localcloud.errors import ApiError
from localcloud.ess.capacity import requested_capacity


@pytest.mark.parametrize(
    ("current", "adjustment_type", "value", "magnitude", "expected"),
    [
        (3, "QuantityChangeInCapacity", 2, 0, 5),
        (3, "QuantityChangeInCapacity", -5, 0, -2),
        (4, "PercentChangeInCapacity", 50, 0, 6),
        (3, "PercentChangeInCapacity", 10, 0, 3),  # 0.3 of an instance rounds to none
        (3, "PercentChangeInCapacity", 10, 2, 5),  # ... unless the change must be at least 2
        (3, "PercentChangeInCapacity", -50, 2, 2),  # the minimum magnitude applies to growth only
        (3, "TotalCapacity", 7, 0, 7),
    ],
)
def test_each_adjustment_type_asks_for_its_capacity(current, adjustment_type, value, magnitude, expected):
    assert requested_capacity(current, adjustment_type, value, magnitude) == expected


@pytest.mark.parametrize(
    ("adjustment_type", "value", "parameter"),
    [
        ("QuantityChangeInCapacity", 1001, "AdjustmentValue"),
        ("PercentChangeInCapacity", -101, "AdjustmentValue"),
        ("TotalCapacity", 2001, "AdjustmentValue"),
        ("ExactCapacity", 1, "AdjustmentType"),
    ],
)
def test_out_of_range_values_and_unknown_types_are_refused(adjustment_type, value, parameter):
    with pytest.raises(ApiError) as refused:
        requested_capacity(2, adjustment_type, value)
    assert refused.value.code == "InvalidParameter" and f'"{parameter}"' in refused.value.message

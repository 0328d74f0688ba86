"""How the rolling-update loop splits instances into batches: Fn::CalculateBatch(batchNumber, items)."""

import pytest

from localcloud.oos.batches import calculate_batch, plan_batches


@pytest.mark.parametrize(
    "batch_number,item_count,per_batch",
    [(3, 6, 2), (2, 5, 3), (5, 2, 1), (1, 7, 7), (100, 100, 1), (5, 0, 1)],
)
def test_items_per_batch(batch_number, item_count, per_batch):
    assert calculate_batch(batch_number, item_count) == per_batch


def test_six_items_in_three_batches_of_two():
    assert plan_batches(list("abcdef"), 3) == [["a", "b"], ["c", "d"], ["e", "f"]]


def test_the_last_batch_takes_the_remainder():
    assert plan_batches(list("abcde"), 2) == [["a", "b", "c"], ["d", "e"]]


def test_more_batches_than_items_gives_one_item_per_batch():
    assert plan_batches(["a", "b"], 5) == [["a"], ["b"]]


def test_rounding_up_the_batch_size_can_give_fewer_batches_than_asked():
    # 9 items, 4 batches asked: 3 per batch, so 3 batches, as the concurrency OOS computes implies.
    assert [len(batch) for batch in plan_batches(list(range(9)), 4)] == [3, 3, 3]


def test_no_items_no_batches():
    assert plan_batches([], 3) == []


def test_batch_number_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        calculate_batch(0, 4)

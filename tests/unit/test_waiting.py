"""Waiting ends on the cloud's answer or the deadline, never on a read that hiccupped."""

import pytest
from alibabacloud_tea_openapi.exceptions import ClientException, ThrottlingException

from tasks.cloud_calls import CloudCallFailed
from tasks.waiting import CLOSING_IN, CLOSING_SHARE, WaitTimeout, next_delay, poll


def _probe(answers):
    answers = iter(answers)

    def probe():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return probe


def test_a_read_still_throttled_after_its_retries_does_not_end_the_wait():
    throttled = CloudCallFailed("oos ListExecutions", ThrottlingException(code="Throttling.User", message="slow down"))
    assert throttled.transient
    assert poll(_probe([throttled, None, throttled, "Success"]), what="x", timeout=5, first=0.01) == "Success"


def test_the_clouds_refusal_ends_the_wait():
    refused = CloudCallFailed("oos ListExecutions", ClientException(code="EntityNotExists.Execution", message="no"))
    assert not refused.transient
    with pytest.raises(CloudCallFailed, match="EntityNotExists"):
        poll(_probe([None, refused]), what="x", timeout=5, first=0.01)


def test_the_deadline_still_ends_a_wait_of_hiccups():
    throttled = CloudCallFailed("ess DescribeScalingActivities", ThrottlingException(code="Throttling", message="x"))
    with pytest.raises(WaitTimeout, match="waiting for the activity"):
        poll(lambda: (_ for _ in ()).throw(throttled), what="the activity", timeout=0.05, first=0.01)


def test_the_pace_is_a_tenth_of_the_time_waited_between_the_first_interval_and_the_cap():
    assert next_delay(0.0, first=0.2, cap=5.0) == 0.2
    assert next_delay(1.0, first=0.2, cap=5.0) == 0.2
    assert next_delay(4.0, first=0.2, cap=5.0) == pytest.approx(0.4)
    assert next_delay(30.0, first=0.2, cap=2.0) == 2.0


def _polls_until(ends: float, expected: float | None) -> tuple[int, float]:
    """(polls, how late the first poll after ``ends`` came) for a wait that ends at ``ends`` seconds."""
    waited, polls = 0.0, 1
    while waited < ends:
        waited += next_delay(waited, first=0.2, cap=5.0, expected=expected)
        polls += 1
    return polls, waited - ends


def test_a_wait_expected_to_last_closes_in_on_its_end():
    for seconds in (4.0, 13.0, 60.0):
        _, paced_late = _polls_until(seconds, expected=seconds)
        _, tenth_late = _polls_until(seconds, expected=None)
        assert paced_late <= CLOSING_IN < tenth_late


def test_a_wait_far_shorter_than_the_last_one_is_seen_no_later_than_without_it():
    for ends in (0.5, 1.0, 3.0):
        assert _polls_until(ends, expected=60.0)[1] <= _polls_until(ends, expected=None)[1]


def test_a_wait_polls_at_a_share_of_the_time_left_before_its_expected_end_and_of_the_overrun_after():
    assert next_delay(1.0, first=0.2, cap=5.0, expected=4.0) == pytest.approx(0.2)  # no later than without it
    assert next_delay(29.0, first=0.2, cap=5.0, expected=30.0) == pytest.approx(CLOSING_SHARE)
    assert next_delay(4.0 - CLOSING_IN, first=0.2, cap=5.0, expected=4.0) == CLOSING_IN
    assert next_delay(4.0 + CLOSING_IN, first=0.2, cap=5.0, expected=4.0) == CLOSING_IN
    assert next_delay(34.0, first=0.2, cap=5.0, expected=4.0) == pytest.approx(3.0)

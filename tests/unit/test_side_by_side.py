import contextvars
import threading

import pytest

from tasks.side_by_side import side_by_side


def test_the_calls_run_at_once_and_answer_in_order():
    both_started = threading.Barrier(2, timeout=5)  # one after the other, the first would wait here in vain

    def meet(answer):
        both_started.wait()
        return answer

    assert side_by_side(lambda: meet("first"), lambda: meet("second")) == ["first", "second"]


def test_each_call_sees_the_callers_context():
    run = contextvars.ContextVar("run")
    run.set("flow-run-1")
    assert side_by_side(run.get, run.get) == ["flow-run-1", "flow-run-1"]


def test_an_error_is_raised_once_every_call_ended():
    ended = []

    def slow():
        threading.Event().wait(0.2)
        ended.append("slow")

    def broken():
        raise ValueError("no such group")

    with pytest.raises(ValueError, match="no such group"):
        side_by_side(broken, slow)
    assert ended == ["slow"]

"""The pure rules of verification and clean-up: what counts as healthy, which processes the release resumes."""

import pytest

from tasks.processes import TEMPLATE_PROCESSES, processes_to_resume
from tasks.verify import is_healthy


@pytest.mark.parametrize("status", [200, 204, 301, 304])
def test_2xx_and_3xx_are_healthy(status):
    assert is_healthy(status)


@pytest.mark.parametrize("status", [100, 400, 404, 429, 500, 502, 503])
def test_4xx_and_5xx_are_not(status):
    assert not is_healthy(status)


def test_only_the_processes_the_release_suspended_are_resumed():
    suspended_now = ["ScaleIn", "ScaleOut", "HealthCheck", "AddCapacity"]
    assert processes_to_resume(suspended_now, suspended_before=["ScaleIn"]) == ["ScaleOut", "HealthCheck"]
    assert processes_to_resume(suspended_now, suspended_before=list(TEMPLATE_PROCESSES)) == []
    assert processes_to_resume([], suspended_before=[]) == []

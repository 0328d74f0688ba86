"""Contract tests talk to the localcloud with simulated instances, unless marked otherwise: ``runtimes("docker")``
where a test is about the containers themselves, ``runtimes("simulated", "docker")`` where instances start, fail
or stop and both runtimes must show the same behaviour (tests/support/runtimes.py)."""

from __future__ import annotations

import pytest

from tests.support.runtimes import parametrize_local_cloud


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_local_cloud(metafunc, default=("simulated",))

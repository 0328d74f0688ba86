"""Which localcloud each contract test talks to: the one with simulated instances, unless the test is marked
``@pytest.mark.runtimes("docker")`` (it is about the containers themselves: real HTTP answers, real pulls, the
Docker engine) or ``@pytest.mark.runtimes("simulated", "docker")`` (instances start, change or stop, and both
runtimes must show the same behaviour), which runs it once on each."""

from __future__ import annotations

import pytest

DEFAULT_RUNTIMES = ("simulated",)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        'runtimes(*names): the localcloud runtimes a contract test runs on ("simulated", "docker"); '
        "simulated when not marked",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "local_cloud" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("runtimes")
        runtimes = marker.args if marker else DEFAULT_RUNTIMES
        metafunc.parametrize("local_cloud", runtimes, indirect=True, scope="session")

"""Choosing the localcloud a test talks to, by its instances' runtime: ``@pytest.mark.runtimes("docker")`` for a
test about the containers themselves (real HTTP answers, real pulls, the Docker engine),
``@pytest.mark.runtimes("simulated", "docker")`` to run it once on each, a directory's default otherwise."""

from __future__ import annotations

import pytest

MARKER = (
    'runtimes(*names): the localcloud runtimes ("simulated", "docker") a test runs on, once on each; unmarked, '
    "its directory's default"
)


def parametrize_local_cloud(metafunc: pytest.Metafunc, default: tuple[str, ...]) -> None:
    """For ``pytest_generate_tests``: ``local_cloud`` (and what is built on it) once per runtime the test's
    ``runtimes`` marker names, or per runtime of ``default``."""
    if "local_cloud" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("runtimes")
        runtimes = marker.args if marker else default
        metafunc.parametrize("local_cloud", runtimes, indirect=True, scope="session")

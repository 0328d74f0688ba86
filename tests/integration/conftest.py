"""A real registry (Debian's docker-registry) per test module, for the tests of the parts underneath; and, for the
tests that need a whole localcloud, the one with simulated instances (none of them is about the containers)."""

from __future__ import annotations

from typing import Iterator

import pytest

from localcloud.registry.service import Registry
from tests.support.requirements import require_registry_binary
from tests.support.runtimes import parametrize_local_cloud


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_local_cloud(metafunc, default=("simulated",))


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> Iterator[Registry]:
    require_registry_binary()
    started = Registry.start(tmp_path_factory.mktemp("registry"))
    yield started
    started.stop()

"""A real registry (Debian's docker-registry) per test module, for the tests of the parts underneath."""

from __future__ import annotations

from typing import Iterator

import pytest

from localcloud.registry.service import Registry
from tests.support.requirements import require_registry_binary


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> Iterator[Registry]:
    require_registry_binary()
    started = Registry.start(tmp_path_factory.mktemp("registry"))
    yield started
    started.stop()

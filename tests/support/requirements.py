"""What a test needs from the machine: skipped where it is missing on a developer's machine, failed on CI
(``CI=true``), where a missing engine or binary is a broken setup, not a reason to test less."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

from localcloud.registry.process import RegistryStartError, find_registry_binary
from localcloud.runtime.docker_runtime import DockerUnavailable, docker_client


def _missing(why: str) -> NoReturn:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{why} (CI=true: this is required here, not skipped)", pytrace=False)
    pytest.skip(why)


def require_docker() -> None:
    """A Docker engine answers (the one DOCKER_HOST or the default socket names)."""
    try:
        docker_client().close()
    except DockerUnavailable as exc:
        _missing(str(exc))


def require_registry_binary() -> None:
    """distribution's registry binary is on PATH."""
    try:
        find_registry_binary()
    except RegistryStartError as exc:
        _missing(str(exc))

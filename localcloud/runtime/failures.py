"""The failures both runtimes report, worded as ECI (Kubernetes underneath) reports them."""

from __future__ import annotations

from localcloud.runtime.base import RuntimeFailure


def pull_failed(image: str, why: str) -> RuntimeFailure:
    return RuntimeFailure("ErrImagePull", f'Failed to pull image "{image}": {why}')


def injected_pull_failure(image: str) -> RuntimeFailure:
    return pull_failed(image, "the localcloud fault pull_failure matches this image")


def crash_looping(container: str, why: str) -> RuntimeFailure:
    return RuntimeFailure("CrashLoopBackOff", f"Back-off restarting failed container {container}: {why}")


def create_failed(container: str, why: str) -> RuntimeFailure:
    return RuntimeFailure("ContainerCreateError", f"Failed to create container {container}: {why}")

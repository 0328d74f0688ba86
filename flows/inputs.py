"""Turning parameters into blocks: by name from Prefect, or from the environment."""

from __future__ import annotations

from blocks.credentials import AlibabaCloudCredentials
from blocks.registry import AcrRegistry
from blocks.settings import ReleaseSettings
from flows.parameters import ImageSpec


def load_credentials(block_name: str | None) -> AlibabaCloudCredentials:
    return AlibabaCloudCredentials.load(block_name) if block_name else ReleaseSettings().credentials()


def load_registry(spec: ImageSpec) -> AcrRegistry:
    if spec.registry_block:
        registry = AcrRegistry.load(spec.registry_block)
        if spec.repository:
            namespace, name = spec.repository.split("/")
            registry = registry.model_copy(update={"namespace": namespace, "repository": name})
        return registry
    if not spec.repository:
        raise ValueError("name the repository (namespace/name) or an ACR Registry block")
    namespace, name = spec.repository.split("/")
    return ReleaseSettings().registry(namespace, name)

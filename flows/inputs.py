"""The blocks a run uses: the ones picked in the form (or loaded by name), else built from the environment."""

from __future__ import annotations

from blocks.credentials import AlibabaCloudCredentials
from blocks.registry import AcrRegistry
from blocks.settings import ReleaseSettings
from flows.parameters import ImageSpec


def credentials_or_environment(credentials: AlibabaCloudCredentials | None) -> AlibabaCloudCredentials:
    return credentials if credentials is not None else ReleaseSettings().credentials()


def registry_for(spec: ImageSpec, registry: AcrRegistry | None) -> AcrRegistry:
    """The registry block with the spec's repository (when given) in place of the block's own."""
    if registry is not None:
        if spec.repository:
            namespace, name = spec.repository.split("/")
            registry = registry.model_copy(update={"namespace": namespace, "repository": name})
        return registry
    if not spec.repository:
        raise ValueError("name the repository (namespace/name) or pick an ACR Registry block")
    namespace, name = spec.repository.split("/")
    return ReleaseSettings().registry(namespace, name)

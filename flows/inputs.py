"""The blocks a run uses: the ones picked in the form (or loaded by name), else built from the environment."""

from __future__ import annotations

from blocks.credentials import AlibabaCloudCredentials
from blocks.registry import AcrRegistry
from blocks.settings import ReleaseSettings
from flows.parameters import ImageSpec, TargetSpec


def credentials_or_environment(credentials: AlibabaCloudCredentials | None) -> AlibabaCloudCredentials:
    return credentials if credentials is not None else ReleaseSettings().credentials()


def for_target(credentials: AlibabaCloudCredentials, target: TargetSpec) -> AlibabaCloudCredentials:
    """The credentials for the calls about the target group: the same keys and endpoints, in the group's region
    (the registry's calls stay in the credentials' own region)."""
    if target.region_id is None or target.region_id == credentials.region_id:
        return credentials
    return credentials.model_copy(update={"region_id": target.region_id})


def with_repository(registry: AcrRegistry, repository: str) -> AcrRegistry:
    """The registry block for another repository (namespace/name) of the same registry."""
    namespace, name = repository.split("/")
    return registry.model_copy(update={"namespace": namespace, "repository": name})


def registry_for(spec: ImageSpec, registry: AcrRegistry | None) -> AcrRegistry:
    """The registry block with the spec's repository (when given) in place of the block's own."""
    if registry is not None:
        return with_repository(registry, spec.repository) if spec.repository else registry
    if not spec.repository:
        raise ValueError("name the repository (namespace/name) or pick an ACR Registry block")
    namespace, name = spec.repository.split("/")
    return ReleaseSettings().registry(namespace, name)

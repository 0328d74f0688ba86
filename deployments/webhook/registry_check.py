"""What the registry itself says a pushed tag points at: a push is believed only when the registry agrees.

The same lookup the release uses (``served_digest``: the registry API through the Docker engine, and ACR
``GetRepoTag`` on an Enterprise instance), with the rules file's blocks, for the pushed repository.
"""

from __future__ import annotations

from blocks.credentials import AlibabaCloudCredentials
from blocks.registry import AcrRegistry
from deployments.webhook.rules import Rules
from flows.inputs import with_repository
from tasks.registry_access import served_digest


class RegistryCheck:
    def __init__(self, registry: AcrRegistry, credentials: AlibabaCloudCredentials | None) -> None:
        self._registry = registry
        self._credentials = credentials

    @classmethod
    def from_rules(cls, rules: Rules) -> "RegistryCheck":
        """With the blocks the rules name, loaded from the Prefect server."""
        credentials = AlibabaCloudCredentials.load(rules.credentials_block) if rules.credentials_block else None
        return cls(AcrRegistry.load(rules.registry_block), credentials)

    def _served(self, repository: str, reference: str) -> str | None:
        return served_digest(with_repository(self._registry, repository), self._credentials, reference)

    def tag_digest(self, repository: str, tag: str) -> str | None:
        """The digest ``repository:tag`` names now; None when there is no such tag. Raises ``PublishFailed``
        (``RegistryUnavailable`` when it is worth trying again) when the registry cannot say."""
        return self._served(repository, tag)

    def has_digest(self, repository: str, digest: str) -> bool:
        return self._served(repository, digest) == digest

"""Prefect blocks: the RAM credentials and the ACR registry, each handing out ready clients."""

from blocks.credentials import AlibabaCloudCredentials, ProductEndpoints
from blocks.registry import AcrRegistry

__all__ = ["AcrRegistry", "AlibabaCloudCredentials", "ProductEndpoints"]

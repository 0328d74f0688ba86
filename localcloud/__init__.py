"""A local stand-in for the Alibaba Cloud APIs the release pipeline uses (ESS, ECI, OOS, ACR).

The official, unmodified SDKs talk to it over HTTP, as boto3 talks to moto. See ``LocalCloud``.
"""

from localcloud.app import LocalCloud, LocalCloudInfo

__all__ = ["LocalCloud", "LocalCloudInfo"]

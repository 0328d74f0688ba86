"""Pointing the pipeline at a local cloud, from what ``localcloud serve`` prints (its one JSON line, the fields of
``LocalCloudInfo``): a credentials block whose clients call it for every product, and the environment variables
that make ``eci-release`` and ``ReleaseSettings`` release to it.

    os.environ.update(pipeline_environment(cloud.info))
"""

from __future__ import annotations

from typing import Mapping

from alibabacloud_cr20181201 import models as cr

from blocks.credentials import AlibabaCloudCredentials, ProductEndpoints


def local_cloud_credentials(cloud: Mapping[str, str]) -> AlibabaCloudCredentials:
    """The cloud's AccessKey and region, with every product's endpoint on the cloud."""
    endpoint = f"http://{cloud['endpoint']}"
    return AlibabaCloudCredentials(
        access_key_id=cloud["access_key_id"],
        access_key_secret=cloud["access_key_secret"],
        region_id=cloud["region_id"],
        endpoints=ProductEndpoints(ess=endpoint, eci=endpoint, oos=endpoint, cr=endpoint, sts=endpoint),
    )


def pipeline_environment(cloud: Mapping[str, str]) -> dict[str, str]:
    """The variables a shell sets to release to the cloud: its AccessKey, region and endpoint, its registry, and
    its ACR instance (asked of the cloud's ACR API)."""
    acr = local_cloud_credentials(cloud).get_cr_client()
    instance = acr.list_instance(cr.ListInstanceRequest()).body.instances[0]
    return {
        "ALIBABA_CLOUD_ACCESS_KEY_ID": cloud["access_key_id"],
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": cloud["access_key_secret"],
        "ALIBABA_CLOUD_REGION_ID": cloud["region_id"],
        "ECI_RELEASE_ENDPOINT": f"http://{cloud['endpoint']}",
        "ECI_RELEASE_REGISTRY_HOST": cloud["registry"],
        "ECI_RELEASE_ACR_INSTANCE_ID": instance.instance_id,
    }

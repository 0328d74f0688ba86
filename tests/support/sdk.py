"""The official SDK clients, configured for a running localcloud."""

from __future__ import annotations

from dataclasses import dataclass

from alibabacloud_cr20181201.client import Client as CrClient
from alibabacloud_eci20180808.client import Client as EciClient
from alibabacloud_ess20220222.client import Client as EssClient
from alibabacloud_oos20190601.client import Client as OosClient
from alibabacloud_tea_openapi.models import Config

from localcloud import LocalCloudInfo


def sdk_config(
    info: LocalCloudInfo,
    *,
    secret: str | None = None,
    access_key_id: str | None = None,
    security_token: str | None = None,
) -> Config:
    return Config(
        access_key_id=access_key_id or info.access_key_id,
        access_key_secret=secret if secret is not None else info.access_key_secret,
        security_token=security_token,
        endpoint=info.endpoint,
        protocol="http",
        region_id=info.region_id,
        read_timeout=30_000,
    )


@dataclass
class SdkClients:
    ess: EssClient
    eci: EciClient
    oos: OosClient
    cr: CrClient

    @classmethod
    def for_cloud(cls, info: LocalCloudInfo, **overrides: str) -> "SdkClients":
        config = sdk_config(info, **overrides)
        return cls(ess=EssClient(config), eci=EciClient(config), oos=OosClient(config), cr=CrClient(config))

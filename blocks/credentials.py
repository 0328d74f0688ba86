"""RAM credentials for Alibaba Cloud, handing out ready SDK clients.

creds = AlibabaCloudCredentials.load("prod")
ess = creds.get_ess_client()
ess.describe_scaling_groups(DescribeScalingGroupsRequest(region_id=creds.region_id))
"""

from __future__ import annotations

from alibabacloud_cr20181201.client import Client as CrClient
from alibabacloud_eci20180808.client import Client as EciClient
from alibabacloud_ess20220222.client import Client as EssClient
from alibabacloud_oos20190601.client import Client as OosClient
from alibabacloud_tea_openapi.models import Config
from prefect.blocks.core import Block
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from blocks.endpoints import Endpoint


class ProductEndpoints(BaseModel):
    """Overrides per product: ``host:port`` or ``http://host:port``. Empty means the public endpoint."""

    ess: str | None = Field(None, description="Auto Scaling, e.g. ess.aliyuncs.com or http://127.0.0.1:8080")
    eci: str | None = Field(None, description="Elastic Container Instance")
    oos: str | None = Field(None, description="CloudOps Orchestration Service")
    cr: str | None = Field(None, description="Container Registry API (not the registry itself)")


class AlibabaCloudCredentials(Block):
    """An AccessKey (or STS token) and region, with endpoint overrides so the same code talks to the real
    cloud or to localcloud."""

    model_config = ConfigDict(hide_input_in_errors=True)  # a failed validation must not print the secret
    _block_type_name = "Alibaba Cloud Credentials"
    _description = "RAM AccessKey or STS credentials for ESS, ECI, OOS and ACR, with endpoint overrides."

    access_key_id: str = Field(description="RAM AccessKey ID (or STS AccessKey ID)")
    access_key_secret: SecretStr = Field(description="RAM AccessKey secret")
    security_token: SecretStr | None = Field(None, description="STS security token, for temporary credentials")
    region_id: str = Field("cn-hangzhou", description="region of the scaling group and registry, e.g. cn-hangzhou")
    endpoints: ProductEndpoints = Field(default_factory=ProductEndpoints)
    connect_timeout_ms: int = Field(5_000, ge=100, description="TCP connect timeout per call")
    read_timeout_ms: int = Field(30_000, ge=100, description="read timeout per call")

    def sdk_config(self, product: str) -> Config:
        """The SDK ``Config`` for one product (``ess``, ``eci``, ``oos`` or ``cr``)."""
        override = getattr(self.endpoints, product)
        config = Config(
            access_key_id=self.access_key_id,
            access_key_secret=self.access_key_secret.get_secret_value(),
            security_token=self.security_token.get_secret_value() if self.security_token else None,
            region_id=self.region_id,
            connect_timeout=self.connect_timeout_ms,
            read_timeout=self.read_timeout_ms,
        )
        if override:
            endpoint = Endpoint.parse(override)
            config.endpoint = endpoint.host
            config.protocol = endpoint.protocol
            proxy = endpoint.direct_proxy()
            if proxy:
                config.http_proxy = proxy
        return config

    def get_ess_client(self) -> EssClient:
        return EssClient(self.sdk_config("ess"))

    def get_eci_client(self) -> EciClient:
        return EciClient(self.sdk_config("eci"))

    def get_oos_client(self) -> OosClient:
        return OosClient(self.sdk_config("oos"))

    def get_cr_client(self) -> CrClient:
        return CrClient(self.sdk_config("cr"))

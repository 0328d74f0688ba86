"""RAM credentials for Alibaba Cloud, handing out ready SDK clients.

creds = AlibabaCloudCredentials.load("prod")
ess = creds.get_ess_client()
ess.describe_scaling_groups(DescribeScalingGroupsRequest(region_id=creds.region_id))

Three ways to sign, so a scheduled run does not die with an expired token:
- an AccessKey (optionally an STS token) stored in the block;
- the Alibaba Cloud default credential chain (``use_default_chain``): environment variables, the credentials
  file, the ECS instance RAM role, OIDC (RRSA) — whatever the machine running the flow has;
- a RAM role (``role_arn``) assumed with either of the above through STS, refreshed before it expires.
"""

from __future__ import annotations

from alibabacloud_cr20181201.client import Client as CrClient
from alibabacloud_credentials.client import Client as CredentialClient
from alibabacloud_eci20180808.client import Client as EciClient
from alibabacloud_ess20220222.client import Client as EssClient
from alibabacloud_oos20190601.client import Client as OosClient
from alibabacloud_tea_openapi.models import Config
from prefect.blocks.core import Block
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from blocks.assumed_role import AssumedRoleProvider
from blocks.endpoints import Endpoint


class ProductEndpoints(BaseModel):
    """Overrides per product: ``host:port`` or ``http://host:port``. Empty means the public endpoint."""

    ess: str | None = Field(None, description="Auto Scaling, e.g. ess.aliyuncs.com or http://127.0.0.1:8080")
    eci: str | None = Field(None, description="Elastic Container Instance")
    oos: str | None = Field(None, description="CloudOps Orchestration Service")
    cr: str | None = Field(None, description="Container Registry API (not the registry itself)")
    sts: str | None = Field(None, description="Security Token Service, for role_arn (default: sts.aliyuncs.com)")


class AlibabaCloudCredentials(Block):
    """An AccessKey (or STS token) and region, with endpoint overrides so the same code talks to the real
    cloud or to localcloud."""

    model_config = ConfigDict(hide_input_in_errors=True)  # a failed validation must not print the secret
    _block_type_name = "Alibaba Cloud Credentials"
    _description = "RAM AccessKey or STS credentials for ESS, ECI, OOS and ACR, with endpoint overrides."

    access_key_id: str | None = Field(None, description="RAM AccessKey ID (or STS AccessKey ID)")
    access_key_secret: SecretStr | None = Field(None, description="RAM AccessKey secret")
    security_token: SecretStr | None = Field(None, description="STS security token, for temporary credentials")
    use_default_chain: bool = Field(
        False,
        description="sign with the default credential chain of the machine running the flow (environment, "
        "credentials file, ECS RAM role, OIDC/RRSA) instead of a stored AccessKey",
    )
    role_arn: str | None = Field(None, description="a RAM role to assume, e.g. acs:ram::123456789:role/deployer")
    role_session_name: str = Field("eci-release", description="the session name the role is assumed with")
    role_duration_seconds: int = Field(3600, ge=900, le=43200, description="how long each role session lasts")
    # Required, and so more than a default: the UI's block picker needs the schema to have a required field (a
    # block reference must not also validate as the block itself).
    region_id: str = Field(description="region of the scaling group and registry, e.g. cn-hangzhou")
    endpoints: ProductEndpoints = Field(default_factory=ProductEndpoints)
    connect_timeout_ms: int = Field(5_000, ge=100, description="TCP connect timeout per call")
    read_timeout_ms: int = Field(30_000, ge=100, description="read timeout per call")

    # One credential source per block, shared by every client it hands out: the chain's and the role's
    # credentials are fetched once and refreshed, not once per client.
    _chain: CredentialClient | None = PrivateAttr(None)
    _role: CredentialClient | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _can_sign(self) -> "AlibabaCloudCredentials":
        if not self.use_default_chain and not (self.access_key_id and self.access_key_secret):
            raise ValueError("give access_key_id and access_key_secret, or set use_default_chain")
        return self

    def sdk_config(self, product: str) -> Config:
        """The SDK ``Config`` for one product (``ess``, ``eci``, ``oos``, ``cr`` or ``sts``)."""
        config = self._unsigned_config(product)
        if self.role_arn:
            config.credential = self._role_session()
        else:
            self._sign_directly(config)
        return config

    def _sign_directly(self, config: Config) -> None:
        if self.use_default_chain:
            if self._chain is None:
                self._chain = CredentialClient()
            config.credential = self._chain
            return
        config.access_key_id = self.access_key_id
        config.access_key_secret = self.access_key_secret.get_secret_value()
        config.security_token = self.security_token.get_secret_value() if self.security_token else None

    def _role_session(self) -> CredentialClient:
        if self._role is None:
            base = self._unsigned_config("sts")
            self._sign_directly(base)
            provider = AssumedRoleProvider(base, self.role_arn, self.role_session_name, self.role_duration_seconds)
            self._role = CredentialClient(provider=provider)
        return self._role

    def _unsigned_config(self, product: str) -> Config:
        override = getattr(self.endpoints, product)
        config = Config(
            region_id=self.region_id, connect_timeout=self.connect_timeout_ms, read_timeout=self.read_timeout_ms
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

"""Credentials and registry from the environment (or a ``.env`` file), for users who prefer not to create
blocks first. The names are Alibaba Cloud's standard ones plus ``ECI_RELEASE_*`` for the rest."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from blocks.credentials import AlibabaCloudCredentials, ProductEndpoints
from blocks.registry import AcrRegistry


class ReleaseSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    access_key_id: str | None = Field(None, validation_alias="ALIBABA_CLOUD_ACCESS_KEY_ID")
    access_key_secret: SecretStr | None = Field(None, validation_alias="ALIBABA_CLOUD_ACCESS_KEY_SECRET")
    security_token: SecretStr | None = Field(None, validation_alias="ALIBABA_CLOUD_SECURITY_TOKEN")
    role_arn: str | None = Field(None, validation_alias="ALIBABA_CLOUD_ROLE_ARN")
    role_session_name: str = Field("eci-release", validation_alias="ALIBABA_CLOUD_ROLE_SESSION_NAME")
    region_id: str = Field("cn-hangzhou", validation_alias=AliasChoices("ALIBABA_CLOUD_REGION_ID", "region_id"))
    endpoint: str | None = Field(
        None, validation_alias="ECI_RELEASE_ENDPOINT", description="one endpoint for every product (localcloud)"
    )
    ess_endpoint: str | None = Field(None, validation_alias="ECI_RELEASE_ESS_ENDPOINT")
    eci_endpoint: str | None = Field(None, validation_alias="ECI_RELEASE_ECI_ENDPOINT")
    oos_endpoint: str | None = Field(None, validation_alias="ECI_RELEASE_OOS_ENDPOINT")
    cr_endpoint: str | None = Field(None, validation_alias="ECI_RELEASE_CR_ENDPOINT")
    sts_endpoint: str | None = Field(None, validation_alias="ECI_RELEASE_STS_ENDPOINT")
    acr_edition: Literal["enterprise", "personal"] = Field("enterprise", validation_alias="ECI_RELEASE_ACR_EDITION")
    acr_instance_id: str | None = Field(None, validation_alias="ECI_RELEASE_ACR_INSTANCE_ID")
    acr_instance_name: str | None = Field(None, validation_alias="ECI_RELEASE_ACR_INSTANCE_NAME")
    registry_host: str | None = Field(None, validation_alias="ECI_RELEASE_REGISTRY_HOST")
    registry_username: str | None = Field(None, validation_alias="ECI_RELEASE_REGISTRY_USERNAME")
    registry_password: SecretStr | None = Field(None, validation_alias="ECI_RELEASE_REGISTRY_PASSWORD")

    def credentials(self) -> AlibabaCloudCredentials:
        """An AccessKey when one is set; otherwise the default credential chain (credentials file, ECS RAM role,
        OIDC). With ALIBABA_CLOUD_ROLE_ARN, that role is assumed with either."""
        has_key = bool(self.access_key_id and self.access_key_secret)
        return AlibabaCloudCredentials(
            access_key_id=self.access_key_id if has_key else None,
            access_key_secret=self.access_key_secret if has_key else None,
            security_token=self.security_token if has_key else None,
            use_default_chain=not has_key,
            role_arn=self.role_arn,
            role_session_name=self.role_session_name,
            region_id=self.region_id,
            endpoints=ProductEndpoints(
                ess=self.ess_endpoint or self.endpoint,
                eci=self.eci_endpoint or self.endpoint,
                oos=self.oos_endpoint or self.endpoint,
                cr=self.cr_endpoint or self.endpoint,
                sts=self.sts_endpoint or self.endpoint,
            ),
        )

    def registry(self, namespace: str, repository: str) -> AcrRegistry:
        return AcrRegistry(
            edition=self.acr_edition,
            instance_id=self.acr_instance_id,
            instance_name=self.acr_instance_name,
            region_id=self.region_id,
            registry_host=self.registry_host,
            namespace=namespace,
            repository=repository,
            username=self.registry_username,
            password=self.registry_password,
        )

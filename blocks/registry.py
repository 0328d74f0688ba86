"""The ACR registry an image is published to, and how to log in to it.

registry = AcrRegistry.load("acr-prod")
login = registry.get_login(AlibabaCloudCredentials.load("prod"))
docker_client.login(login.username, login.password.get_secret_value(), registry=registry.host)
"""

from __future__ import annotations

from typing import Literal

from alibabacloud_cr20181201 import models as cr
from prefect.blocks.core import Block
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from blocks.credentials import AlibabaCloudCredentials
from blocks.endpoints import Endpoint


class RegistryLogin(BaseModel):
    username: str
    password: SecretStr


class AcrRegistry(Block):
    """An ACR instance (Enterprise or Personal) and a repository in it."""

    model_config = ConfigDict(hide_input_in_errors=True)  # a failed validation must not print the password
    _block_type_name = "ACR Registry"
    _description = "An Alibaba Cloud Container Registry repository and how to log in to it."

    edition: Literal["enterprise", "personal"] = Field("enterprise", description="ACR edition")
    instance_id: str | None = Field(None, description="Enterprise instance id (cri-...)")
    instance_name: str | None = Field(None, description="Enterprise instance name, for the registry host name")
    region_id: str = Field("cn-hangzhou", description="region of the instance")
    registry_host: str | None = Field(None, description="registry host[:port]; derived when empty")
    vpc: bool = Field(False, description="use the VPC registry endpoint")
    namespace: str = Field(description="ACR namespace")
    repository: str = Field(description="repository name inside the namespace")
    username: str | None = Field(None, description="fixed login user (Personal edition, or EE fixed password)")
    password: SecretStr | None = Field(None, description="fixed login password")

    @model_validator(mode="after")
    def _can_log_in(self) -> "AcrRegistry":
        if self.edition == "enterprise" and not self.instance_id and not (self.username and self.password):
            raise ValueError("an Enterprise registry needs instance_id (for temporary tokens) or username/password")
        if self.edition == "personal" and not (self.username and self.password):
            raise ValueError("a Personal registry needs username and password (the registry login password)")
        return self

    @property
    def host(self) -> str:
        if self.registry_host:
            return Endpoint.parse(self.registry_host).host
        vpc = "-vpc" if self.vpc else ""
        if self.edition == "personal":
            return f"registry{vpc}.{self.region_id}.aliyuncs.com"
        if not self.instance_name:
            raise ValueError("set registry_host or instance_name to derive the Enterprise registry host")
        return f"{self.instance_name}-registry{vpc}.{self.region_id}.cr.aliyuncs.com"

    @property
    def image_repository(self) -> str:
        return f"{self.host}/{self.namespace}/{self.repository}"

    def get_login(self, credentials: AlibabaCloudCredentials | None) -> RegistryLogin:
        """A temporary token from ``GetAuthorizationToken`` (Enterprise), else the stored password."""
        if self.username and self.password:
            return RegistryLogin(username=self.username, password=self.password)
        if credentials is None:
            raise ValueError("an Enterprise temporary token needs the RAM credentials")
        body = (
            credentials.get_cr_client()
            .get_authorization_token(cr.GetAuthorizationTokenRequest(instance_id=self.instance_id))
            .body
        )
        return RegistryLogin(username=body.temp_username, password=SecretStr(body.authorization_token))

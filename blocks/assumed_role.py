"""Temporary credentials of a RAM role, from STS ``AssumeRole`` through the official STS SDK, refreshed before they
expire by the credentials library's own cache (the one its ``ram_role_arn`` provider uses).

The library's provider always calls STS over HTTPS at the public endpoint; this one goes through the STS SDK, so
the block's endpoint override (and localcloud) applies to STS as to every other product.
"""

from __future__ import annotations

import asyncio
import calendar
import time

from alibabacloud_credentials.provider.refreshable import Credentials, RefreshCachedSupplier, RefreshResult
from alibabacloud_credentials_api import ICredentialsProvider
from alibabacloud_sts20150401 import models as sts
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi.models import Config

# Fetch new credentials once less than this is left of the old ones (the library's own providers use 15 min),
# but never later than three quarters into a short session.
REFRESH_BEFORE_SECONDS = 15 * 60


class AssumedRoleProvider(ICredentialsProvider):
    def __init__(self, base: Config, role_arn: str, session_name: str, duration_seconds: int):
        self._sts = StsClient(base)
        self._request = sts.AssumeRoleRequest(
            role_arn=role_arn, role_session_name=session_name, duration_seconds=duration_seconds
        )
        self._cache = RefreshCachedSupplier(refresh_callable=self._refresh, refresh_callable_async=self._refresh_async)

    def _refresh(self) -> RefreshResult[Credentials]:
        issued = self._sts.assume_role(self._request).body.credentials
        expiration = calendar.timegm(time.strptime(issued.expiration, "%Y-%m-%dT%H:%M:%SZ"))
        credentials = Credentials(
            access_key_id=issued.access_key_id,
            access_key_secret=issued.access_key_secret,
            security_token=issued.security_token,
            expiration=expiration,
            provider_name=self.get_provider_name(),
        )
        lifetime = max(0, expiration - int(time.time()))
        stale = expiration - min(REFRESH_BEFORE_SECONDS, lifetime // 4)
        return RefreshResult(value=credentials, stale_time=stale)

    async def _refresh_async(self) -> RefreshResult[Credentials]:
        return await asyncio.to_thread(self._refresh)

    def get_credentials(self) -> Credentials:
        return self._cache._sync_call()

    async def get_credentials_async(self) -> Credentials:
        return await self._cache._async_call()

    def get_provider_name(self) -> str:
        return "ram_role_arn/sts_sdk"

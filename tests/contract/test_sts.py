"""STS AssumeRole through the official STS SDK: temporary keys that the gateway accepts until they expire."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

from alibabacloud_ess20220222 import models as ess
from alibabacloud_sts20150401 import models as sts
from alibabacloud_sts20150401.client import Client as StsClient

from localcloud.sts.model import role_arn
from tests.support.cloud_views import REGION
from tests.support.errors import api_error
from tests.support.sdk import SdkClients, sdk_config


def _describe(sdk: SdkClients):
    return sdk.ess.describe_scaling_groups(ess.DescribeScalingGroupsRequest(region_id=REGION))


def _assume(local_cloud, **overrides):
    request = sts.AssumeRoleRequest(
        role_arn=local_cloud.info.role_arn, role_session_name="contract-test", duration_seconds=900
    )
    for name, value in overrides.items():
        setattr(request, name, value)
    return StsClient(sdk_config(local_cloud.info)).assume_role(request).body


def test_assume_role_issues_keys_that_work_until_they_expire(seeded, local_cloud):
    body = _assume(local_cloud)
    creds = body.credentials
    assert creds.access_key_id.startswith("STS.") and creds.security_token
    expires = datetime.strptime(creds.expiration, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert 880 <= (expires - datetime.now(timezone.utc)).total_seconds() <= 900
    assert body.assumed_role_user.arn == f"{local_cloud.info.role_arn}/contract-test"

    temporary = SdkClients.for_cloud(
        local_cloud.info,
        access_key_id=creds.access_key_id,
        secret=creds.access_key_secret,
        security_token=creds.security_token,
    )
    assert _describe(temporary).body.scaling_groups  # accepted while valid

    without_token = SdkClients.for_cloud(
        local_cloud.info, access_key_id=creds.access_key_id, secret=creds.access_key_secret
    )
    assert api_error(lambda: _describe(without_token)).code == "InvalidSecurityToken.MismatchWithAccessKey"

    keys = local_cloud.cloud.access_keys  # the clock moves on: the key's expiry passes
    keys[creds.access_key_id] = dataclasses.replace(keys[creds.access_key_id], expires_at=0)
    error = api_error(lambda: _describe(temporary))
    assert (error.status_code, error.code) == (400, "InvalidSecurityToken.Expired")


def test_assume_role_refuses_unknown_roles_and_bad_durations(seeded, local_cloud):
    unknown = api_error(lambda: _assume(local_cloud, role_arn=role_arn("nobody")))
    assert (unknown.status_code, unknown.code) == (404, "EntityNotExist.Role")
    assert api_error(lambda: _assume(local_cloud, role_arn="arn:aws:iam::1:role/x")).code == "InvalidParameter.RoleArn"
    for seconds in (899, 3601):
        error = api_error(lambda: _assume(local_cloud, duration_seconds=seconds))
        assert error.code == "InvalidParameter.DurationSeconds"
    assert api_error(lambda: _assume(local_cloud, role_session_name="x")).code == "InvalidParameter.RoleSessionName"

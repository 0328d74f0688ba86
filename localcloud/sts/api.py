"""STS 2015-04-01 on the wire, in the shapes ``alibabacloud_sts20150401`` parses."""

from __future__ import annotations

from typing import Any

from localcloud.gateway.products import STS
from localcloud.gateway.request import ApiRequest
from localcloud.ids import iso_utc
from localcloud.sts.model import StsModel


@STS.action("AssumeRole", mutating=True)
def assume_role(sts: StsModel, request: ApiRequest) -> dict[str, Any]:
    assumed = sts.assume_role(
        request.str("RoleArn", required=True),
        request.str("RoleSessionName", required=True),
        request.int("DurationSeconds", default=3600),
    )
    return {
        "AssumedRoleUser": {"Arn": assumed.arn, "AssumedRoleId": assumed.assumed_role_id},
        "Credentials": {
            "AccessKeyId": assumed.key.access_key_id,
            "AccessKeySecret": assumed.key.access_key_secret,
            "SecurityToken": assumed.key.security_token,
            "Expiration": iso_utc(assumed.key.expires_at),
        },
    }

"""RAM roles and the temporary AccessKeys STS issues for them.

A temporary key joins the cloud's keys with its security token and an expiry; the gateway accepts it until then
and answers ``InvalidSecurityToken.Expired`` after. Roles are the seeded ones (``acs:ram::<account>:role/<name>``).
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass

from localcloud.errors import ApiError
from localcloud.keys import AccessKey

ACCOUNT_ID = "1234567890123456"
SEEDED_ROLES = ("eci-release",)
MIN_DURATION, MAX_DURATION = 900, 3600  # seconds; the role's maximum session duration here is one hour
_ROLE_ARN = re.compile(r"^acs:ram::(\d+):role/([\w.@-]{1,64})$")
_SESSION_NAME = re.compile(r"^[\w.@-]{2,64}$")


def role_arn(name: str) -> str:
    return f"acs:ram::{ACCOUNT_ID}:role/{name}"


@dataclass(frozen=True)
class AssumedRole:
    key: AccessKey
    arn: str
    assumed_role_id: str


class StsModel:
    def __init__(self, access_keys: dict[str, AccessKey]) -> None:
        self._access_keys = access_keys  # the gateway's keys: a temporary key is usable once it is here
        self.roles = {role_arn(name) for name in SEEDED_ROLES}

    def assume_role(self, arn: str, session_name: str, duration: int) -> AssumedRole:
        if not _ROLE_ARN.match(arn):
            raise ApiError(400, "InvalidParameter.RoleArn", f"The parameter RoleArn {arn!r} is wrongly formed.")
        if not _SESSION_NAME.match(session_name):
            raise ApiError(
                400,
                "InvalidParameter.RoleSessionName",
                "The parameter RoleSessionName must be 2-64 letters, digits, '.', '@', '-' or '_'.",
            )
        if not MIN_DURATION <= duration <= MAX_DURATION:
            raise ApiError(
                400,
                "InvalidParameter.DurationSeconds",
                f"The parameter DurationSeconds must be between {MIN_DURATION} and {MAX_DURATION} seconds.",
            )
        if arn not in self.roles:
            raise ApiError(404, "EntityNotExist.Role", f"The role not exists: {arn}.")
        key = AccessKey(
            access_key_id="STS.Local" + secrets.token_hex(10),
            access_key_secret=secrets.token_urlsafe(24),
            security_token=secrets.token_urlsafe(48),
            expires_at=int(time.time()) + duration,
        )
        self._access_keys[key.access_key_id] = key
        role_id = "3" + secrets.token_hex(8)
        return AssumedRole(key=key, arn=f"{arn}/{session_name}", assumed_role_id=f"{role_id}:{session_name}")

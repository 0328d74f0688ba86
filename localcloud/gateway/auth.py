"""Who is calling: the AccessKey behind a request, proven by its signature.

Refusals mirror the real gateway: unknown key 404 ``InvalidAccessKeyId.NotFound``, wrong secret
``SignatureDoesNotMatch`` with the server's string to sign (the legacy SDK compares it with its own to tell a wrong
secret from a wrong signing), a stale ``x-acs-date`` ``InvalidTimeStamp.Expired``, a reused nonce
``SignatureNonceUsed``, an STS key without its token ``InvalidSecurityToken.MismatchWithAccessKey``, a
temporary key past its expiry ``InvalidSecurityToken.Expired``.
"""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import datetime, timezone

from localcloud.audit import MASK, mask_secrets
from localcloud.errors import ApiError
from localcloud.gateway.signing import (
    RPC_COMMON_PARAMETERS,
    acs3_signature,
    acs3_string_to_sign,
    canonical_request,
    constant_time_equal,
    parse_acs3_authorization,
    rpc_v1_signature,
    rpc_v1_string_to_sign,
)
from localcloud.gateway.wire import unflatten
from localcloud.keys import AccessKey

CLOCK_SKEW_SECONDS = 15 * 60


class NonceRegistry:
    """Nonces seen within the clock-skew window; a second use is refused."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def use(self, nonce: str) -> None:
        now = time.time()
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen = {n: t for n, t in self._seen.items() if now - t < CLOCK_SKEW_SECONDS}
            if nonce in self._seen:
                raise ApiError(400, "SignatureNonceUsed", "The request signature nonce has been used.")
            self._seen[nonce] = now


def _check_time(value: str | None, name: str) -> None:
    if not value:
        raise ApiError(400, "IllegalTimestamp", f"The {name} of the request is missing.")
    try:
        moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
    except ValueError as exc:
        raise ApiError(
            400, "IllegalTimestamp", f"The {name} {value!r} is not in the format yyyy-MM-ddTHH:mm:ssZ (UTC)."
        ) from exc
    if abs(time.time() - moment) > CLOCK_SKEW_SECONDS:
        raise ApiError(
            400,
            "InvalidTimeStamp.Expired",
            f"The {name} {value} is more than 15 minutes away from the server time; check your clock.",
        )


def _is_secret(name: str, value: str) -> bool:
    if name in RPC_COMMON_PARAMETERS:
        return name == "SecurityToken"
    as_sent = unflatten({name: value})
    return mask_secrets(as_sent) != as_sent


def _shown(params: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The parameters as a refusal echoes them: the security token and whatever the audit log masks, masked.

    The real gateway echoes everything; a masked echo no longer matches the caller's own string to sign, so the
    legacy SDK reports such a refusal as ``SignatureDoesNotMatch`` rather than ``InvalidAccessKeySecret``."""
    return [(name, MASK if _is_secret(name, value) else value) for name, value in params]


def _signature_mismatch_v1(method: str, params: list[tuple[str, str]]) -> ApiError:
    return ApiError(
        400,
        "SignatureDoesNotMatch",
        "Specified signature is not matched with our calculation. server string to sign is:"
        + rpc_v1_string_to_sign(method, _shown(params)),
    )


def _signature_mismatch_acs3(
    canonical: str, method: str, params: list[tuple[str, str]], headers: dict[str, str], signed_headers: list[str]
) -> ApiError:
    shown_headers = {name: MASK if name == "x-acs-security-token" else value for name, value in headers.items()}
    shown_canonical = canonical_request(
        method, _shown(params), shown_headers, signed_headers, headers.get("x-acs-content-sha256", "")
    )
    return ApiError(
        400,
        "SignatureDoesNotMatch",
        f"Specified signature does not match our calculation. server StringToSign is [{acs3_string_to_sign(canonical)}]"
        f" server CanonicalRequest is [{shown_canonical}]",
    )


class Authenticator:
    def __init__(self, access_keys: dict[str, AccessKey]) -> None:
        self.access_keys = access_keys
        self.nonces = NonceRegistry()

    def _key(self, access_key_id: str, security_token: str | None) -> AccessKey:
        key = self.access_keys.get(access_key_id)
        if key is None:
            raise ApiError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if key.security_token is not None and not constant_time_equal(key.security_token, security_token or ""):
            raise ApiError(
                400,
                "InvalidSecurityToken.MismatchWithAccessKey",
                "The security token does not belong to this STS AccessKey, or is missing.",
            )
        if key.expires_at is not None and time.time() >= key.expires_at:
            raise ApiError(400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.")
        return key

    def authenticate(self, method: str, params: list[tuple[str, str]], headers: dict[str, str], body: bytes) -> str:
        """Returns the AccessKey id of a correctly signed request, or raises ``ApiError``."""
        authorization = headers.get("authorization", "")
        if authorization:
            return self._acs3(method, params, headers, body, authorization)
        if any(name == "Signature" for name, _ in params):
            return self._rpc_v1(method, params)
        raise ApiError(
            400,
            "IncompleteSignature",
            "The request is not signed: send an ACS3-HMAC-SHA256 Authorization header or RPC Signature parameters.",
        )

    def _acs3(
        self, method: str, params: list[tuple[str, str]], headers: dict[str, str], body: bytes, authorization: str
    ) -> str:
        parsed = parse_acs3_authorization(authorization)
        if parsed is None:
            raise ApiError(
                400,
                "IncompleteSignature",
                "The Authorization header is not ACS3-HMAC-SHA256 Credential=...,SignedHeaders=...,Signature=....",
            )
        key = self._key(parsed.access_key_id, headers.get("x-acs-security-token"))
        payload_hash = headers.get("x-acs-content-sha256", "")
        if payload_hash != hashlib.sha256(body).hexdigest():
            raise ApiError(
                400, "SignatureDoesNotMatch", "x-acs-content-sha256 does not match the SHA-256 of the request body."
            )
        for required in ("host", "x-acs-date", "x-acs-signature-nonce"):
            if required not in parsed.signed_headers:
                raise ApiError(400, "IncompleteSignature", f"The header {required} must be signed.")
        canonical = canonical_request(method, params, headers, parsed.signed_headers, payload_hash)
        if not constant_time_equal(acs3_signature(key.access_key_secret, canonical), parsed.signature):
            raise _signature_mismatch_acs3(canonical, method, params, headers, parsed.signed_headers)
        _check_time(headers.get("x-acs-date"), "x-acs-date")
        self.nonces.use(headers["x-acs-signature-nonce"])
        return key.access_key_id

    def _rpc_v1(self, method: str, params: list[tuple[str, str]]) -> str:
        values = dict(params)
        key = self._key(values.get("AccessKeyId", ""), values.get("SecurityToken"))
        if values.get("SignatureMethod", "HMAC-SHA1") != "HMAC-SHA1":
            raise ApiError(400, "InvalidParameter", "Only SignatureMethod HMAC-SHA1 is supported for RPC signing.")
        expected = rpc_v1_signature(key.access_key_secret, method, params)
        if not constant_time_equal(expected, values.get("Signature", "")):
            raise _signature_mismatch_v1(method, params)
        _check_time(values.get("Timestamp"), "Timestamp")
        self.nonces.use(values.get("SignatureNonce", ""))
        return key.access_key_id

"""Request signatures: ACS3-HMAC-SHA256 (the SDKs' default) and the legacy RPC HMAC-SHA1.

Both are recomputed from what arrived on the wire. For ACS3 the canonical headers are rebuilt from the
``SignedHeaders`` list in the Authorization header, because the SDK signs every header it set, not a
fixed set.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import quote

ACS3_ALGORITHM = "ACS3-HMAC-SHA256"
EMPTY_BODY_SHA256 = hashlib.sha256(b"").hexdigest()
# Common parameters of the legacy RPC signature; they are not business parameters.
RPC_COMMON_PARAMETERS = frozenset(
    {
        "Action",
        "Version",
        "Format",
        "Timestamp",
        "SignatureNonce",
        "SignatureMethod",
        "SignatureVersion",
        "AccessKeyId",
        "Signature",
        "SecurityToken",
        "SignatureType",
    }
)


def _rfc3986(value: str) -> str:
    return quote(value, safe="~", encoding="utf-8")


def canonical_query(params: list[tuple[str, str]]) -> str:
    """Sorted ``key=value`` pairs, values RFC 3986 encoded (space ``%20``, ``~`` kept)."""
    return "&".join(f"{key}={_rfc3986(value)}" for key, value in sorted(params))


def canonical_request(
    method: str,
    params: list[tuple[str, str]],
    headers: dict[str, str],
    signed_headers: list[str],
    hashed_payload: str,
) -> str:
    """``headers`` must have lower-case names; every name in ``signed_headers`` is taken from it."""
    header_lines = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in signed_headers)
    return "\n".join(
        [method.upper(), "/", canonical_query(params), header_lines, ";".join(signed_headers), hashed_payload]
    )


def acs3_string_to_sign(canonical: str) -> str:
    return f"{ACS3_ALGORITHM}\n{hashlib.sha256(canonical.encode()).hexdigest()}"


def acs3_signature(secret: str, canonical: str) -> str:
    return hmac.new(secret.encode(), acs3_string_to_sign(canonical).encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Acs3Authorization:
    access_key_id: str
    signed_headers: list[str]
    signature: str


def parse_acs3_authorization(header: str) -> Acs3Authorization | None:
    """``ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=a;b,Signature=hex`` -> parts; None if malformed."""
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ACS3_ALGORITHM:
        return None
    fields = {}
    for item in rest.split(","):
        name, sep, value = item.strip().partition("=")
        if sep:
            fields[name] = value
    if not {"Credential", "SignedHeaders", "Signature"} <= fields.keys():
        return None
    return Acs3Authorization(
        access_key_id=fields["Credential"],
        signed_headers=[h for h in fields["SignedHeaders"].split(";") if h],
        signature=fields["Signature"],
    )


def rpc_v1_string_to_sign(method: str, params: list[tuple[str, str]]) -> str:
    """``METHOD&%2F&`` and the sorted, twice-encoded ``key=value`` pairs of every parameter but ``Signature``."""
    pairs = sorted((k, v) for k, v in params if k != "Signature")
    query = "&".join(f"{_rfc3986(k)}={_rfc3986(v)}" for k, v in pairs)
    return f"{method.upper()}&%2F&{_rfc3986(query)}"


def rpc_v1_signature(secret: str, method: str, params: list[tuple[str, str]]) -> str:
    """Legacy ``SignatureVersion=1.0`` HMAC-SHA1, keyed with the secret and ``&``."""
    string_to_sign = rpc_v1_string_to_sign(method, params)
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())

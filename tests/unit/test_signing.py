"""The documented signature test vectors, and the canonicalisation rules the SDK follows."""

from localcloud.gateway.signing import (
    EMPTY_BODY_SHA256,
    acs3_signature,
    canonical_query,
    canonical_request,
    parse_acs3_authorization,
    rpc_v1_signature,
)

V3_HEADERS = {
    "host": "ecs.cn-shanghai.aliyuncs.com",
    "x-acs-action": "RunInstances",
    "x-acs-content-sha256": EMPTY_BODY_SHA256,
    "x-acs-date": "2023-10-26T10:22:32Z",
    "x-acs-signature-nonce": "3156853299f313e23d1673dc12e1703d",
    "x-acs-version": "2014-05-26",
}
V3_QUERY = [("RegionId", "cn-shanghai"), ("ImageId", "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd")]


def test_acs3_documented_vector():
    canonical = canonical_request("POST", V3_QUERY, V3_HEADERS, sorted(V3_HEADERS), EMPTY_BODY_SHA256)
    assert acs3_signature("YourAccessKeySecret", canonical) == (
        "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
    )


def test_acs3_signature_changes_with_the_secret():
    canonical = canonical_request("POST", V3_QUERY, V3_HEADERS, sorted(V3_HEADERS), EMPTY_BODY_SHA256)
    assert acs3_signature("AnotherSecret", canonical) != acs3_signature("YourAccessKeySecret", canonical)


def test_rpc_v1_documented_vector():
    params = [
        ("AccessKeyId", "testid"),
        ("Action", "DescribeDedicatedHosts"),
        ("Format", "JSON"),
        ("RegionId", "cn-beijing"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureNonce", "edb2b34af0af9a6d14deaf7c1a5315eb"),
        ("SignatureVersion", "1.0"),
        ("Timestamp", "2023-03-13T08:34:30Z"),
        ("Version", "2014-05-26"),
    ]
    assert rpc_v1_signature("testsecret", "GET", params) == "9NaGiOspFP5UPcwX8Iwt2YJXXuk="


def test_canonical_query_uses_rfc3986_for_values_decoded_from_form_encoding():
    # On the wire the SDK form-encodes (space as '+'); the signature was computed over %20.
    assert canonical_query([("Image", "app:v2 with space&amp"), ("A", "x~y/z")]) == (
        "A=x~y%2Fz&Image=app%3Av2%20with%20space%26amp"
    )


def test_authorization_header_parts():
    parsed = parse_acs3_authorization("ACS3-HMAC-SHA256 Credential=AK1,SignedHeaders=host;x-acs-date,Signature=abc")
    assert parsed is not None
    assert (parsed.access_key_id, parsed.signed_headers, parsed.signature) == ("AK1", ["host", "x-acs-date"], "abc")
    assert parse_acs3_authorization("HMAC-SHA1 whatever") is None
    assert parse_acs3_authorization("ACS3-HMAC-SHA256 Credential=AK1") is None

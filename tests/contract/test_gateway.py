"""The wire protocol through the real SDKs: signatures, credentials, errors, throttling and faults."""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from urllib.parse import urlencode
from xml.etree import ElementTree

import pytest
import requests
from alibabacloud_ess20220222 import models as ess
from alibabacloud_ess20220222.client import Client as EssClient
from alibabacloud_tea_openapi.exceptions import ServerException, ThrottlingException
from alibabacloud_tea_openapi.utils_models import OpenApiRequest, Params
from darabonba.exceptions import UnretryableException
from darabonba.runtime import RuntimeOptions

from localcloud.gateway.signing import acs3_signature, canonical_request, rpc_v1_signature, rpc_v1_string_to_sign
from tests.support.cloud_views import REGION, group_by_name
from tests.support.errors import api_error
from tests.support.sdk import SdkClients, sdk_config


def _describe(sdk: SdkClients):
    return sdk.ess.describe_scaling_groups(ess.DescribeScalingGroupsRequest(region_id=REGION))


def test_wrong_secret_is_refused(seeded, local_cloud):
    sdk = SdkClients.for_cloud(local_cloud.info, secret="not-the-secret")
    error = api_error(lambda: _describe(sdk))
    assert error.code == "SignatureDoesNotMatch"


def test_unknown_access_key_is_404(seeded, local_cloud):
    sdk = SdkClients.for_cloud(local_cloud.info, access_key_id="LTAI5tNobodyHasThisKey")
    error = api_error(lambda: _describe(sdk))
    assert (error.status_code, error.code) == (404, "InvalidAccessKeyId.NotFound")


def test_sts_credentials_need_their_token(seeded, local_cloud):
    info = local_cloud.info
    with_token = SdkClients.for_cloud(
        info,
        access_key_id=info.sts_access_key_id,
        secret=info.sts_access_key_secret,
        security_token=info.security_token,
    )
    assert _describe(with_token).body.scaling_groups[0].scaling_group_name == "ess-eci-test"
    wrong_token = SdkClients.for_cloud(
        info, access_key_id=info.sts_access_key_id, secret=info.sts_access_key_secret, security_token="forged"
    )
    assert api_error(lambda: _describe(wrong_token)).code == "InvalidSecurityToken.MismatchWithAccessKey"


def test_legacy_rpc_signature_is_accepted(seeded, local_cloud):
    config = sdk_config(local_cloud.info)
    config.signature_algorithm = "v2"
    body = EssClient(config).describe_scaling_groups(ess.DescribeScalingGroupsRequest(region_id=REGION)).body
    assert [g.scaling_group_name for g in body.scaling_groups] == ["ess-eci-test"]


def _signed_raw_request(info, nonce: str) -> requests.Response:
    """A request signed exactly as the SDK signs it, with a nonce of our choosing."""
    query = [("RegionId", REGION)]
    headers = {
        "host": info.endpoint,
        "x-acs-action": "DescribeScalingGroups",
        "x-acs-version": "2022-02-22",
        "x-acs-date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "x-acs-signature-nonce": nonce,
        "x-acs-content-sha256": hashlib.sha256(b"").hexdigest(),
        "accept": "application/json",
    }
    signed = sorted(headers)
    signature = acs3_signature(
        info.access_key_secret, canonical_request("POST", query, headers, signed, headers["x-acs-content-sha256"])
    )
    headers["Authorization"] = (
        f"ACS3-HMAC-SHA256 Credential={info.access_key_id},SignedHeaders={';'.join(signed)},Signature={signature}"
    )
    session = requests.Session()
    session.trust_env = False
    return session.post(f"http://{info.endpoint}/?{urlencode(query)}", headers=headers, timeout=10)


def test_a_reused_nonce_is_refused(seeded, local_cloud):
    nonce = uuid.uuid4().hex
    first = _signed_raw_request(local_cloud.info, nonce)
    assert first.status_code == 200, first.text
    second = _signed_raw_request(local_cloud.info, nonce)
    assert (second.status_code, second.json()["Code"]) == (400, "SignatureNonceUsed")
    assert set(second.json()) == {"RequestId", "HostId", "Code", "Message", "Recommend"}


def _v1_post(info, action: str, business: list[tuple[str, str]], secret: str) -> tuple[list, requests.Response]:
    """A legacy HMAC-SHA1 request with its parameters in a form body; returns what was signed and the answer."""
    params = [
        ("Action", action),
        ("Version", "2022-02-22"),
        ("Format", "JSON"),
        ("AccessKeyId", info.access_key_id),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", uuid.uuid4().hex),
        ("Timestamp", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())),
        *business,
    ]
    signed = [*params, ("Signature", rpc_v1_signature(secret, "POST", params))]
    session = requests.Session()
    session.trust_env = False
    return params, session.post(f"http://{info.endpoint}/", data=signed, timeout=10)


def test_rpc_parameters_in_a_form_body_are_accepted(seeded, local_cloud):
    """Older clients send RPC parameters as a form body; the business parameters are read from it too."""
    info = local_cloud.info
    business = [("RegionId", REGION), ("ScalingGroupNames.1", "ess-eci-test")]
    _, response = _v1_post(info, "DescribeScalingGroups", business, info.access_key_secret)
    assert response.status_code == 200, response.text
    assert [g["ScalingGroupName"] for g in response.json()["ScalingGroups"]] == ["ess-eci-test"]


def test_a_wrong_v1_secret_echoes_the_string_to_sign_with_its_secrets_masked(seeded, local_cloud):
    """As the real gateway words it, ``server string to sign is:`` and the string, which the legacy SDK compares
    with its own; values the audit log masks are masked here too."""
    info = local_cloud.info
    business = [
        ("ScalingConfigurationId", "asc-any"),
        ("Containers.1.EnvironmentVars.1.Key", "DB_PASSWORD"),
        ("Containers.1.EnvironmentVars.1.Value", "env-canary-value"),
        ("ImageRegistryCredentials.1.Password", "registry-canary-password"),
        ("ClientToken", "token-kept"),
    ]
    params, response = _v1_post(info, "ModifyEciScalingConfiguration", business, "not-the-secret")
    assert (response.status_code, response.json()["Code"]) == (400, "SignatureDoesNotMatch")
    masked = {"Containers.1.EnvironmentVars.1.Value", "ImageRegistryCredentials.1.Password"}
    shown = [(name, "******" if name in masked else value) for name, value in params]
    assert response.json()["Message"] == (
        "Specified signature is not matched with our calculation. server string to sign is:"
        + rpc_v1_string_to_sign("POST", shown)
    )
    assert "canary" not in response.text and "token-kept" in response.text


def test_a_wrong_acs3_secret_shows_the_servers_string_to_sign_and_canonical_request(seeded, local_cloud):
    info = local_cloud.info
    wrong = SdkClients.for_cloud(
        info, access_key_id=info.sts_access_key_id, secret="not-the-secret", security_token=info.security_token
    )
    error = api_error(lambda: _describe(wrong))
    assert (error.status_code, error.code) == (400, "SignatureDoesNotMatch")
    shown = re.fullmatch(
        r"Specified signature does not match our calculation\. server StringToSign is \[(.*)\]"
        r" server CanonicalRequest is \[(.*)\]",
        error.data["Message"],
        re.DOTALL,
    )
    assert shown, error.data["Message"]
    string_to_sign, canonical = shown.groups()
    assert re.fullmatch(r"ACS3-HMAC-SHA256\n[0-9a-f]{64}", string_to_sign)
    assert canonical.startswith("POST\n/\nRegionId=cn-hangzhou\n")
    assert "\nx-acs-action:DescribeScalingGroups\n" in canonical
    assert "\nx-acs-security-token:******\n" in canonical and info.security_token not in error.data["Message"]


def _rpc_params(action: str, body_type: str = "json") -> Params:
    return Params(
        action=action,
        version="2022-02-22",
        protocol="HTTPS",
        pathname="/",
        method="POST",
        auth_type="AK",
        style="RPC",
        req_body_type="formData",
        body_type=body_type,
    )


def test_format_xml_is_answered_in_xml_and_the_sdk_reads_its_errors(seeded, sdk):
    query = {"RegionId": REGION, "Format": "XML"}
    answer = sdk.ess.call_api(
        _rpc_params("DescribeScalingGroups", "string"), OpenApiRequest(query=query), RuntimeOptions()
    )
    root = ElementTree.fromstring(answer["body"])
    assert root.tag == "DescribeScalingGroupsResponse" and answer["headers"]["content-type"] == "text/xml;charset=utf-8"
    assert [g.findtext("ScalingGroupName") for g in root.findall("ScalingGroups")] == ["ess-eci-test"]
    unknown = OpenApiRequest(query={**query, "ScalingGroupId": "asg-nope"})
    error = api_error(lambda: sdk.ess.call_api(_rpc_params("DescribeScalingActivities"), unknown, RuntimeOptions()))
    assert (error.status_code, error.code) == (404, "InvalidScalingGroupId.NotFound")  # parsed from <Error>


def test_unknown_action_is_refused(seeded, sdk):
    params = _rpc_params("DescribeEverything")
    error = api_error(lambda: sdk.ess.call_api(params, OpenApiRequest(query={}), RuntimeOptions()))
    assert (error.status_code, error.code) == (404, "InvalidAction.NotFound")
    assert "DescribeEverything" in error.message


def test_throttling_raises_the_sdks_throttling_exception(seeded, sdk, control):
    control.add_fault(kind="throttle", action="DescribeScalingGroups", times=1, retry_after_ms=150)
    with pytest.raises(ThrottlingException) as throttled:
        _describe(sdk)
    assert throttled.value.code == "Throttling.User"
    assert throttled.value.status_code == 400
    assert _describe(sdk).body.scaling_groups  # the fault was for one call only


def test_server_errors_and_dropped_connections(seeded, sdk, control):
    control.add_fault(kind="server_error", action="DescribeScalingGroups", status=503, times=1)
    with pytest.raises(ServerException) as unavailable:
        _describe(sdk)
    assert (unavailable.value.status_code, unavailable.value.code) == (503, "ServiceUnavailable")
    control.add_fault(kind="drop_connection", action="DescribeScalingGroups", times=1)
    with pytest.raises(UnretryableException):
        _describe(sdk)
    assert _describe(sdk).body.scaling_groups


def test_a_lost_answer_hides_an_action_that_took_effect_and_its_client_token_makes_the_retry_safe(seeded, sdk, control):
    group = group_by_name(sdk)
    token = uuid.uuid4().hex
    request = ess.ModifyScalingGroupRequest(scaling_group_id=group.scaling_group_id, max_size=group.max_size + 1)
    control.add_fault(kind="lost_response", action="ModifyScalingGroup", times=1)
    with pytest.raises(UnretryableException):
        sdk.ess.modify_scaling_group(request)
    assert group_by_name(sdk).max_size == group.max_size + 1  # done, though the caller never heard
    control.add_fault(kind="lost_response", product="ess", action="ScaleWithAdjustment", times=1)
    scale_out = ess.ScaleWithAdjustmentRequest(
        scaling_group_id=group.scaling_group_id,
        adjustment_type="QuantityChangeInCapacity",
        adjustment_value=1,
        client_token=token,
    )
    with pytest.raises(UnretryableException):
        sdk.ess.scale_with_adjustment(scale_out)
    retried = sdk.ess.scale_with_adjustment(scale_out).body.scaling_activity_id  # the same token: the same activity
    activities = sdk.ess.describe_scaling_activities(
        ess.DescribeScalingActivitiesRequest(region_id=REGION, scaling_group_id=group.scaling_group_id)
    ).body.scaling_activities
    assert [a.scaling_activity_id for a in activities if a.description.startswith("Adjust")] == [retried]


def test_a_write_with_no_effect_answers_success_and_changes_nothing(seeded, sdk, control):
    group = group_by_name(sdk)
    control.add_fault(kind="no_effect", action="ModifyScalingGroup", times=1)
    request = ess.ModifyScalingGroupRequest(scaling_group_id=group.scaling_group_id, max_size=9)
    assert sdk.ess.modify_scaling_group(request).body.request_id
    assert group_by_name(sdk).max_size == group.max_size


def test_audit_log_records_calls_without_secrets(seeded, local_cloud, control):
    mark = control.audit_mark()
    info = local_cloud.info
    sdk = SdkClients.for_cloud(info)
    group = group_by_name(sdk)
    sdk.ess.create_eci_scaling_configuration(
        ess.CreateEciScalingConfigurationRequest(
            scaling_group_id=group.scaling_group_id,
            containers=[ess.CreateEciScalingConfigurationRequestContainers(name="nginx", image="r/a:1")],
            image_registry_credentials=[
                ess.CreateEciScalingConfigurationRequestImageRegistryCredentials(
                    server="r", user_name="u", password="hunter2-secret"
                )
            ],
        )
    )
    api_error(lambda: _describe(SdkClients.for_cloud(info, secret="wrong")))
    entries = control.audit(since=mark)
    actions = [(e["action"], e["status"], e["code"], e["mutating"]) for e in entries]
    assert actions == [
        ("DescribeScalingGroups", 200, None, False),
        ("CreateEciScalingConfiguration", 200, None, True),
        ("DescribeScalingGroups", 400, "SignatureDoesNotMatch", False),
    ]
    dumped = str(entries)
    assert "hunter2-secret" not in dumped and info.access_key_secret not in dumped

"""The pipeline's calls through the legacy Python SDK (aliyun-python-sdk-core, HMAC-SHA1 RPC signatures, with its
-eci, -oos and -cr packages), and its errors as that SDK's own exceptions.

aliyun-python-sdk-ess has only ESS 2014-08-28 (other parameter names, wrapped lists), a version localcloud does not
serve; ESS 2022-02-22 goes through the core's ``CommonRequest``, the way that SDK calls an API its packages lack.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from xml.etree import ElementTree

import pytest
import requests
from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException
from aliyunsdkcore.auth.credentials import AccessKeyCredential, StsTokenCredential
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import AcsRequest, CommonRequest
from aliyunsdkcr.request.v20181201.GetAuthorizationTokenRequest import GetAuthorizationTokenRequest
from aliyunsdkcr.request.v20181201.GetRepositoryRequest import GetRepositoryRequest
from aliyunsdkcr.request.v20181201.ListInstanceRequest import ListInstanceRequest
from aliyunsdkcr.request.v20181201.ListRepoTagRequest import ListRepoTagRequest
from aliyunsdkeci.request.v20180808.DescribeContainerGroupsRequest import DescribeContainerGroupsRequest
from aliyunsdkoos.request.v20190601.CancelExecutionRequest import CancelExecutionRequest
from aliyunsdkoos.request.v20190601.ListExecutionsRequest import ListExecutionsRequest
from aliyunsdkoos.request.v20190601.NotifyExecutionRequest import NotifyExecutionRequest
from aliyunsdkoos.request.v20190601.StartExecutionRequest import StartExecutionRequest

from tests.support.cloud_views import REGION, active_configuration, group_by_name
from tests.support.images import SEEDED_REPOSITORY
from tests.support.waiting import wait_until

TEMPLATE = "ACS-ESS-RollingUpdateByUpdateContainerGroup"
NAMESPACE, REPOSITORY = SEEDED_REPOSITORY.split("/")


class Legacy:
    """An ``AcsClient`` sent to localcloud; answers are the parsed JSON bodies."""

    def __init__(self, endpoint: str, credential: AccessKeyCredential | StsTokenCredential) -> None:
        self.endpoint = endpoint
        self.client = AcsClient(region_id=REGION, credential=credential)

    def _sent(self, request: AcsRequest) -> AcsRequest:
        request.set_endpoint(self.endpoint)
        request.set_protocol_type("http")
        return request

    def call(self, request: AcsRequest) -> dict[str, Any]:
        return json.loads(self.client.do_action_with_exception(self._sent(request)))

    def ess(self, action: str, **params: Any) -> dict[str, Any]:
        return self.call(ess_request(action, **params))

    def raw(self, request: AcsRequest, accept_format: str) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body as they came, in ``accept_format`` (the deprecated but public way to get them)."""
        request.set_accept_format(accept_format)
        with pytest.deprecated_call():
            return self.client.get_response(self._sent(request))


def ess_request(action: str, **params: Any) -> CommonRequest:
    """``params`` as the wire names them (``ScalingGroupNames.1``), passed with ``**{...}`` where needed."""
    request = CommonRequest(version="2022-02-22", action_name=action, product="Ess")
    request.set_method("POST")
    for name, value in params.items():
        request.add_query_param(name, value)
    return request


@pytest.fixture(scope="module")
def legacy(local_cloud) -> Legacy:
    info = local_cloud.info
    return Legacy(info.endpoint, AccessKeyCredential(info.access_key_id, info.access_key_secret))


def _legacy_with(local_cloud, *, access_key_id: str | None = None, secret: str | None = None) -> Legacy:
    info = local_cloud.info
    credential = AccessKeyCredential(access_key_id or info.access_key_id, secret or info.access_key_secret)
    return Legacy(info.endpoint, credential)


def _server_error(call) -> ServerException:
    with pytest.raises(ServerException) as raised:
        call()
    return raised.value


def _group(legacy: Legacy) -> dict[str, Any]:
    [group] = legacy.ess("DescribeScalingGroups", RegionId=REGION, **{"ScalingGroupNames.1": "ess-eci-test"})[
        "ScalingGroups"
    ]
    return group


def _activity(legacy: Legacy, activity_id: str) -> dict[str, Any]:
    [activity] = legacy.ess("DescribeScalingActivities", RegionId=REGION, **{"ScalingActivityIds.1": activity_id})[
        "ScalingActivities"
    ]
    return activity


def _finished_activity(legacy: Legacy, activity_id: str) -> dict[str, Any]:
    return wait_until(
        lambda: (a := _activity(legacy, activity_id))["StatusCode"] != "InProgress" and a,
        timeout=60,
        what=f"activity {activity_id} to finish",
    )


def _instance_ids(legacy: Legacy, group_id: str) -> list[str]:
    body = legacy.ess("DescribeScalingInstances", RegionId=REGION, ScalingGroupId=group_id, LifecycleState="InService")
    return [i["InstanceId"] for i in body["ScalingInstances"]]


# -- ESS 2022-02-22 through CommonRequest --------------------------------------------------------------------------


def test_describe_scaling_groups(seeded, legacy):
    group = _group(legacy)
    assert (group["ScalingGroupId"], group["GroupType"]) == (seeded["scaling_groups"][0]["id"], "ECI")


def test_reads_and_writes_the_eci_scaling_configuration(seeded, legacy, sdk):
    group = _group(legacy)
    [configuration] = legacy.ess(
        "DescribeEciScalingConfigurations", RegionId=REGION, ScalingGroupId=group["ScalingGroupId"]
    )["ScalingConfigurations"]
    assert configuration["ScalingConfigurationId"] == group["ActiveScalingConfigurationId"]
    [container] = configuration["Containers"]
    assert container["Image"] == seeded["seed_image"]
    image = f"{seeded['seed_image'].rsplit(':', 1)[0]}:legacy-sdk"
    legacy.ess(
        "ModifyEciScalingConfiguration",
        ScalingConfigurationId=configuration["ScalingConfigurationId"],
        ContainersUpdateType="IncrementalUpdate",
        **{"Containers.1.Name": container["Name"], "Containers.1.Image": image},
    )
    assert active_configuration(sdk, group_by_name(sdk)).containers[0].image == image  # read by the new SDK


def test_scales_out_lists_instances_and_activities_and_removes_an_instance(seeded, legacy):
    group_id = _group(legacy)["ScalingGroupId"]
    before = _instance_ids(legacy, group_id)
    scale_out = legacy.ess(
        "ScaleWithAdjustment",
        ScalingGroupId=group_id,
        AdjustmentType="QuantityChangeInCapacity",
        AdjustmentValue=1,
        ClientToken=uuid.uuid4().hex,
    )["ScalingActivityId"]
    assert _finished_activity(legacy, scale_out)["StatusCode"] == "Successful"
    [added] = [i for i in _instance_ids(legacy, group_id) if i not in before]
    listed = legacy.ess("DescribeScalingActivities", RegionId=REGION, ScalingGroupId=group_id)["ScalingActivities"]
    assert scale_out in [a["ScalingActivityId"] for a in listed]
    removal = legacy.ess("RemoveInstances", ScalingGroupId=group_id, RegionId=REGION, **{"InstanceIds.1": added})
    assert _finished_activity(legacy, removal["ScalingActivityId"])["StatusCode"] == "Successful"
    assert sorted(_instance_ids(legacy, group_id)) == sorted(before)


def test_suspends_and_resumes_processes(seeded, legacy):
    group_id = _group(legacy)["ScalingGroupId"]
    processes = {"Processes.1": "ScaleIn", "Processes.2": "HealthCheck"}
    legacy.ess("SuspendProcesses", RegionId=REGION, ScalingGroupId=group_id, **processes)
    assert sorted(_group(legacy)["SuspendedProcesses"]) == ["HealthCheck", "ScaleIn"]
    legacy.ess("ResumeProcesses", RegionId=REGION, ScalingGroupId=group_id, **processes)
    assert _group(legacy)["SuspendedProcesses"] == []


# -- ECI, OOS and CR through their legacy packages -----------------------------------------------------------------


def test_describes_the_container_groups_of_the_instances(seeded, legacy):
    instance_ids = _instance_ids(legacy, _group(legacy)["ScalingGroupId"])
    request = DescribeContainerGroupsRequest()
    request.set_ContainerGroupIds(json.dumps(instance_ids))
    groups = legacy.call(request)["ContainerGroups"]
    assert sorted(g["ContainerGroupId"] for g in groups) == sorted(instance_ids)
    assert {(g["Status"], g["Containers"][0]["Image"]) for g in groups} == {("Running", seeded["seed_image"])}


def _start_paused_rollout(legacy: Legacy, seeded: dict) -> str:
    group = _group(legacy)
    request = StartExecutionRequest()
    request.set_TemplateName(TEMPLATE)
    request.set_Mode("Automatic")
    request.set_ClientToken(uuid.uuid4().hex)
    request.set_Parameters(
        json.dumps(
            {
                "invokeType": "invoke",
                "scalingGroupId": group["ScalingGroupId"],
                "scalingConfigurationId": group["ActiveScalingConfigurationId"],
                "containerConfigure": [{"Name": "nginx", "Image": seeded["seed_image"]}],
                "batchNumber": 2,
                "batchPauseOption": "FirstBatchPause",
            }
        )
    )
    execution_id = legacy.call(request)["Execution"]["ExecutionId"]
    assert _wait_execution(legacy, execution_id, "Waiting", "Failed")["Status"] == "Waiting"
    return execution_id


def _execution(legacy: Legacy, execution_id: str) -> dict[str, Any]:
    request = ListExecutionsRequest()
    request.set_ExecutionId(execution_id)
    [execution] = legacy.call(request)["Executions"]
    return execution


def _wait_execution(legacy: Legacy, execution_id: str, *statuses: str) -> dict[str, Any]:
    return wait_until(
        lambda: (e := _execution(legacy, execution_id))["Status"] in statuses and e,
        timeout=90,
        what=f"{execution_id} to be {' or '.join(statuses)}",
    )


def test_starts_lists_and_approves_a_paused_rollout(seeded, legacy):
    execution_id = _start_paused_rollout(legacy, seeded)
    assert "NotifyExecution" in _execution(legacy, execution_id)["StatusMessage"]
    notify = NotifyExecutionRequest()
    notify.set_ExecutionId(execution_id)
    notify.set_NotifyType("Approve")
    legacy.call(notify)
    assert _wait_execution(legacy, execution_id, "Success", "Failed", "Cancelled")["Status"] == "Success"


def test_cancels_a_rollout(seeded, legacy):
    execution_id = _start_paused_rollout(legacy, seeded)
    cancel = CancelExecutionRequest()
    cancel.set_ExecutionId(execution_id)
    legacy.call(cancel)
    assert _wait_execution(legacy, execution_id, "Success", "Failed", "Cancelled")["Status"] == "Cancelled"


def test_registry_token_repository_and_tags(seeded, legacy, local_cloud):
    [instance] = legacy.call(ListInstanceRequest())["Instances"]
    token_request = GetAuthorizationTokenRequest()
    token_request.set_InstanceId(instance["InstanceId"])
    token = legacy.call(token_request)
    session = requests.Session()
    session.trust_env = False
    login = session.get(
        f"http://{local_cloud.info.registry}/v2/",
        auth=(token["TempUsername"], token["AuthorizationToken"]),
        timeout=10,
    )
    assert login.status_code == 200  # the temporary token is a real registry login

    repository_request = GetRepositoryRequest()
    repository_request.set_InstanceId(instance["InstanceId"])
    repository_request.set_RepoNamespaceName(NAMESPACE)
    repository_request.set_RepoName(REPOSITORY)
    repo_id = legacy.call(repository_request)["RepoId"]
    tags_request = ListRepoTagRequest()
    tags_request.set_InstanceId(instance["InstanceId"])
    tags_request.set_RepoId(repo_id)
    [seed] = [t for t in legacy.call(tags_request)["Images"] if t["Tag"] == "seed"]
    # the cr package has no GetRepoTag: the core's CommonRequest calls it
    one = CommonRequest(version="2018-12-01", action_name="GetRepoTag", product="cr")
    for name, value in (("InstanceId", instance["InstanceId"]), ("RepoId", repo_id), ("Tag", "seed")):
        one.add_query_param(name, value)
    assert legacy.call(one)["Digest"] == seed["Digest"]


# -- errors as the legacy SDK's exceptions --------------------------------------------------------------------------


def test_a_wrong_secret_is_told_apart_from_a_wrong_signature(seeded, local_cloud):
    """The core compares the string to sign the gateway echoes with its own: equal means the secret is wrong."""
    wrong = _legacy_with(local_cloud, secret="not-the-secret")
    error = _server_error(lambda: wrong.call(DescribeContainerGroupsRequest()))
    assert (error.get_http_status(), error.get_error_code()) == (400, "InvalidAccessKeySecret")
    # A CommonRequest keeps no string to sign of its own, so the SDK passes the gateway's code on as it is.
    common = _server_error(lambda: wrong.ess("DescribeScalingGroups", RegionId=REGION))
    assert (common.get_http_status(), common.get_error_code()) == (400, "SignatureDoesNotMatch")
    assert common.get_error_msg().startswith(
        "Specified signature is not matched with our calculation. server string to sign is:POST&%2F&AccessKeyId%3D"
    )


def test_sts_credentials_and_a_wrong_sts_secret_that_leaves_the_token_unsaid(seeded, local_cloud):
    info = local_cloud.info
    sts = Legacy(
        info.endpoint, StsTokenCredential(info.sts_access_key_id, info.sts_access_key_secret, info.security_token)
    )
    assert sts.call(DescribeContainerGroupsRequest())["ContainerGroups"]
    wrong = Legacy(info.endpoint, StsTokenCredential(info.sts_access_key_id, "not-the-secret", info.security_token))
    error = _server_error(lambda: wrong.call(DescribeContainerGroupsRequest()))
    # the token is masked in the echoed string to sign, which therefore is not the SDK's own
    assert (error.get_http_status(), error.get_error_code()) == (400, "SignatureDoesNotMatch")
    assert "SecurityToken%3D%252A%252A%252A%252A%252A%252A" in error.get_error_msg()
    assert info.security_token not in error.get_error_msg()


def test_an_unknown_access_key_is_404(seeded, local_cloud):
    unknown = _legacy_with(local_cloud, access_key_id="LTAI5tNobodyHasThisKey")
    error = _server_error(lambda: unknown.ess("DescribeScalingGroups", RegionId=REGION))
    assert (error.get_http_status(), error.get_error_code()) == (404, "InvalidAccessKeyId.NotFound")


def test_an_unknown_group_is_404_and_a_missing_parameter_400(seeded, legacy):
    unknown = _server_error(
        lambda: legacy.ess(
            "ScaleWithAdjustment", ScalingGroupId="asg-nope", AdjustmentType="TotalCapacity", AdjustmentValue=1
        )
    )
    assert (unknown.get_http_status(), unknown.get_error_code()) == (404, "InvalidScalingGroupId.NotFound")
    assert unknown.get_request_id()
    missing = _server_error(lambda: legacy.ess("ModifyEciScalingConfiguration"))
    assert (missing.get_http_status(), missing.get_error_code()) == (400, "MissingParameter")
    assert "ScalingConfigurationId" in missing.get_error_msg()


def test_throttling_is_a_server_exception_and_not_retried(seeded, legacy, control):
    mark = control.audit_mark()
    control.add_fault(kind="throttle", action="DescribeScalingGroups", times=1, retry_after_ms=150)
    error = _server_error(lambda: _group(legacy))
    assert (error.get_http_status(), error.get_error_code()) == (400, "Throttling.User")
    # the core retries only the APIs its retry config names (ECS ones); the throttled call was made once
    assert [e["code"] for e in control.audit(since=mark)] == ["Throttling.User"]
    assert _group(legacy)["GroupType"] == "ECI"


def test_server_errors_and_dropped_connections(seeded, legacy, control):
    control.add_fault(kind="server_error", action="DescribeScalingGroups", status=503, times=1)
    unavailable = _server_error(lambda: _group(legacy))
    assert (unavailable.get_http_status(), unavailable.get_error_code()) == (503, "ServiceUnavailable")
    control.add_fault(kind="drop_connection", action="DescribeScalingGroups", times=1)
    with pytest.raises(ClientException) as dropped:
        _group(legacy)
    assert dropped.value.get_error_code() == "SDK.HttpError"
    assert _group(legacy)["GroupType"] == "ECI"


# -- Format=XML ------------------------------------------------------------------------------------------------------


def test_format_xml_answers_xml(seeded, legacy):
    status, headers, body = legacy.raw(ess_request("DescribeScalingGroups", RegionId=REGION), "XML")
    assert (status, headers["Content-Type"]) == (200, "text/xml;charset=utf-8")
    assert body.startswith(b"<?xml version='1.0' encoding='UTF-8'?><DescribeScalingGroupsResponse>")
    root = ElementTree.fromstring(body)
    assert root.findtext("RequestId") == headers["x-acs-request-id"]
    [group] = root.findall("ScalingGroups")  # a list is its items, each named after the list
    assert (group.findtext("ScalingGroupName"), group.findtext("GroupType")) == ("ess-eci-test", "ECI")
    as_json = _group(legacy)
    assert [p.text for p in group.findall("RemovalPolicies")] == as_json["RemovalPolicies"]
    assert group.findtext("GroupDeletionProtection") == str(as_json["GroupDeletionProtection"]).lower()
    assert group.findtext("MaxSize") == str(as_json["MaxSize"])
    assert group.find("SuspendedProcesses").text is None and as_json["SuspendedProcesses"] == []


def test_format_xml_errors_are_an_error_element(seeded, legacy):
    status, headers, body = legacy.raw(ess_request("DescribeEverything", RegionId=REGION), "XML")
    assert (status, headers["Content-Type"]) == (404, "text/xml;charset=utf-8")
    root = ElementTree.fromstring(body)
    assert root.tag == "Error"
    assert [child.tag for child in root] == ["RequestId", "HostId", "Code", "Message", "Recommend"]
    assert (root.findtext("Code"), root.findtext("HostId")) == ("InvalidAction.NotFound", "ess.aliyuncs.com")
    assert b"<Recommend><![CDATA[https://api.aliyun.com/troubleshoot?q=InvalidAction.NotFound&product=ESS" in body

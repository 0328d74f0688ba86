"""ACR Enterprise handlers called through ``Cloud.call`` (the path every API call takes), on a real registry.
Wire-level checks through the SDK client live with the contract tests."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
import requests

import localcloud.acr.api  # noqa: F401  (registers the CR actions)
from localcloud.acr.model import AcrModel
from localcloud.cloud import Cloud
from localcloud.errors import ApiError
from localcloud.gateway.products import CR
from localcloud.gateway.request import ApiRequest
from localcloud.kernel import Kernel
from localcloud.registry.seed_image import http_image, push_http_image
from localcloud.registry.service import Registry
from localcloud.runtime.simulated import SimulatedRuntime

_http = requests.Session()
_http.trust_env = False  # loopback only


def new_cloud(registry: Registry | None) -> Cloud:
    kernel = Kernel(region_id="cn-hangzhou")
    runtime = SimulatedRuntime(kernel.latencies, kernel.faults, registry)
    return Cloud(kernel, access_keys=[], runtime=runtime, registry=registry)


@pytest.fixture
def cloud(registry) -> Cloud:
    return new_cloud(registry)


@pytest.fixture
def namespace() -> str:
    """A namespace name of this test's own: every test shares the module's registry."""
    return f"ns-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def instance_id(cloud, namespace) -> str:
    return cloud.acr.seed("localcloud", {namespace: ["web"]}).instance_id


def call(cloud: Cloud, action: str, **params: Any) -> dict[str, Any]:
    return cloud.call(CR, ApiRequest(action=action, params=params))


def error(cloud: Cloud, action: str, **params: Any) -> ApiError:
    with pytest.raises(ApiError) as raised:
        call(cloud, action, **params)
    return raised.value


def test_every_success_says_so(cloud, instance_id):
    body = call(cloud, "ListInstance")
    assert (body["Code"], body["IsSuccess"]) == ("success", True) and body["RequestId"]


def test_seeding_again_changes_nothing(cloud, instance_id, namespace):
    before = cloud.acr.to_state()
    assert cloud.acr.seed("localcloud", {namespace: ["web"]}).instance_id == instance_id
    assert cloud.acr.to_state() == before


def test_instances_are_listed_and_filtered(cloud, instance_id):
    listed = call(cloud, "ListInstance")
    assert listed["TotalCount"] == 1
    instance = listed["Instances"][0]
    assert (instance["InstanceId"], instance["InstanceName"], instance["InstanceStatus"]) == (
        instance_id,
        "localcloud",
        "RUNNING",
    )
    assert instance["RegionId"] == "cn-hangzhou" and isinstance(instance["CreateTime"], str)
    assert call(cloud, "ListInstance", InstanceName="other")["Instances"] == []
    assert call(cloud, "ListInstance", InstanceStatus="RUNNING")["TotalCount"] == 1


def test_the_registry_endpoint_is_the_real_registry(cloud, instance_id, registry):
    endpoints = call(cloud, "ListInstanceEndpoint", InstanceId=instance_id, ModuleName="Registry")["Endpoints"]
    assert [d for e in endpoints for d in e["Domains"]] == [{"Domain": registry.address, "Type": "SYSTEM"}]
    assert call(cloud, "ListInstanceEndpoint", InstanceId=instance_id, ModuleName="Chart")["Endpoints"] == []
    missing = error(cloud, "ListInstanceEndpoint", InstanceId="cri-missing")
    assert (missing.status, missing.code) == (404, "INSTANCE_NOT_EXIST")


def test_an_authorization_token_is_a_real_registry_login_kept_out_of_audit_and_state(cloud, instance_id, registry):
    token = call(cloud, "GetAuthorizationToken", InstanceId=instance_id)
    login = (token["TempUsername"], token["AuthorizationToken"])
    assert _http.get(f"http://{registry.address}/v2/", auth=login, timeout=5).status_code == 200
    assert abs(token["ExpireTime"] - (time.time() + 3600) * 1000) < 5_000
    longer = call(cloud, "GetAuthorizationToken", InstanceId=instance_id, ExpiresInHours="24")
    assert longer["ExpireTime"] - token["ExpireTime"] == pytest.approx(23 * 3600 * 1000, abs=5_000)
    assert token["AuthorizationToken"] not in json.dumps(cloud.audit.entries())
    assert token["AuthorizationToken"] not in json.dumps(cloud.snapshot()["acr"])

    too_long = error(cloud, "GetAuthorizationToken", InstanceId=instance_id, ExpiresInHours="25")
    assert (too_long.code, "ExpiresInHours" in too_long.message) == ("InvalidParameter", True)


def test_namespaces_are_created_read_and_listed(cloud, instance_id, namespace):
    other = f"{namespace}-b"
    call(
        cloud,
        "CreateNamespace",
        InstanceId=instance_id,
        NamespaceName=other,
        AutoCreateRepo="False",
        DefaultRepoType="PUBLIC",
    )
    created = call(cloud, "GetNamespace", InstanceId=instance_id, NamespaceName=other)
    assert (created["AutoCreateRepo"], created["DefaultRepoType"], created["NamespaceStatus"]) == (
        False,
        "PUBLIC",
        "NORMAL",
    )
    by_id = call(cloud, "GetNamespace", InstanceId=instance_id, NamespaceId=created["NamespaceId"])
    assert by_id["NamespaceName"] == other

    listed = call(cloud, "ListNamespace", InstanceId=instance_id)
    assert listed["TotalCount"] == "2"
    assert [n["NamespaceName"] for n in listed["Namespaces"]] == [namespace, other]
    only = call(cloud, "ListNamespace", InstanceId=instance_id, NamespaceName=other, PageSize="1")
    assert (only["TotalCount"], only["PageSize"]) == ("1", 1)


def test_namespace_mistakes_are_refused(cloud, instance_id, namespace):
    assert error(cloud, "CreateNamespace", InstanceId=instance_id, NamespaceName=namespace).code == (
        "NAMESPACE_ALREADY_EXIST"
    )
    assert error(cloud, "CreateNamespace", InstanceId=instance_id, NamespaceName="Upper").code == "InvalidParameter"
    assert error(cloud, "CreateNamespace", InstanceId=instance_id).code == "MissingParameter"
    missing = error(cloud, "GetNamespace", InstanceId=instance_id, NamespaceName="nope")
    assert (missing.status, missing.code) == (404, "NAMESPACE_NOT_EXIST")


def test_repositories_are_created_and_found_by_id_or_name(cloud, instance_id, namespace):
    repo_id = call(
        cloud,
        "CreateRepository",
        InstanceId=instance_id,
        RepoNamespaceName=namespace,
        RepoName="api",
        RepoType="PUBLIC",
        Summary="the api",
        Detail="longer",
        TagImmutability="True",
    )["RepoId"]
    by_id = call(cloud, "GetRepository", InstanceId=instance_id, RepoId=repo_id)
    by_name = call(cloud, "GetRepository", InstanceId=instance_id, RepoNamespaceName=namespace, RepoName="api")
    assert by_id["RepoId"] == by_name["RepoId"] == repo_id
    assert (by_id["RepoType"], by_id["Summary"], by_id["Detail"], by_id["TagImmutability"]) == (
        "PUBLIC",
        "the api",
        "longer",
        True,
    )
    assert by_id["RepoBuildType"] == "MANUAL" and isinstance(by_id["CreateTime"], int)

    duplicate = error(
        cloud,
        "CreateRepository",
        InstanceId=instance_id,
        RepoNamespaceName=namespace,
        RepoName="api",
        RepoType="PUBLIC",
        Summary="again",
    )
    assert duplicate.code == "REPO_ALREADY_EXIST"
    missing = error(cloud, "GetRepository", InstanceId=instance_id, RepoId="crr-missing")
    assert (missing.status, missing.code) == (404, "REPO_NOT_EXIST")


def test_a_push_under_an_auto_create_namespace_creates_the_repository(cloud, instance_id, namespace, registry):
    manual = f"{namespace}-manual"
    call(cloud, "CreateNamespace", InstanceId=instance_id, NamespaceName=manual, AutoCreateRepo="False")
    push_http_image(registry, f"{namespace}/pushed", "v1", "pushed")
    push_http_image(registry, f"{manual}/ignored", "v1", "ignored")

    listed = call(cloud, "ListRepository", InstanceId=instance_id)
    assert listed["TotalCount"] == "2"
    assert {(r["RepoNamespaceName"], r["RepoName"], r["RepoBuildType"]) for r in listed["Repositories"]} == {
        (namespace, "pushed", "AUTO"),
        (namespace, "web", "MANUAL"),
    }
    first = call(cloud, "ListRepository", InstanceId=instance_id, MaxResults="1")
    rest = call(cloud, "ListRepository", InstanceId=instance_id, MaxResults="1", NextToken=first["NextToken"])
    assert [r["RepoName"] for r in first["Repositories"] + rest["Repositories"]] == ["pushed", "web"]
    assert rest["NextToken"] == ""


def test_tags_come_from_the_registry_newest_first(cloud, instance_id, namespace, registry):
    repository = f"{namespace}/web"
    older = push_http_image(registry, repository, "old", "old")  # created 1970
    layers, config = http_image("new")
    newer = registry.push_image(repository, "new", layers, {**config, "created": "2026-01-02T03:04:05Z"})
    repo_id = call(cloud, "GetRepository", InstanceId=instance_id, RepoNamespaceName=namespace, RepoName="web")[
        "RepoId"
    ]

    listed = call(cloud, "ListRepoTag", InstanceId=instance_id, RepoId=repo_id)
    assert listed["TotalCount"] == "2"
    assert [i["Tag"] for i in listed["Images"]] == ["new", "old"]
    image = listed["Images"][0]
    info = registry.manifest(repository, "new")
    assert image["Digest"] == newer.removeprefix("sha256:") == info.digest.removeprefix("sha256:")
    assert image["ImageId"] == info.config_digest.removeprefix("sha256:")
    assert image["ImageSize"] == info.size
    assert image["ImageCreate"] == image["ImageUpdate"] == "1767323045000"

    single = call(cloud, "GetRepoTag", InstanceId=instance_id, RepoId=repo_id, Tag="old")
    assert single["Digest"] == older.removeprefix("sha256:") and single["ImageCreate"] == 0
    for not_a_tag in ("missing", older):
        missing = error(cloud, "GetRepoTag", InstanceId=instance_id, RepoId=repo_id, Tag=not_a_tag)
        assert (missing.status, missing.code) == (404, "TAG_NOT_EXIST")


def test_the_state_survives_a_round_trip(cloud, instance_id, namespace):
    call(
        cloud,
        "CreateRepository",
        InstanceId=instance_id,
        RepoNamespaceName=namespace,
        RepoName="kept",
        RepoType="PRIVATE",
        Summary="kept",
    )
    restored = AcrModel(cloud.kernel, cloud.registry)
    restored.from_state(json.loads(json.dumps(cloud.acr.to_state())))
    assert restored.to_state() == cloud.acr.to_state()
    assert restored.repository(instance_id, namespace=namespace, name="kept").summary == "kept"


def test_without_a_registry_acr_says_what_is_missing():
    cloud = new_cloud(registry=None)
    instance_id = cloud.acr.seed("localcloud", {"ns": []}).instance_id
    failed = error(cloud, "ListInstanceEndpoint", InstanceId=instance_id)
    assert (failed.status, failed.code) == (500, "SystemError") and "without a registry" in failed.message

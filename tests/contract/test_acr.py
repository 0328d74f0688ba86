"""ACR Enterprise (cr 2018-12-01) through the real SDK client, answered from the real registry."""

from __future__ import annotations

import docker
import pytest
from alibabacloud_cr20181201 import models as cr

from tests.support.errors import api_error


def _instance_id(sdk) -> str:
    return sdk.cr.list_instance(cr.ListInstanceRequest()).body.instances[0].instance_id


def _repo_id(sdk, instance_id: str) -> str:
    return sdk.cr.get_repository(
        cr.GetRepositoryRequest(
            instance_id=instance_id, repo_namespace_name="ess_eci_test_namespace", repo_name="ess_eci_test_repo"
        )
    ).body.repo_id


def test_instance_endpoint_namespace_and_repository(seeded, sdk, local_cloud):
    instances = sdk.cr.list_instance(cr.ListInstanceRequest()).body
    assert instances.is_success and [i.instance_status for i in instances.instances] == ["RUNNING"]
    instance_id = instances.instances[0].instance_id
    endpoints = sdk.cr.list_instance_endpoint(cr.ListInstanceEndpointRequest(instance_id=instance_id)).body
    assert [d.domain for e in endpoints.endpoints for d in e.domains] == [local_cloud.info.registry]
    namespaces = sdk.cr.list_namespace(cr.ListNamespaceRequest(instance_id=instance_id)).body.namespaces
    assert [n.namespace_name for n in namespaces] == ["ess_eci_test_namespace"]
    repositories = sdk.cr.list_repository(cr.ListRepositoryRequest(instance_id=instance_id)).body.repositories
    assert ("ess_eci_test_namespace", "ess_eci_test_repo") in {
        (r.repo_namespace_name, r.repo_name) for r in repositories
    }


def test_tags_come_from_the_registry(seeded, sdk, local_cloud):
    instance_id = _instance_id(sdk)
    repo_id = _repo_id(sdk, instance_id)
    tags = sdk.cr.list_repo_tag(cr.ListRepoTagRequest(instance_id=instance_id, repo_id=repo_id)).body.images
    seed = next(t for t in tags if t.tag == "seed")
    registry_digest = local_cloud.cloud.registry.manifest("ess_eci_test_namespace/ess_eci_test_repo", "seed").digest
    assert seed.digest == registry_digest.removeprefix("sha256:")  # ACR shows bare hex digests
    one = sdk.cr.get_repo_tag(cr.GetRepoTagRequest(instance_id=instance_id, repo_id=repo_id, tag="seed")).body
    assert (one.tag, one.digest, one.image_size) == ("seed", seed.digest, seed.image_size)
    missing = api_error(
        lambda: sdk.cr.get_repo_tag(cr.GetRepoTagRequest(instance_id=instance_id, repo_id=repo_id, tag="no-such-tag"))
    )
    assert missing.code == "TAG_NOT_EXIST"


@pytest.mark.runtimes("docker")
def test_temporary_token_is_a_real_registry_login(seeded, sdk, local_cloud):
    token = sdk.cr.get_authorization_token(cr.GetAuthorizationTokenRequest(instance_id=_instance_id(sdk))).body
    assert token.temp_username and token.authorization_token and token.expire_time > 0
    engine = docker.from_env()
    login = engine.login(
        username=token.temp_username,
        password=token.authorization_token,
        registry=local_cloud.info.registry,
        reauth=True,
    )
    assert "Succeeded" in login.get("Status", "")
    refused = api_error(
        lambda: sdk.cr.get_authorization_token(cr.GetAuthorizationTokenRequest(instance_id="cri-doesnotexist"))
    )
    assert refused.code == "INSTANCE_NOT_EXIST"


def test_create_repository_and_refuse_unknown_ones(seeded, sdk):
    instance_id = _instance_id(sdk)
    created = sdk.cr.create_repository(
        cr.CreateRepositoryRequest(
            instance_id=instance_id,
            repo_namespace_name="ess_eci_test_namespace",
            repo_name="another",
            repo_type="PRIVATE",
            summary="made by a test",
        )
    ).body
    assert created.repo_id.startswith("crr-")
    got = sdk.cr.get_repository(cr.GetRepositoryRequest(instance_id=instance_id, repo_id=created.repo_id)).body
    assert (got.repo_name, got.repo_type) == ("another", "PRIVATE")
    missing = api_error(
        lambda: sdk.cr.get_repository(
            cr.GetRepositoryRequest(
                instance_id=instance_id, repo_namespace_name="ess_eci_test_namespace", repo_name="nope"
            )
        )
    )
    assert missing.code == "REPO_NOT_EXIST"

"""The blocks: registered and stored by Prefect with secrets hidden, handing out clients that reach the cloud
(even with a proxy configured), and the same settings from the environment or a .env file."""

from __future__ import annotations

import pytest
from alibabacloud_ess20220222 import models as ess
from prefect.client.orchestration import get_client
from pydantic import ValidationError

from blocks.credentials import AlibabaCloudCredentials, ProductEndpoints
from blocks.registry import AcrRegistry
from blocks.settings import ReleaseSettings


def _credentials(info) -> AlibabaCloudCredentials:
    endpoint = f"http://{info.endpoint}"
    return AlibabaCloudCredentials(
        access_key_id=info.access_key_id,
        access_key_secret=info.access_key_secret,
        region_id=info.region_id,
        endpoints=ProductEndpoints(ess=endpoint, eci=endpoint, oos=endpoint, cr=endpoint),
    )


def test_blocks_store_secrets_hidden_and_load_back(local_cloud, prefect_harness):
    info = local_cloud.info
    _credentials(info).save("test-creds", overwrite=True)
    with get_client(sync_client=True) as client:
        stored = client.read_block_document_by_name("test-creds", "alibaba-cloud-credentials", include_secrets=False)
    assert stored.data["access_key_secret"] != info.access_key_secret
    assert info.access_key_secret not in str(stored.data)
    loaded = AlibabaCloudCredentials.load("test-creds")
    assert loaded.access_key_secret.get_secret_value() == info.access_key_secret
    groups = (
        loaded.get_ess_client()
        .describe_scaling_groups(ess.DescribeScalingGroupsRequest(region_id=info.region_id))
        .body.scaling_groups
    )
    assert [g.scaling_group_name for g in groups] == ["ess-eci-test"]


def test_clients_reach_a_loopback_endpoint_despite_a_proxy(local_cloud, monkeypatch):
    info = local_cloud.info
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # which the SDK ignores
    body = (
        _credentials(info)
        .get_ess_client()
        .describe_scaling_groups(ess.DescribeScalingGroupsRequest(region_id=info.region_id))
        .body
    )
    assert body.scaling_groups


def test_registry_host_is_derived_from_instance_and_region():
    enterprise = AcrRegistry(
        instance_id="cri-1", instance_name="acme", region_id="cn-shanghai", namespace="ns", repository="app"
    )
    assert enterprise.image_repository == "acme-registry.cn-shanghai.cr.aliyuncs.com/ns/app"
    assert AcrRegistry(instance_id="cri-1", instance_name="acme", vpc=True, namespace="n", repository="r").host == (
        "acme-registry-vpc.cn-hangzhou.cr.aliyuncs.com"
    )
    personal = AcrRegistry(
        edition="personal", username="me", password="pw", namespace="n", repository="r", region_id="cn-beijing"
    )
    assert personal.host == "registry.cn-beijing.aliyuncs.com"
    local = AcrRegistry(registry_host="http://127.0.0.1:5000", instance_id="cri-1", namespace="n", repository="r")
    assert local.host == "127.0.0.1:5000"


def test_validation_errors_do_not_show_secrets():
    with pytest.raises(ValidationError) as invalid:
        AcrRegistry(edition="personal", namespace="n", repository="r", password="PW-SECRET-1")
    assert "PW-SECRET-1" not in str(invalid.value)
    with pytest.raises(ValidationError) as invalid:
        AlibabaCloudCredentials(access_key_secret="AK-SECRET-2", region_id=3)
    assert "AK-SECRET-2" not in str(invalid.value)


def test_settings_from_a_dotenv_file(tmp_path, monkeypatch):
    for name in (
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        "ALIBABA_CLOUD_REGION_ID",
        "ECI_RELEASE_ENDPOINT",
    ):
        monkeypatch.delenv(name, raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text(
        "ALIBABA_CLOUD_ACCESS_KEY_ID=LTAIx\nALIBABA_CLOUD_ACCESS_KEY_SECRET=s3cret\n"
        "ALIBABA_CLOUD_REGION_ID=cn-shanghai\nECI_RELEASE_ENDPOINT=http://127.0.0.1:1234\n"
    )
    credentials = ReleaseSettings(_env_file=env_file).credentials()
    assert (credentials.access_key_id, credentials.region_id) == ("LTAIx", "cn-shanghai")
    assert credentials.endpoints.oos == "http://127.0.0.1:1234"
    assert "s3cret" not in repr(credentials)

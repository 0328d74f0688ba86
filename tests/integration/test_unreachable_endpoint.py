"""An endpoint nobody listens on is named as such: not as the "proxy" urllib3 calls it (the pipeline gives a
loopback plain-HTTP endpoint to the SDK as its own proxy, see blocks/endpoints.py); and it is still retried."""

from __future__ import annotations

import socket

import pytest
from alibabacloud_ess20220222 import models as ess

from blocks.credentials import AlibabaCloudCredentials, ProductEndpoints
from tasks.cloud_calls import CloudCallFailed, call, is_hiccup


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the test connects to it


def test_a_refused_connection_names_the_endpoint_and_is_retried(_no_proxy_for_loopback):
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    credentials = AlibabaCloudCredentials(
        access_key_id="LTAI5tNobodyListens",
        access_key_secret="not-a-secret",
        region_id="cn-hangzhou",
        endpoints=ProductEndpoints(ess=endpoint),
    )
    client = credentials.get_ess_client()
    attempts = []

    def describe():
        attempts.append(1)
        return client.describe_scaling_groups(ess.DescribeScalingGroupsRequest(region_id="cn-hangzhou"))

    with pytest.raises(CloudCallFailed) as failed:
        call(describe, what="ess DescribeScalingGroups", attempts=3, base=0.01)
    assert str(failed.value) == (
        f"ess DescribeScalingGroups failed: could not connect to {endpoint} (connection refused): "
        "check --endpoint / ECI_RELEASE_ENDPOINT"
    )
    assert "roxy" not in str(failed.value)
    assert len(attempts) == 3 and is_hiccup(failed.value)  # transient: retried, and a wait would go on

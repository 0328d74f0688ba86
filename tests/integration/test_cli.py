"""`localcloud serve` as a user runs it: one JSON line when ready, everything stopped on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import docker
from alibabacloud_ess20220222 import models as ess

from localcloud import LocalCloudInfo
from localcloud.runtime.docker_runtime import GROUP_LABEL
from tests.support.cloud_views import REGION, instances
from tests.support.requirements import require_docker
from tests.support.sdk import SdkClients


def _containers_of(group_ids: list[str]) -> list:
    engine = docker.from_env()
    return [c for g in group_ids for c in engine.containers.list(all=True, filters={"label": f"{GROUP_LABEL}={g}"})]


def test_serve_prints_one_json_line_and_cleans_up_on_sigterm(tmp_path, _no_proxy_for_loopback):
    require_docker()
    process = subprocess.Popen(
        [sys.executable, "-m", "localcloud", "serve", "--instances", "docker", "--state-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        line = process.stdout.readline()
        assert line, process.stderr.read()
        info = LocalCloudInfo.model_validate(json.loads(line))
        assert info.endpoint.startswith("127.0.0.1:") and info.region_id == REGION
        assert info.control_url.startswith("http://127.0.0.1:") and info.registry.startswith("127.0.0.1:")
        sdk = SdkClients.for_cloud(info)
        groups = sdk.ess.describe_scaling_groups(ess.DescribeScalingGroupsRequest(region_id=REGION)).body.scaling_groups
        assert [(g.scaling_group_name, g.active_capacity) for g in groups] == [("ess-eci-test", 2)]
        instance_ids = [i.instance_id for i in instances(sdk, groups[0].scaling_group_id)]
        assert len(_containers_of(instance_ids)) == 2  # one real container per instance
    finally:
        process.send_signal(signal.SIGTERM)
        exit_code = process.wait(timeout=60)
    assert exit_code == 0
    assert process.stdout.read() == ""  # exactly one line on stdout
    assert _containers_of(instance_ids) == []

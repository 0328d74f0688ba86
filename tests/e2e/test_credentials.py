"""Credentials a scheduled run can live with: a RAM role assumed through STS, and the default credential chain."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from blocks.credentials import AlibabaCloudCredentials, ProductEndpoints
from flows.parameters import ImageSpec, TargetSpec
from flows.release import release
from tasks.cloud_calls import CloudCallFailed
from tests.e2e.conftest import REPOSITORY
from tests.support.cloud_views import active_configuration, group_by_name

TARGET = TargetSpec(scaling_group="ess-eci-test", container="nginx")


def _role_block(local_cloud, role_arn: str) -> AlibabaCloudCredentials:
    endpoint = f"http://{local_cloud.info.endpoint}"
    return AlibabaCloudCredentials(
        access_key_id=local_cloud.info.access_key_id,
        access_key_secret=local_cloud.info.access_key_secret,
        role_arn=role_arn,
        region_id=local_cloud.info.region_id,
        endpoints=ProductEndpoints(ess=endpoint, eci=endpoint, oos=endpoint, cr=endpoint, sts=endpoint),
    )


def test_a_role_assumed_through_sts_signs_the_whole_release(seeded, pipeline_env, local_cloud, control, sdk):
    keys_before = set(local_cloud.cloud.access_keys)
    mark = control.audit_mark()
    result = release(
        target=TARGET,
        image=ImageSpec(repository=REPOSITORY, tag="seed"),
        credentials=_role_block(local_cloud, local_cloud.info.role_arn),
    )
    assert result.status in ("released", "unchanged"), result.message
    # One role session for the whole run, shared by every client the block handed out; it signed every call.
    calls = [e for e in control.audit(mark) if e["caller"] == "api"]  # read before this test's own calls below
    assert [e["action"] for e in calls if e["product"] == "sts"] == ["AssumeRole"]
    [temporary] = set(local_cloud.cloud.access_keys) - keys_before
    assert temporary.startswith("STS.")
    signers = {e["access_key_id"] for e in calls if e["product"] != "sts"}
    assert signers == {temporary}, [(e["product"], e["action"]) for e in calls if e["access_key_id"] != temporary]
    assert active_configuration(sdk, group_by_name(sdk)).containers[0].image == result.image.pinned


def test_a_role_that_does_not_exist_fails_clearly_and_changes_nothing(seeded, pipeline_env, local_cloud, control):
    mark = control.audit_mark()
    with pytest.raises(CloudCallFailed, match="EntityNotExist.Role"):
        release(
            target=TARGET,
            image=ImageSpec(repository=REPOSITORY, tag="seed"),
            credentials=_role_block(local_cloud, "acs:ram::1234567890123456:role/nobody"),
        )
    assert [action for action in control.mutating_calls(mark) if action != "AssumeRole"] == []


def test_the_cli_finds_a_credentials_file_through_the_default_chain(seeded, pipeline_env, local_cloud, tmp_path):
    profile = tmp_path / "credentials.ini"
    profile.write_text(
        "[default]\ntype = access_key\n"
        f"access_key_id = {local_cloud.info.access_key_id}\naccess_key_secret = {local_cloud.info.access_key_secret}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALIBABA_CLOUD_ACCESS_KEY", "PREFECT_"))}
    env["ALIBABA_CLOUD_CREDENTIALS_FILE"] = str(profile)
    done = subprocess.run(
        [sys.executable, "-m", "deployments.cli", "release", "--group", "ess-eci-test", "--container", "nginx"]
        + ["--repository", REPOSITORY, "--tag", "seed", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["status"] in ("released", "unchanged")

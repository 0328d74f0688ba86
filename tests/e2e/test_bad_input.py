"""Bad input gets a clear error that says what is wrong, and changes nothing in the cloud."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from flows.parameters import ImageSpec, SourceSpec, TargetSpec
from flows.release import release
from tasks.cloud_calls import CloudCallFailed
from tasks.cloud_views import TargetError
from tasks.publish import PublishFailed
from tests.e2e.conftest import REPOSITORY


@pytest.mark.parametrize(
    "group,container,environment,error,message",
    [
        ("nope", "nginx", {}, TargetError, "no scaling group 'nope' in region cn-hangzhou"),
        ("ess-eci-test", "web", {}, TargetError, r"no container 'web'; its containers are \['nginx'\]"),
        ("ess-eci-test", "nginx", {"ALIBABA_CLOUD_REGION_ID": "cn-beijing"}, TargetError, "in region cn-beijing"),
        (
            "ess-eci-test",
            "nginx",
            {"ALIBABA_CLOUD_ACCESS_KEY_SECRET": "wrong"},
            CloudCallFailed,
            "ess DescribeScalingGroups failed: SignatureDoesNotMatch",
        ),
    ],
    ids=["unknown-group", "unknown-container", "wrong-region", "bad-credentials"],
)
def test_bad_target_changes_nothing(
    seeded, pipeline_env, control, stage, monkeypatch, group, container, environment, error, message
):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    mark = control.audit_mark()
    with pytest.raises(error, match=message):
        release(
            target=TargetSpec(scaling_group=group, container=container),
            image=ImageSpec(repository=REPOSITORY, tag="x"),
            source=SourceSpec(context=str(stage("x"))),
        )
    assert control.mutating_calls(mark) == []


def test_unknown_digest_changes_nothing(seeded, pipeline_env, control):
    mark = control.audit_mark()
    with pytest.raises(PublishFailed, match="the registry has no image"):
        release(
            target=TargetSpec(scaling_group="ess-eci-test", container="nginx"),
            image=ImageSpec(repository=REPOSITORY, digest="sha256:" + "0" * 64),
        )
    assert control.mutating_calls(mark) == []


def test_malformed_parameters():
    for repository in ("no-namespace", "NS/App", "ns/app/extra", "ns//app"):
        with pytest.raises(ValidationError, match="must be namespace/name"):
            ImageSpec(repository=repository, tag="v1")
    for tag in ("bad tag", ".hidden", "x" * 129):
        with pytest.raises(ValidationError, match="must be 1-128"):
            ImageSpec(repository=REPOSITORY, tag=tag)
    with pytest.raises(ValidationError, match="a tag .* or a digest"):
        ImageSpec(repository=REPOSITORY)
    with pytest.raises(ValidationError, match="sha256"):
        ImageSpec(repository=REPOSITORY, digest="sha256:short")


def test_a_group_that_cannot_run_an_instance_is_refused_before_any_write(local_cloud, pipeline_env, control):
    control.load_scenario({"scaling_groups": [{"name": "no-room", "max_size": 0, "instances": 0}]})
    try:
        mark = control.audit_mark()
        with pytest.raises(TargetError, match="MaxSize 0: it cannot run an instance"):
            release(
                target=TargetSpec(scaling_group="no-room", container="nginx"),
                image=ImageSpec(repository=REPOSITORY, tag="seed"),
            )
        assert control.mutating_calls(mark) == []
    finally:
        control.load_scenario()

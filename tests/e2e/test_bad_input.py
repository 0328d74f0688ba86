"""Bad input gets a clear error that says what is wrong, and changes nothing in the cloud."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from flows.parameters import ImageSpec, SourceSpec, TargetSpec
from flows.release import release
from tasks.cloud_views import TargetError
from tests.e2e.conftest import REPOSITORY


def _mutations(control, since: int) -> list[str]:
    return [e["action"] for e in control.audit(since) if e["mutating"] and e["status"] == 200]


def test_unknown_scaling_group(seeded, pipeline_env, control, stage):
    mark = control.audit_mark()
    with pytest.raises(TargetError, match="no scaling group 'nope' in region cn-hangzhou"):
        release(target=TargetSpec(scaling_group="nope", container="nginx"),
                image=ImageSpec(repository=REPOSITORY, tag="x"), source=SourceSpec(context=str(stage("x"))))
    assert _mutations(control, mark) == []


def test_unknown_container(seeded, pipeline_env, control, stage):
    mark = control.audit_mark()
    with pytest.raises(TargetError, match=r"no container 'web'; its containers are \['nginx'\]"):
        release(target=TargetSpec(scaling_group="ess-eci-test", container="web"),
                image=ImageSpec(repository=REPOSITORY, tag="x"), source=SourceSpec(context=str(stage("x"))))
    assert _mutations(control, mark) == []


def test_wrong_region(seeded, pipeline_env, control, stage, monkeypatch):
    monkeypatch.setenv("ALIBABA_CLOUD_REGION_ID", "cn-beijing")
    mark = control.audit_mark()
    with pytest.raises(TargetError, match="in region cn-beijing"):
        release(target=TargetSpec(scaling_group="ess-eci-test", container="nginx"),
                image=ImageSpec(repository=REPOSITORY, tag="x"), source=SourceSpec(context=str(stage("x"))))
    assert _mutations(control, mark) == []


def test_bad_credentials(seeded, pipeline_env, control, stage, monkeypatch):
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "not-the-secret")
    mark = control.audit_mark()
    with pytest.raises(Exception, match="SignatureDoesNotMatch"):
        release(target=TargetSpec(scaling_group="ess-eci-test", container="nginx"),
                image=ImageSpec(repository=REPOSITORY, tag="x"), source=SourceSpec(context=str(stage("x"))))
    assert _mutations(control, mark) == []


def test_unknown_digest(seeded, pipeline_env, control):
    mark = control.audit_mark()
    with pytest.raises(Exception, match="the registry has no image"):
        release(target=TargetSpec(scaling_group="ess-eci-test", container="nginx"),
                image=ImageSpec(repository=REPOSITORY, digest="sha256:" + "0" * 64))
    assert _mutations(control, mark) == []


def test_malformed_parameters():
    for repository in ("no-namespace", "NS/App", "ns/app/extra", "ns//app"):
        with pytest.raises(ValidationError, match="must be namespace/name"):
            ImageSpec(repository=repository, tag="v1")
    for tag in ("bad tag", ".hidden", "x" * 129):
        with pytest.raises(ValidationError, match="must be 1-128"):
            ImageSpec(repository=REPOSITORY, tag=tag)
    with pytest.raises(ValidationError, match="tag .* or a digest"):
        ImageSpec(repository=REPOSITORY)
    with pytest.raises(ValidationError):
        ImageSpec(repository=REPOSITORY, digest="sha256:short")

"""The publish stage against a real registry and the Docker engine: a push the registry refuses fails the stage
with the registry's own reason (docker-py reports success and puts the refusal in the push stream)."""

from __future__ import annotations

import uuid

import docker
import pytest
from pydantic import SecretStr

from blocks.registry import AcrRegistry
from deployments.sample_app import stage_sample_app
from tasks.models import BuiltImage
from tasks.publish import publish_image
from tasks.registry_access import PublishFailed
from tests.support.requirements import require_docker


def test_a_push_the_registry_refuses_fails_with_the_registrys_reason(registry, tmp_path):
    require_docker()
    engine = docker.from_env()
    image, _ = engine.images.build(path=str(stage_sample_app("refused", tmp_path)), rm=True)
    wrong_login = AcrRegistry(
        edition="personal",
        registry_host=registry.address,
        namespace="team",
        repository=f"web-{uuid.uuid4().hex[:6]}",
        username="nobody",
        password=SecretStr("not-the-password"),
    )
    built = BuiltImage(image_id=image.id, cache_key="test", built=True)
    with pytest.raises(PublishFailed, match="unauthorized|authentication required") as refused:
        publish_image.fn(built, wrong_login, None, "v1")
    assert "not-the-password" not in str(refused.value)
    assert registry.tags(f"team/{wrong_login.repository}") == []

"""New images in localcloud's registry, made without Docker builds (see localcloud/registry/seed_image.py)."""

from __future__ import annotations

from localcloud.registry.seed_image import push_http_image

SEEDED_REPOSITORY = "ess_eci_test_namespace/ess_eci_test_repo"


def push_image(local_cloud, tag: str, text: str) -> str:
    """A new image as ``registry/repo@sha256:…``; its containers serve ``text`` over HTTP on port 80."""
    registry = local_cloud.cloud.registry
    return f"{registry.address}/{SEEDED_REPOSITORY}@{push_http_image(registry, SEEDED_REPOSITORY, tag, text)}"

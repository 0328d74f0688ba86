"""build: a docker image from a context, built only when its content changed.

The cache key is the content of the build context after ``.dockerignore`` (paths, modes, bytes), the
Dockerfile, build args, target and platform — not where the context lives or what the arguments were
called. The key is stored as an image label, so the cache survives across processes: an image carrying the
key is reused, anything else builds.
"""

from __future__ import annotations

import hashlib
import os
from datetime import datetime, timezone
from pathlib import Path

import docker
from docker.utils.build import exclude_paths

from tasks.logs import logger
from tasks.models import BuiltImage
from tasks.task_policy import repeatable_task

CACHE_LABEL = "io.eci-release.cache-key"


class BuildFailed(RuntimeError):
    pass


def _dockerignore(context: Path) -> list[str]:
    path = context / ".dockerignore"
    if not path.exists():
        return []
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def cache_key(
    context: Path,
    dockerfile: str = "Dockerfile",
    build_args: dict[str, str] | None = None,
    target: str | None = None,
    platform: str | None = None,
) -> str:
    digest = hashlib.sha256()
    for relative in sorted(exclude_paths(str(context), _dockerignore(context), dockerfile=dockerfile)):
        path = context / relative
        info = path.lstat()
        digest.update(f"{relative}\0{info.st_mode & 0o777 if not path.is_symlink() else 0}\0".encode())
        if path.is_symlink():
            digest.update(f"link:{os.readlink(path)}".encode())
        elif path.is_file():
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        digest.update(b"\n")
    dockerfile_path = context / dockerfile
    if not dockerfile_path.is_file():
        raise BuildFailed(f"no Dockerfile at {dockerfile_path}")
    digest.update(b"dockerfile\0" + dockerfile_path.read_bytes())
    digest.update(repr(sorted((build_args or {}).items())).encode())
    digest.update(f"target={target or ''};platform={platform or ''}".encode())
    return digest.hexdigest()


def _cached_image(client: docker.DockerClient, key: str) -> str | None:
    images = client.images.list(filters={"label": f"{CACHE_LABEL}={key}"})
    return images[0].id if images else None


@repeatable_task("build")
def build_image(
    context: Path,
    dockerfile: str = "Dockerfile",
    build_args: dict[str, str] | None = None,
    target: str | None = None,
    platform: str | None = None,
    revision: str | None = None,
    source_url: str | None = None,
) -> BuiltImage:
    """Build the image unless an image with the same content key exists; stream the build log."""
    log = logger()
    key = cache_key(context, dockerfile, build_args, target, platform)
    client = docker.from_env()
    cached = _cached_image(client, key)
    if cached:
        log.info("build: unchanged tree (cache key %s), reusing %s", key[:12], cached)
        return BuiltImage(image_id=cached, cache_key=key, built=False)
    labels = {
        CACHE_LABEL: key,
        "org.opencontainers.image.created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "org.opencontainers.image.revision": revision or "unknown",
        "org.opencontainers.image.source": source_url or str(context),
    }
    image_id = None
    for chunk in client.api.build(
        path=str(context),
        dockerfile=dockerfile,
        buildargs=build_args or {},
        target=target,
        platform=platform,
        labels=labels,
        rm=True,
        forcerm=True,
        decode=True,
    ):
        if "error" in chunk or "errorDetail" in chunk:
            detail = chunk.get("errorDetail", {}).get("message") or chunk.get("error")
            raise BuildFailed(f"docker build of {context} failed: {detail}")
        if chunk.get("stream", "").strip():
            log.info("build: %s", chunk["stream"].rstrip())
        image_id = chunk.get("aux", {}).get("ID", image_id)
    if image_id is None:
        raise BuildFailed(f"docker build of {context} reported no image id")
    log.info("build: built %s (cache key %s)", image_id, key[:12])
    return BuiltImage(image_id=image_id, cache_key=key, built=True)

"""build: a docker image from a context, built only when its content changed.

The cache key is the content of the build context after ``.dockerignore`` (paths, modes, bytes), the
Dockerfile, build args, target and platform, and the digest each base image resolves to now — not where the
context lives or what the arguments were called. So a base tag re-pushed to a new digest rebuilds (pulling the
new base), and an unchanged tree on unchanged bases does not. The key is stored as an image label, so the cache
survives across processes: an image carrying the key is reused, anything else builds.
"""

from __future__ import annotations

import hashlib
import os
import re
from datetime import datetime, timezone
from pathlib import Path

import docker
from docker.utils import parse_repository_tag
from docker.utils.build import exclude_paths
from prefect.client.schemas.objects import State
from prefect.states import Completed

from blocks.credentials import AlibabaCloudCredentials
from blocks.registry import AcrRegistry, RegistryLogin
from tasks.base_images import base_images
from tasks.logs import logger
from tasks.models import BuiltImage
from tasks.registry_access import auth_config, docker_errors_as, registry_login, repo_digest
from tasks.task_policy import repeatable_task

CACHE_LABEL = "io.eci-release.cache-key"


class BuildFailed(RuntimeError):
    pass


MAX_REASON = 240  # characters of the daemon's reason kept in the one-line message; the build log has it all
_RUN_FAILED = re.compile(r"^The command '(?P<command>.*)' returned a non-zero code: (?P<code>\d+)$", re.DOTALL)
# docker-py's str() of an API error: the request URL (with every build parameter) before the daemon's words
_API_ERROR = re.compile(r'^\d{3} (?:Client|Server) Error for \S+: [^(]*\("(?P<explanation>.*)"\)$', re.DOTALL)


def failure_reason(detail: str) -> str:
    """The daemon's reason for a failed build, on one short line: a RUN step that failed says its exit code
    before its (long) command; anything longer than ``MAX_REASON`` is cut."""
    detail = " ".join(line.strip() for line in detail.strip().splitlines() if line.strip())
    api = _API_ERROR.match(detail)
    if api:
        detail = api["explanation"]
    run = _RUN_FAILED.match(detail)
    if run:
        detail = f"a RUN step exited with code {run['code']}: {run['command']}"
    return detail if len(detail) <= MAX_REASON else detail[: MAX_REASON - 1] + "…"


def build_failed(reason: str, where: str | None = None) -> BuildFailed:
    """``build failed: <the reason> (<where>)``: the cause first, where it happened last."""
    return BuildFailed(f"build failed: {failure_reason(reason)}" + (f" ({where})" if where else ""))


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
    bases: dict[str, str] | None = None,
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
    digest.update(b"dockerfile\0" + _dockerfile_text(context, dockerfile).encode())
    digest.update(repr(sorted((build_args or {}).items())).encode())
    digest.update(f"target={target or ''};platform={platform or ''}".encode())
    digest.update(repr(sorted((bases or {}).items())).encode())
    return digest.hexdigest()


def _dockerfile_text(context: Path, dockerfile: str) -> str:
    path = context / dockerfile
    if not path.is_file():
        raise build_failed(f"no Dockerfile at {path}")
    return path.read_text()


def pull_bases(
    client: docker.DockerClient, bases: list[str], registry: AcrRegistry | None, login: RegistryLogin | None
) -> dict[str, str]:
    """Pull each base image and say what it is now: the digest pulled, or (for an image only this engine has)
    its local id. The build then uses exactly what was pulled, so the key and the image agree."""
    resolved = {}
    for base in bases:
        ours = login is not None and base.startswith(f"{registry.host}/")
        try:
            with docker_errors_as(BuildFailed, "pull"):
                pulled = client.images.pull(base, auth_config=auth_config(login) if ours else None)
            resolved[base] = repo_digest(pulled, parse_repository_tag(base)[0]) or pulled.id
        except BuildFailed as not_pulled:  # its text is scrubbed: "pull failed: <the daemon's reason>"
            try:
                resolved[base] = "local:" + client.images.get(base).id
            except docker.errors.DockerException:
                reason = str(not_pulled).removeprefix("pull failed: ")
                raise build_failed(
                    f"base image {base} could not be pulled, and the local engine does not have it: {reason}"
                ) from None
    return resolved


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
    registry: AcrRegistry | None = None,
    credentials: AlibabaCloudCredentials | None = None,
) -> State:
    """Build the image unless an image with the same content key exists; stream the build log. Base images on
    the release's registry are read (and pulled) with its login. Returns a state whose result is the
    ``BuiltImage``: ``Cached`` when the key matched an existing image."""
    log = logger()
    client = docker.from_env()
    bases = base_images(_dockerfile_text(context, dockerfile), build_args)
    on_registry = registry is not None and any(base.startswith(f"{registry.host}/") for base in bases)
    login = registry_login(registry, credentials) if on_registry else None
    resolved = pull_bases(client, bases, registry, login)
    key = cache_key(context, dockerfile, build_args, target, platform, resolved)
    cached = _cached_image(client, key)
    if cached:
        log.info("build: unchanged tree (cache key %s), reusing %s", key[:12], cached)
        # A Cached state, so the UI shows the skipped build as a cache hit; callers take ``.result()``.
        return Completed(
            name="Cached",
            message=f"unchanged tree and bases: reused {cached[:19]}",
            data=BuiltImage(image_id=cached, cache_key=key, built=False),
        )
    labels = {
        CACHE_LABEL: key,
        "org.opencontainers.image.created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "org.opencontainers.image.revision": revision or "unknown",
        "org.opencontainers.image.source": source_url or str(context),
    }
    where = f"context {source_url or context}" + (f", {dockerfile}" if dockerfile != "Dockerfile" else "")

    def failed(text: str) -> BuildFailed:  # docker_errors_as's scrubbed "docker build failed: <the reason>"
        return build_failed(text.removeprefix("docker build failed: "), where)

    with docker_errors_as(failed, "docker build"):
        image_id = _run_build(client, log, context, dockerfile, build_args, target, platform, labels, where)
    log.info("build: built %s (cache key %s)", image_id, key[:12])
    return Completed(message=f"built {image_id[:19]}", data=BuiltImage(image_id=image_id, cache_key=key, built=True))


def _run_build(client, log, context, dockerfile, build_args, target, platform, labels, where=None) -> str:
    """The docker build itself, its log streamed line by line; returns the image id."""
    image_id = None
    for chunk in client.api.build(
        path=str(context),
        dockerfile=dockerfile,
        buildargs=build_args or {},
        target=target,
        platform=platform,
        labels=labels,
        pull=False,  # the bases were just pulled: build on exactly those
        rm=True,
        forcerm=True,
        decode=True,
    ):
        if "error" in chunk or "errorDetail" in chunk:
            detail = chunk.get("errorDetail", {}).get("message") or chunk.get("error")
            if failure_reason(detail) != detail:
                log.error("build: %s", detail)  # the message has it shortened; the run's logs keep it whole
            raise build_failed(detail, where)
        if chunk.get("stream", "").strip():
            log.info("build: %s", chunk["stream"].rstrip())
        image_id = chunk.get("aux", {}).get("ID", image_id)
    if image_id is None:
        raise build_failed("the docker engine reported no image id", where)
    return image_id

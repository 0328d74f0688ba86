"""publish: push the built image to ACR and pin it by digest.

docker-py can report success on a failed push, so every line of the push stream is read and any error fails
the stage; the digest comes from the stream and is confirmed through ACR ``GetRepoTag`` (Enterprise). When
the registry already serves this image under the tag, nothing is pushed. A push is marked as the release's own
first, so the webhook receiver does not start a release for it.
"""

from __future__ import annotations

import docker
from prefect import runtime

from blocks.credentials import AlibabaCloudCredentials
from blocks.registry import AcrRegistry
from tasks.logs import logger
from tasks.models import BuiltImage, ImageRef, PublishedImage
from tasks.own_pushes import OwnPush
from tasks.registry_access import (
    PublishFailed,
    auth_config,
    confirm_tag,
    failure,
    registry_digest,
    registry_errors,
    registry_login,
    repo_digest,
    served_digest,
)
from tasks.task_policy import repeatable_task


def _image_ref(registry: AcrRegistry, digest: str, tag: str | None = None) -> ImageRef:
    return ImageRef(
        registry=registry.host, repository=f"{registry.namespace}/{registry.repository}", tag=tag, digest=digest
    )


def _guarded(write):
    """Marks are best effort: without one, the receiver starts a run that finds the image already released."""
    try:
        return write()
    except Exception as error:
        logger().warning("publish: could not mark the push as this release's own: %s", error)
        return None


def _mark_own_push(registry: AcrRegistry, tag: str) -> OwnPush | None:
    if runtime.flow_run.id is None:  # not a release run: nothing for the receiver to tell apart
        return None
    flow_run_id = str(runtime.flow_run.id)
    return _guarded(lambda: OwnPush.mark(f"{registry.namespace}/{registry.repository}", tag, flow_run_id))


def _push(client, image, repository: str, tag: str, login) -> str:
    """Push ``image`` as ``repository:tag``; returns the digest the registry reported."""
    digest = None
    with registry_errors(f"push of {repository}:{tag}"):
        image.tag(repository, tag)
        for line in client.api.push(repository, tag=tag, stream=True, decode=True, auth_config=auth_config(login)):
            if "error" in line or "errorDetail" in line:
                detail = line.get("errorDetail", {}).get("message") or line.get("error")
                raise failure(f"push of {repository}:{tag} failed: {detail}")
            digest = line.get("aux", {}).get("Digest", digest)
    if digest is None:
        raise PublishFailed(f"push of {repository}:{tag} finished without reporting a digest")
    return digest


@repeatable_task("publish")
def publish_image(
    built: BuiltImage, registry: AcrRegistry, credentials: AlibabaCloudCredentials | None, tag: str
) -> PublishedImage:
    log = logger()
    client = docker.from_env()
    repository = registry.image_repository
    login = registry_login(registry, credentials)
    with registry_errors(f"reading local image {built.image_id}"):
        image = client.images.get(built.image_id)
    known = repo_digest(image, repository)
    if known and registry_digest(client, f"{repository}:{tag}", login) == known:
        log.info("publish: %s:%s already serves %s, nothing to push", repository, tag, known)
        return PublishedImage(
            image=_image_ref(registry, known, tag),
            pushed=False,
        )
    own_push = _mark_own_push(registry, tag)
    try:
        digest = _push(client, image, repository, tag, login)
    except BaseException:
        if own_push is not None:
            _guarded(own_push.failed)
        raise
    if own_push is not None:
        _guarded(lambda: own_push.pushed(digest))
    confirmed = confirm_tag(registry, credentials, tag)
    if confirmed is not None and confirmed != digest:
        raise PublishFailed(f"pushed {digest} but ACR reports {confirmed} for tag {tag}")
    log.info("publish: pushed %s:%s as %s", repository, tag, digest)
    return PublishedImage(
        image=_image_ref(registry, digest, tag),
        pushed=True,
    )


@repeatable_task("resolve-existing-image")
def resolve_existing_image(
    registry: AcrRegistry, credentials: AlibabaCloudCredentials | None, reference: str
) -> ImageRef:
    """An image that is already in the registry, given as a tag or a ``sha256:`` digest, pinned by digest."""
    digest = served_digest(registry, credentials, reference)
    if reference.startswith("sha256:"):
        if digest != reference:
            raise PublishFailed(f"the registry has no image {registry.image_repository}@{reference}")
        return _image_ref(registry, reference)
    if digest is None:
        raise PublishFailed(f"the registry has no tag {registry.image_repository}:{reference}")
    return _image_ref(registry, digest, reference)

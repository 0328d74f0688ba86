"""publish: push the built image to ACR and pin it by digest.

docker-py can report success on a failed push, so every line of the push stream is read and any error fails
the stage; the digest comes from the stream and is confirmed through ACR ``GetRepoTag`` (Enterprise). When
the registry already serves this image under the tag, nothing is pushed. A push is marked as the release's own
first, so the webhook receiver does not start a release for it.
"""

from __future__ import annotations

import docker
from alibabacloud_cr20181201 import models as cr
from prefect import runtime

from blocks.credentials import AlibabaCloudCredentials
from blocks.registry import AcrRegistry
from tasks.cloud_calls import call
from tasks.logs import logger
from tasks.models import BuiltImage, ImageRef, PublishedImage
from tasks.own_pushes import OwnPush
from tasks.registry_access import (
    PublishFailed,
    auth_config,
    failure,
    registry_digest,
    registry_errors,
    registry_login,
    repo_digest,
)
from tasks.task_policy import repeatable_task


def _image_ref(registry: AcrRegistry, digest: str, tag: str | None = None) -> ImageRef:
    return ImageRef(
        registry=registry.host, repository=f"{registry.namespace}/{registry.repository}", tag=tag, digest=digest
    )


def confirm_tag(registry: AcrRegistry, credentials: AlibabaCloudCredentials | None, tag: str) -> str | None:
    """The digest ACR's own API reports for the tag (Enterprise), or None where there is no such API."""
    if registry.edition != "enterprise" or not registry.instance_id or credentials is None:
        return None
    client = credentials.get_cr_client()
    repository = call(
        lambda: client.get_repository(
            cr.GetRepositoryRequest(
                instance_id=registry.instance_id, repo_namespace_name=registry.namespace, repo_name=registry.repository
            )
        ),
        what="cr GetRepository",
    ).body
    if not repository.repo_id:
        raise PublishFailed(
            f"ACR has no repository {registry.namespace}/{registry.repository} in instance {registry.instance_id}"
        )
    tag_info = call(
        lambda: client.get_repo_tag(
            cr.GetRepoTagRequest(instance_id=registry.instance_id, repo_id=repository.repo_id, tag=tag)
        ),
        what="cr GetRepoTag",
    ).body
    # ACR shows digests as bare hex (no "sha256:").
    return f"sha256:{tag_info.digest.removeprefix('sha256:')}" if tag_info.digest else None


def _guarded(write):
    """Marks are best effort: without one, the receiver starts a run that finds the image already released."""
    try:
        return write()
    except Exception as error:
        logger().warning("publish: could not mark the push as this release's own: %s", error)
        return None


def _mark_own_push(registry: AcrRegistry, tag: str) -> OwnPush | None:
    flow_run_id = str(runtime.flow_run.id) if runtime.flow_run.id else None
    return _guarded(lambda: OwnPush.mark(f"{registry.namespace}/{registry.repository}", tag, flow_run_id))


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
    confirmed = confirm_tag(registry, credentials, tag)
    if confirmed is not None and confirmed != digest:
        raise PublishFailed(f"pushed {digest} but ACR reports {confirmed} for tag {tag}")
    if own_push is not None:
        _guarded(lambda: own_push.pushed(digest))
    log.info("publish: pushed %s:%s as %s", repository, tag, digest)
    return PublishedImage(
        image=_image_ref(registry, digest, tag),
        pushed=True,
    )


def served_digest(registry: AcrRegistry, credentials: AlibabaCloudCredentials | None, reference: str) -> str | None:
    """The digest the registry serves for a tag or a ``sha256:`` digest of the block's repository, or None when it
    has no such image. For a tag, ACR's own API (Enterprise) must agree."""
    by_digest = reference.startswith("sha256:")
    name = f"{registry.image_repository}{'@' if by_digest else ':'}{reference}"
    digest = registry_digest(docker.from_env(), name, registry_login(registry, credentials))
    if digest is not None and not by_digest:
        confirmed = confirm_tag(registry, credentials, reference)
        if confirmed is not None and confirmed != digest:
            raise PublishFailed(f"the registry serves {digest} for tag {reference} but ACR reports {confirmed}")
    return digest


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

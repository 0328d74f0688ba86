"""Talking to the image registry through the Docker engine: logging in, reading what a reference points at, and
errors that carry no credentials."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable

import docker
import requests
from alibabacloud_cr20181201 import models as cr
from docker.errors import APIError, DockerException, NotFound

from blocks.credentials import AlibabaCloudCredentials
from blocks.registry import AcrRegistry, RegistryLogin
from tasks.cloud_calls import call
from tasks.task_policy import TransientFailure

# Words in a registry or engine error that mean "try again", not "you are wrong".
_TRANSIENT_MARKERS = ("connection refused", "connection reset", "timeout", "timed out", " 502", " 503", " 504", "eof")


class PublishFailed(RuntimeError):
    pass


class RegistryUnavailable(PublishFailed, TransientFailure):
    pass


def failure(message: str) -> PublishFailed:
    transient = any(marker in message.lower() for marker in _TRANSIENT_MARKERS)
    return (RegistryUnavailable if transient else PublishFailed)(message)


@contextmanager
def docker_errors_as(make_error: Callable[[str], Exception], what: str):
    """Turn docker-py's errors into ours. Theirs keep the HTTP request, whose ``X-Registry-Auth`` or
    ``X-Registry-Config`` header holds the registry login; an exception leaving a task is logged and may be
    stored, so it must carry only text."""
    try:
        yield
    except (DockerException, requests.RequestException) as error:
        detail = (getattr(error, "explanation", None) or str(error)).strip()
        raise make_error(f"{what} failed: {detail}") from None


def registry_errors(what: str):
    return docker_errors_as(failure, what)


def auth_config(login: RegistryLogin) -> dict[str, str]:
    return {"username": login.username, "password": login.password.get_secret_value()}


def registry_digest(client: docker.DockerClient, reference: str, login: RegistryLogin | None) -> str | None:
    """The digest the registry serves for ``reference`` (tag or digest), or None if it has none. Without a
    login, the registry is read anonymously."""
    with registry_errors(f"registry check of {reference}"):
        try:
            return client.images.get_registry_data(reference, auth_config=auth_config(login) if login else None).id
        except NotFound:
            return None
        except APIError as error:
            # The registry says "manifest unknown" (404) for a missing tag or digest; anything else is an error.
            if error.status_code == 404 or "manifest unknown" in str(error).lower():
                return None
            raise


def registry_login(registry: AcrRegistry, credentials: AlibabaCloudCredentials | None) -> RegistryLogin:
    return call(lambda: registry.get_login(credentials), what="registry login (cr GetAuthorizationToken)")


def repo_digest(image, repository: str) -> str | None:
    """The digest a local image has in ``repository`` (it was pushed there or pulled from it), as Docker
    recorded it."""
    for entry in image.attrs.get("RepoDigests") or []:
        name, _, digest = entry.partition("@")
        if name == repository:
            return digest
    return None


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


def served_digest(registry: AcrRegistry, credentials: AlibabaCloudCredentials | None, reference: str) -> str | None:
    """The digest the registry serves for a tag or a ``sha256:`` digest of the block's repository, or None when it
    has no such image. For a tag, ACR's own API (Enterprise) must agree."""
    by_digest = reference.startswith("sha256:")
    name = f"{registry.image_repository}{'@' if by_digest else ':'}{reference}"
    with registry_errors("connecting to the Docker engine"):
        engine = docker.from_env()
    digest = registry_digest(engine, name, registry_login(registry, credentials))
    if digest is not None and not by_digest:
        confirmed = confirm_tag(registry, credentials, reference)
        if confirmed is not None and confirmed != digest:
            raise PublishFailed(f"the registry serves {digest} for tag {reference} but ACR reports {confirmed}")
    return digest

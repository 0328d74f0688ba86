"""The registry HTTP API (distribution spec v2): catalog, tags, manifests, and pushing an image without Docker."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import requests

from localcloud.registry.images import (
    DOCKER_CONFIG,
    DOCKER_LAYER_GZIP,
    DOCKER_MANIFEST,
    MULTI_PLATFORM_INDEXES,
    SINGLE_IMAGE_MANIFESTS,
    host_architecture,
    parse_created,
    sha256_digest,
)

_ACCEPT_MANIFESTS = ", ".join(SINGLE_IMAGE_MANIFESTS + MULTI_PLATFORM_INDEXES)
_TIMEOUT = (5, 60)  # connect, read (seconds)


class RegistryError(Exception):
    """The registry answered something other than what the API promises, or could not be reached."""


@dataclass(frozen=True)
class ManifestInfo:
    digest: str  # what the reference resolves to; for a multi-platform image, the index's digest
    media_type: str
    size: int  # config + layers as stored (compressed), the size registries report for an image
    config_digest: str  # the image id Docker shows
    created: float | None  # epoch seconds, from the image config


class RegistryClient:
    def __init__(self, address: str, auth: tuple[str, str] | None) -> None:
        self.address = address
        self.base_url = f"http://{address}"
        self._session = requests.Session()
        self._session.auth = auth
        self._session.trust_env = False  # the registry is on loopback: never through a proxy

    def close(self) -> None:
        self._session.close()

    # -- reads ---------------------------------------------------------------------------------------------

    def catalog(self) -> list[str]:
        return self._paged_list("/v2/_catalog?n=1000", "repositories", "list repositories")

    def tags(self, repository: str) -> list[str]:
        """The repository's tags; none for a repository the registry has never seen."""
        return self._paged_list(
            f"/v2/{repository}/tags/list", "tags", f"list the tags of {repository}", missing_ok=True
        )

    def manifest(self, repository: str, reference: str) -> ManifestInfo | None:
        """The image a tag or digest names, or None if the registry has no such manifest."""
        response = self._request(
            "GET", f"/v2/{repository}/manifests/{reference}", headers={"Accept": _ACCEPT_MANIFESTS}
        )
        if response.status_code == 404:
            return None
        self._check(response, f"read the manifest {repository}:{reference}")
        digest = response.headers.get("Docker-Content-Digest") or sha256_digest(response.content)
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        document = response.json()
        media_type = document.get("mediaType") or media_type
        if media_type in MULTI_PLATFORM_INDEXES:
            image = self._manifest_for_this_platform(repository, document)
        elif media_type in SINGLE_IMAGE_MANIFESTS:
            image = document
        else:
            raise RegistryError(
                f"{repository}:{reference} is a {media_type or 'untyped'} manifest; localcloud reads Docker schema 2 "
                f"and OCI image manifests only (push with a current Docker or buildx)"
            )
        config = image["config"]
        return ManifestInfo(
            digest=digest,
            media_type=media_type,
            size=config["size"] + sum(layer["size"] for layer in image.get("layers", [])),
            config_digest=config["digest"],
            created=parse_created(self._blob_json(repository, config["digest"]).get("created")),
        )

    def _manifest_for_this_platform(self, repository: str, index: dict[str, Any]) -> dict[str, Any]:
        entries = [m for m in index.get("manifests", []) if m.get("mediaType") in SINGLE_IMAGE_MANIFESTS]
        wanted = {"os": "linux", "architecture": host_architecture()}
        matching = [m for m in entries if all(m.get("platform", {}).get(k) == v for k, v in wanted.items())]
        chosen = (matching or entries or [None])[0]
        if chosen is None:
            raise RegistryError(f"the image index in {repository} lists no image manifest")
        response = self._request(
            "GET", f"/v2/{repository}/manifests/{chosen['digest']}", headers={"Accept": chosen["mediaType"]}
        )
        self._check(response, f"read the manifest {repository}@{chosen['digest']}")
        return response.json()

    def _blob_json(self, repository: str, digest: str) -> dict[str, Any]:
        response = self._request("GET", f"/v2/{repository}/blobs/{digest}")
        self._check(response, f"read the blob {repository}@{digest}")
        return response.json()

    # -- push ----------------------------------------------------------------------------------------------

    def push_image(self, repository: str, tag: str, layers: list[bytes], config: dict[str, Any]) -> str:
        """Upload gzip'd tar layers, the config and a schema 2 manifest; returns the manifest digest.

        The config's ``rootfs`` is derived from ``layers``.
        """
        diff_ids = [sha256_digest(gzip.decompress(layer)) for layer in layers]
        config = {**config, "rootfs": {"type": "layers", "diff_ids": diff_ids}}
        config_blob = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
        for blob in (*layers, config_blob):
            self._upload_blob(repository, blob)
        manifest = {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {"mediaType": DOCKER_CONFIG, "size": len(config_blob), "digest": sha256_digest(config_blob)},
            "layers": [
                {"mediaType": DOCKER_LAYER_GZIP, "size": len(layer), "digest": sha256_digest(layer)} for layer in layers
            ],
        }
        body = json.dumps(manifest, indent=3).encode()
        response = self._request(
            "PUT", f"/v2/{repository}/manifests/{tag}", data=body, headers={"Content-Type": DOCKER_MANIFEST}
        )
        self._check(response, f"push the manifest {repository}:{tag}")
        expected = sha256_digest(body)
        answered = response.headers.get("Docker-Content-Digest", expected)
        if answered != expected:
            raise RegistryError(f"the registry stored {repository}:{tag} as {answered}, but the manifest is {expected}")
        return expected

    def _upload_blob(self, repository: str, blob: bytes) -> None:
        digest = sha256_digest(blob)
        if self._request("HEAD", f"/v2/{repository}/blobs/{digest}").status_code == 200:
            return
        started = self._request("POST", f"/v2/{repository}/blobs/uploads/")
        self._check(started, f"start a blob upload to {repository}")
        location = started.headers["Location"]
        separator = "&" if "?" in location else "?"
        finished = self._request(
            "PUT",
            f"{location}{separator}digest={digest}",
            data=blob,
            headers={"Content-Type": "application/octet-stream"},
        )
        self._check(finished, f"upload the blob {digest} to {repository}")

    # -- plumbing ------------------------------------------------------------------------------------------

    def _paged_list(self, path: str, key: str, what: str, *, missing_ok: bool = False) -> list[str]:
        items: list[str] = []
        url: str | None = path
        while url:
            response = self._request("GET", url)
            if missing_ok and response.status_code == 404:
                return []
            self._check(response, what)
            items.extend(response.json().get(key) or [])
            url = response.links.get("next", {}).get("url")
        return items

    def _request(self, method: str, path_or_url: str, **kwargs: Any) -> requests.Response:
        """``path_or_url``: an API path, or a URL the registry handed out (upload locations, next pages)."""
        try:
            return self._session.request(method, urljoin(self.base_url, path_or_url), timeout=_TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            raise RegistryError(f"the registry at {self.address} is unreachable: {exc}") from exc

    def _check(self, response: requests.Response, what: str) -> None:
        if response.status_code < 300:
            return
        if response.status_code == 401:
            raise RegistryError(
                f"could not {what}: the registry at {self.address} refused localcloud's credentials "
                f"(attached with the wrong username/password?)"
            )
        raise RegistryError(
            f"could not {what}: the registry at {self.address} answered HTTP {response.status_code}: "
            f"{response.text[:300]}"
        )

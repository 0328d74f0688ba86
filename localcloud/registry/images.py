"""Facts of the image format shared by the registry client and the seed image: media types, digests, platform."""

from __future__ import annotations

import hashlib
import platform
import re
from datetime import datetime

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"

SINGLE_IMAGE_MANIFESTS = (DOCKER_MANIFEST, OCI_MANIFEST)
MULTI_PLATFORM_INDEXES = (DOCKER_MANIFEST_LIST, OCI_INDEX)

_ARCHITECTURES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def host_architecture() -> str:
    """This machine's CPU in the OCI platform vocabulary (``amd64``, ``arm64``)."""
    machine = platform.machine().lower()
    return _ARCHITECTURES.get(machine, machine)


def parse_created(value: str | None) -> float | None:
    """An image config's RFC 3339 ``created`` (Go writes nanoseconds) -> epoch seconds."""
    if not value:
        return None
    # Python parses at most 6 fractional digits.
    trimmed = re.sub(r"(\.\d{6})\d+", r"\1", value).replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(trimmed).timestamp()
    except ValueError:
        return None

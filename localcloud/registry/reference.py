"""Image references (``host:port/ns/repo:tag``, ``repo@sha256:…``) split the way Docker splits them."""

from __future__ import annotations

from dataclasses import dataclass

DOCKER_HUB = "docker.io"


@dataclass(frozen=True)
class ImageReference:
    registry: str  # "127.0.0.1:5000", or docker.io when the reference names no registry
    repository: str  # "ns/repo" (Docker Hub official images: "library/name")
    reference: str  # a tag, or a digest "sha256:…"

    @classmethod
    def parse(cls, image: str) -> "ImageReference":
        if not image or any(c.isspace() for c in image):
            raise ValueError(f"not an image reference: {image!r}")
        name, at, digest = image.partition("@")
        reference = digest if at else "latest"
        last_part = name.rsplit("/", 1)[-1]
        if not at and ":" in last_part:
            name, _, reference = name.rpartition(":")
        first, slash, rest = name.partition("/")
        # Docker reads the first component as a registry host only if it looks like one.
        if slash and ("." in first or ":" in first or first == "localhost"):
            registry, repository = first, rest
        else:
            registry, repository = DOCKER_HUB, name if slash else f"library/{name}"
        if not repository or not reference:
            raise ValueError(f"not an image reference: {image!r}")
        return cls(registry, repository, reference)

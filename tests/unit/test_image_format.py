"""Image references split as Docker splits them; image config times read as the registry writes them."""

from __future__ import annotations

import pytest

from localcloud.registry.images import parse_created
from localcloud.registry.reference import ImageReference


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("127.0.0.1:5000/ns/repo:v1", ("127.0.0.1:5000", "ns/repo", "v1")),
        ("127.0.0.1:5000/ns/repo", ("127.0.0.1:5000", "ns/repo", "latest")),
        ("127.0.0.1:5000/ns/repo@sha256:abc", ("127.0.0.1:5000", "ns/repo", "sha256:abc")),
        ("localhost/repo:1", ("localhost", "repo", "1")),
        ("registry.example.com/a/b/c:tag", ("registry.example.com", "a/b/c", "tag")),
        ("nginx", ("docker.io", "library/nginx", "latest")),
        ("team/app:2", ("docker.io", "team/app", "2")),
    ],
)
def test_references_split_like_docker(image, expected):
    ref = ImageReference.parse(image)
    assert (ref.registry, ref.repository, ref.reference) == expected


@pytest.mark.parametrize("image", ["", "has space:1", "127.0.0.1:5000/:v1"])
def test_malformed_references_are_rejected(image):
    with pytest.raises(ValueError, match="not an image reference"):
        ImageReference.parse(image)


def test_created_times_with_nanoseconds_and_zones_parse():
    assert parse_created("1970-01-01T00:00:00Z") == 0.0
    assert parse_created("2026-11-27T17:16:14.099804793Z") == pytest.approx(1795799774.099804)
    assert parse_created("2026-11-27T18:16:14+01:00") == parse_created("2026-11-27T17:16:14Z")
    assert parse_created(None) is None
    assert parse_created("yesterday") is None

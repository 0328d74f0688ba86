"""Which images a Dockerfile builds on."""

from tasks.base_images import base_images


def test_scratch_and_earlier_stages_are_not_bases():
    dockerfile = """
FROM golang:1.22 AS build
RUN go build
FROM --platform=linux/amd64 registry.example/team/runtime:stable AS run
COPY --from=build /app /app
FROM build
FROM scratch
"""
    assert base_images(dockerfile) == ["golang:1.22", "registry.example/team/runtime:stable"]


def test_args_before_the_first_from_are_substituted_and_build_args_win():
    dockerfile = "ARG BASE=alpine:3.20\nARG TAG\nFROM ${BASE}\nFROM busybox:${TAG:-1.36}\n"
    assert base_images(dockerfile) == ["alpine:3.20", "busybox:1.36"]
    assert base_images(dockerfile, {"BASE": "debian:12", "TAG": "1.37"}) == ["debian:12", "busybox:1.37"]


def test_continuations_comments_and_case():
    dockerfile = "# FROM not-this\nfrom \\\n  python:3.11-slim as base\nFrom base\n"
    assert base_images(dockerfile) == ["python:3.11-slim"]


def test_a_base_named_twice_counts_once():
    assert base_images("FROM a:1 AS one\nFROM a:1 AS two\n") == ["a:1"]


def test_quoted_arg_defaults_and_images_copied_from():
    dockerfile = (
        'ARG BASE="python:3.12"\nFROM $BASE AS app\n'
        "COPY --from=nginx:1.27 /etc/nginx /etc/nginx\nCOPY --from=app /a /b\nCOPY --from=0 /c /d\n"
    )
    assert base_images(dockerfile) == ["python:3.12", "nginx:1.27"]

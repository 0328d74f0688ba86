"""Build options given without --context would be silently ignored: they are refused, in one line, before
anything runs."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from deployments import cli

DEPLOY = ["release", "--group", "g", "--container", "c", "--repository", "team/app", "--tag", "v1"]


@pytest.fixture
def nothing_runs(monkeypatch):
    def run(*args, **kwargs):
        raise AssertionError("the release ran")

    monkeypatch.setattr(cli, "_run", run)
    monkeypatch.setattr(cli, "_endpoints", run)


@pytest.mark.parametrize(
    "option",
    [["--build-arg", "A=1"], ["--dockerfile", "Other.Dockerfile"], ["--build-target", "run"], ["--ref", "main"]],
    ids=["build-arg", "dockerfile", "build-target", "ref"],
)
def test_a_build_option_without_a_context_is_refused_in_one_line(nothing_runs, option):
    done = CliRunner().invoke(cli.app, [*DEPLOY, *option, "--json"])
    assert done.exit_code == 2, done.output
    assert done.stderr.strip().splitlines() == [
        f"eci-release: invalid arguments: {option[0]} only apply to a build: give --context too"
    ]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "status": "failed",
        "message": f"invalid arguments: {option[0]} only apply to a build: give --context too",
    }


def test_every_ignored_option_is_named_and_the_default_dockerfile_is_not(nothing_runs):
    done = CliRunner().invoke(
        cli.app, [*DEPLOY, "--dockerfile", "Dockerfile", "--ref", "main", "--build-arg", "A=1", "--build-arg", "B=2"]
    )
    assert done.exit_code == 2
    message = "invalid arguments: --ref, --build-arg only apply to a build: give --context too"
    assert done.stderr.strip() == f"eci-release: {message}"

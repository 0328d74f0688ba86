"""`eci-release release` with one group runs the release flow as before; with several (or a canary) the fan-out
flow; `plan` plans each group in turn; groups named twice or with a malformed region are refused before anything
runs."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from deployments import cli
from flows.fan_out import fan_out
from flows.fan_out_outcome import FanOutGroup
from flows.release import release

IMAGE = ["--container", "web", "--repository", "team/app", "--tag", "v1"]


@pytest.fixture
def runs(monkeypatch):
    """The flows the command would run, with their parameters; nothing runs."""
    started = []

    def run(flow, as_json, **parameters):
        started.append((flow, parameters))
        return 0

    monkeypatch.setattr(cli, "_run", run)
    monkeypatch.setattr(cli, "_endpoints", lambda *args: None)
    monkeypatch.setenv("ALIBABA_CLOUD_REGION_ID", "cn-hangzhou")
    return started


def test_one_group_is_one_release_as_before(runs):
    done = CliRunner().invoke(cli.app, ["release", "--group", "web-a", *IMAGE])
    assert done.exit_code == 0, done.output
    [(flow, parameters)] = runs
    assert flow is release and parameters["target"].scaling_group == "web-a" and parameters["mode"] == "release"


def test_a_group_in_another_region_is_released_there(runs):
    done = CliRunner().invoke(cli.app, ["release", "--group", "cn-beijing/web-a", *IMAGE])
    assert done.exit_code == 0, done.output
    [(flow, parameters)] = runs
    assert flow is release and (parameters["target"].scaling_group, parameters["target"].region_id) == (
        "web-a",
        "cn-beijing",
    )


def test_several_groups_and_a_canary_run_the_fan_out(runs):
    args = ["release", "--canary", "web-a", "--group", "web-b", "--group", "cn-hangzhou/web-c", *IMAGE]
    done = CliRunner().invoke(cli.app, args)
    assert done.exit_code == 0, done.output
    [(flow, parameters)] = runs
    assert flow is fan_out and parameters["canary"] == FanOutGroup(scaling_group="web-a")
    assert parameters["groups"] == [
        FanOutGroup(scaling_group="web-b"),
        FanOutGroup(scaling_group="web-c", region_id="cn-hangzhou"),
    ]
    assert parameters["container"] == "web" and parameters["image"].tag == "v1"


def test_plan_plans_each_group_in_turn(runs):
    done = CliRunner().invoke(cli.app, ["plan", "--canary", "web-a", "--group", "web-b", *IMAGE])
    assert done.exit_code == 0, done.output
    assert [(flow, p["target"].scaling_group, p["mode"]) for flow, p in runs] == [
        (release, "web-a", "plan"),
        (release, "web-b", "plan"),
    ]


@pytest.mark.parametrize(
    "groups, said",
    [
        (["--group", "web-a", "--group", "web-a"], "groups named more than once: web-a"),
        (["--group", "Bad Region/web-a"], "region_id: String should match pattern"),
    ],
    ids=["twice", "malformed region"],
)
def test_groups_that_cannot_be_released_are_refused_in_one_line(runs, groups, said):
    done = CliRunner().invoke(cli.app, ["release", *groups, *IMAGE])
    assert done.exit_code == 2 and runs == []
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"eci-release: invalid arguments: {said}")

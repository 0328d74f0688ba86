"""Which rate limit a call keeps to: its product and action, as the tasks name their calls; whether it is a read
(paced at its share) or a write (a slot); and the limits' names and bursts."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

from tasks.rate_limits import (
    DEFAULT_RATES,
    GROUP_LOCK_PREFIX,
    burst,
    is_read,
    limit_name,
    rate_key,
    releases_holding_locks,
)

TASKS = Path(__file__).resolve().parents[2] / "tasks"


def test_a_call_named_product_and_action_takes_that_limit_and_any_other_name_none():
    assert rate_key("ess DescribeScalingGroups") == "ess:DescribeScalingGroups"
    assert rate_key("registry login (cr GetAuthorizationToken)") == "cr:GetAuthorizationToken"
    assert rate_key("OOS execution exec-123") is None
    assert rate_key("scaling activity asa-1") is None


def test_names_carry_the_prefix_product_and_action(monkeypatch):
    monkeypatch.delenv("ECI_RELEASE_RATE_LIMIT_PREFIX", raising=False)
    assert limit_name("ess:DescribeScalingGroups") == "eci-release-rate-ess-DescribeScalingGroups"
    monkeypatch.setenv("ECI_RELEASE_RATE_LIMIT_PREFIX", "team-b-rate")
    assert limit_name("oos:ListExecutions") == "team-b-rate-oos-ListExecutions"


def test_the_burst_is_a_seconds_worth_of_calls_and_at_least_one():
    assert [burst(rate) for rate in (0.2, 1, 2.5, 20)] == [1, 1, 3, 20]


def test_every_call_the_tasks_make_has_a_default_rate():
    named = set()
    for source in TASKS.glob("*.py"):
        for what in re.findall(r'what="([^"]+)"', source.read_text()):
            if rate_key(what):
                named.add(rate_key(what))
    assert named and named == set(DEFAULT_RATES)


def test_reads_are_the_actions_that_describe_list_or_get():
    assert [is_read(key) for key in ("ess:DescribeScalingGroups", "oos:ListExecutions", "cr:GetRepoTag")] == [True] * 3
    assert not any(is_read(key) for key in ("ess:ScaleWithAdjustment", "oos:NotifyExecution", "oos:StartExecution"))


def test_reads_are_shared_by_the_releases_holding_a_group_lock_and_at_least_one():
    def limit(name: str, active_slots: int):
        return SimpleNamespace(name=name, active_slots=active_slots)

    held = [limit(f"{GROUP_LOCK_PREFIX}asg-{n}", 1) for n in range(3)]
    assert releases_holding_locks([*held, limit(f"{GROUP_LOCK_PREFIX}asg-idle", 0), limit("other", 5)]) == 3
    assert releases_holding_locks([limit("eci-release-rate-ess-DescribeScalingGroups", 4)]) == 1

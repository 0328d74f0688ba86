"""The pipeline's retry policy against localcloud's faults: transient errors are retried with backoff,
anything else fails at once with a message that names the call."""

from __future__ import annotations

import pytest
from alibabacloud_ess20220222 import models as ess

from tasks.cloud_calls import CloudCallFailed, call
from tests.support.cloud_views import REGION


def _describe(sdk, **request):
    return sdk.ess.describe_scaling_groups(ess.DescribeScalingGroupsRequest(region_id=REGION, **request))


def _attempts(control, since: int) -> int:
    return sum(1 for e in control.audit(since) if e["action"] == "DescribeScalingGroups")


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "throttle", "retry_after_ms": 10},
        {"kind": "server_error", "status": 503},
        {"kind": "server_error", "status": 500},
        {"kind": "drop_connection"},
    ],
    ids=["throttling", "503", "500", "dropped-connection"],
)
def test_transient_errors_are_retried(seeded, sdk, control, fault):
    control.add_fault(action="DescribeScalingGroups", times=2, **fault)
    mark = control.audit_mark()
    body = call(lambda: _describe(sdk), what="ess DescribeScalingGroups", base=0.01).body
    assert body.scaling_groups
    if fault["kind"] != "drop_connection":  # a dropped connection is refused before it is audited
        assert _attempts(control, mark) == 3


def test_persistent_transient_errors_give_up_after_the_last_attempt(seeded, sdk, control):
    control.add_fault(kind="throttle", action="DescribeScalingGroups", retry_after_ms=10)
    mark = control.audit_mark()
    with pytest.raises(CloudCallFailed, match="ess DescribeScalingGroups failed: Throttling.User"):
        call(lambda: _describe(sdk), what="ess DescribeScalingGroups", attempts=3, base=0.01)
    assert _attempts(control, mark) == 3


def test_other_errors_are_not_retried(seeded, sdk, control):
    mark = control.audit_mark()
    with pytest.raises(CloudCallFailed, match="MissingParameter") as failed:
        call(
            lambda: sdk.ess.describe_scaling_groups(ess.DescribeScalingGroupsRequest()),
            what="ess DescribeScalingGroups",
            base=0.01,
        )
    assert failed.value.code == "MissingParameter" and failed.value.status_code == 400
    assert _attempts(control, mark) == 1

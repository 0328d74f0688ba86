"""The plan mode: what a release would do, with nothing changed; then the release itself does what it said."""

from __future__ import annotations

from collections import Counter

from alibabacloud_oos20190601 import models as oos

from flows.parameters import ImageSpec, RolloutSpec
from flows.release import release
from tasks.models import ImageRef
from tests.e2e.conftest import REPOSITORY
from tests.e2e.test_release import TARGET
from tests.support.cloud_views import REGION, group_by_name, instances
from tests.support.consistency import inconsistencies
from tests.support.images import push_image


def _updated_in_order(sdk, execution_id: str) -> list[str]:
    """The instances the rollout's child executions updated, in the order they started."""
    # StartDate has whole seconds, so two batches may tie in it: the cloud's own ascending order tells them apart.
    children = sdk.oos.list_executions(
        oos.ListExecutionsRequest(
            region_id=REGION,
            parent_execution_id=execution_id,
            max_results=100,
            sort_field="StartDate",
            sort_order="Ascending",
        )
    ).body.executions
    return [c.parameters["instanceId"] for c in children if "instanceId" in (c.parameters or {})]


def test_a_plan_changes_nothing_and_the_release_then_does_what_it_said(seeded, pipeline_env, sdk, control, local_cloud):
    pinned = push_image(local_cloud, "planned", "the planned image")
    existing = ImageRef.parse_pinned(pinned)
    running = [i.instance_id for i in instances(sdk, group_by_name(sdk).scaling_group_id, "InService")]
    arguments = dict(
        target=TARGET,
        image=ImageSpec(repository=REPOSITORY, digest=existing.digest),
        rollout=RolloutSpec(batch_number=2),
    )
    mark = control.audit_mark()
    planned = release(**arguments, mode="plan")
    assert planned.status == "planned", planned.message
    assert control.mutating_calls(mark) == []
    assert inconsistencies(sdk, seeded["seed_image"], 2, running) == []
    plan = planned.plan
    assert plan.image == pinned
    assert (plan.config_before, plan.config_after, plan.writes_configuration) == (
        seeded["seed_image"],
        pinned,
        True,
    )
    assert [b.instances for b in plan.batches] == [[running[0]], [running[1]]]
    assert plan.eta_seconds is None and "no earlier release" in plan.eta_basis

    mark = control.audit_mark()
    released = release(**arguments)
    assert released.status == "released", released.message
    made = Counter(f"{e['product']}:{e['action']}" for e in control.audit(mark) if e["mutating"] and e["status"] == 200)
    assert dict(made) == plan.mutating_calls
    assert _updated_in_order(sdk, released.execution_id) == [i for b in plan.batches for i in b.instances]

    again = release(**arguments, mode="plan").plan
    assert (again.writes_configuration, again.batches) == (False, [])
    assert again.mutating_calls == {}
    assert again.eta_seconds is not None and released.image.pinned in again.eta_basis

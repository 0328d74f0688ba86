"""The plan's arithmetic: OOS's batches, and the ETA scaled from the group's last release."""

from __future__ import annotations

from tasks.models import InstanceState
from tasks.plan import eta, oos_batches
from tasks.release_record import ReleaseRecord


def _instances(count: int, image: str = "old") -> list[InstanceState]:
    return [
        InstanceState(instance_id=f"eci-{n}", lifecycle_state="InService", status="Running", ip="", image=image)
        for n in range(count)
    ]


def test_batches_are_split_as_fn_calculate_batch_splits_them():
    assert [len(b.instances) for b in oos_batches(_instances(6), 3, "new")] == [2, 2, 2]
    assert [len(b.instances) for b in oos_batches(_instances(5), 2, "new")] == [3, 2]
    assert [len(b.instances) for b in oos_batches(_instances(2), 5, "new")] == [1, 1]
    assert [b.instances for b in oos_batches(_instances(3), 2, "new")] == [["eci-0", "eci-1"], ["eci-2"]]
    assert oos_batches([], 2, "new") == []


def test_instances_already_on_the_image_are_named_in_their_batch():
    group = _instances(1, "new") + _instances(1)
    assert [b.already_on_image for b in oos_batches(group, 1, "new")] == [["eci-0"]]


def _released(**timings: float) -> ReleaseRecord:
    return ReleaseRecord(
        group_id="asg-1",
        group_name="g",
        trigger="manual",
        flow_run_id=None,
        state="released",
        step="done",
        scaling_configuration_id="asc-1",
        container="app",
        image_before="repo@sha256:1",
        image_after="repo@sha256:2",
        timings=timings,
        batches=2,
    )


def test_the_eta_scales_the_last_rollout_per_batch_and_counts_only_the_stages_that_will_run():
    last = _released(**{"update-scaling-config": 1, "probe": 4, "rolling-update": 10, "verify": 2, "build": 30})
    assert eta(last, builds=False, probes=True, batches=4)[0] == 1 + 4 + 20 + 2
    assert eta(last, builds=True, probes=False, batches=1)[0] == 1 + 5 + 2 + 30


def test_no_eta_without_a_finished_release_that_recorded_its_timings():
    assert eta(None, builds=False, probes=True, batches=2) == (
        None,
        "no earlier release of this group recorded its timings",
    )
    assert eta(_released(), builds=False, probes=True, batches=2)[0] is None
    unfinished = _released(verify=1).model_copy(update={"state": "rolling-out"})
    assert eta(unfinished, builds=False, probes=True, batches=2)[0] is None

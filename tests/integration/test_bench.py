"""The release benchmark's own parts run: the peer SDK script releases to a small simulated group, the cloud's
critical path is read from localcloud's state, and the table has every row. No timing is asserted: the benchmark
measures, it does not judge in tests."""

from __future__ import annotations

from localcloud import LocalCloud
from localcloud.scenario import ScalingGroupSeed, Scenario
from localcloud.timing import Latencies
from tests.support.requirements import require_registry_binary

QUICK = Latencies(instance_schedule=0.1, image_pull=0.1, container_start=0.0, stay_up=0.2, oos_wait_delay=0.1)


def test_the_peer_script_releases_and_the_table_has_every_row():
    from bench.release_table import GROUP, Measurements, Target, peer_release, render, table_rows

    require_registry_binary()
    scenario = Scenario(scaling_groups=[ScalingGroupSeed(instances=2, max_size=4)])
    with LocalCloud(instances="simulated", latencies=QUICK, scenario=scenario) as cloud:
        target = Target.of(cloud)
        peer = peer_release(target, GROUP, batches=2, poll=0.1)
        instances = len(target.control.state()["ess"]["instances"])

    assert peer.status == "released", peer.result
    assert instances == 2  # the peer's scale-out was removed again
    kinds = [piece.name.split(" ")[0] for piece in peer.work]
    assert "OOS" in kinds and "scale-out" in kinds
    assert 0 < peer.critical_path <= peer.wall
    assert peer.peak_mb > 0 and any(e["action"] == "StartExecution" for e in peer.calls)

    # The table from measured parts: the peer's run stands in for the pipeline's where no Prefect server runs here.
    nightly = {"status": "unchanged", "wall": 1.0, "calls": 3, "mutating": 0, "built": 0, "build": "unchanged tree"}
    measured = Measurements(2, 0.1, pipeline=[peer], peer=[peer], nightly=[nightly, nightly], scale={2: peer, 3: peer})
    table = render(table_rows(measured))
    for row in "12345":
        assert f"\n| {row} |" in table, table

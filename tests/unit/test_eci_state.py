"""ECI state files written by older localclouds still load."""

from localcloud.eci.model import EciModel
from localcloud.kernel import Kernel
from localcloud.runtime.simulated import SimulatedRuntime


def test_a_state_file_with_the_dropped_succeeded_at_field_loads():
    kernel = Kernel(region_id="cn-hangzhou")
    model = EciModel(kernel, SimulatedRuntime(kernel.latencies, kernel.faults, None))
    saved = {
        "id": "eci-1",
        "name": "web",
        "region_id": "cn-hangzhou",
        "zone_id": "cn-hangzhou-k",
        "containers": [],
        "status": "Failed",
        "succeeded_at": None,
    }
    model.from_state({"groups": [saved]})
    assert model.get("eci-1").status == "Failed"
    assert "succeeded_at" not in model.to_state()["groups"][0]

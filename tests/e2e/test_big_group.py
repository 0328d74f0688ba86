"""A group of 200 instances (simulated: the test is about the pipeline's batches and calls, not the containers)
releases in its batches, every instance health-checked, with fewer calls of the pipeline's own than instances."""

from __future__ import annotations

from collections import Counter

import pytest

from flows.parameters import ImageSpec, RolloutSpec
from flows.release import release
from localcloud.control_client import ControlClient
from tasks.models import ImageRef
from tests.conftest import scenario_loaded
from tests.e2e.conftest import REPOSITORY
from tests.e2e.test_release import TARGET
from tests.support.cloud_views import group_by_name, instances
from tests.support.consistency import inconsistencies
from tests.support.images import push_image
from tests.support.sdk import SdkClients

SIZE = 200


@pytest.fixture
def big_group(on_simulated_cloud):
    """The pipeline pointed at the simulated localcloud, its group grown to 200 instances."""
    control = ControlClient(on_simulated_cloud.info.control_url)
    yield from scenario_loaded(control, {"scaling_groups": [{"instances": SIZE, "max_size": SIZE + 1}]})


def test_a_200_instance_group_releases_in_its_batches_with_fewer_calls_than_instances(big_group, simulated_cloud):
    sdk = SdkClients.for_cloud(simulated_cloud.info)
    control = ControlClient(simulated_cloud.info.control_url)
    running = [i.instance_id for i in instances(sdk, group_by_name(sdk).scaling_group_id, "InService")]
    assert len(running) == SIZE
    image = ImageRef.parse_pinned(push_image(simulated_cloud, "big", "for 200 instances"))
    mark = control.audit_mark()
    result = release(
        target=TARGET, image=ImageSpec(repository=REPOSITORY, digest=image.digest), rollout=RolloutSpec(batch_number=4)
    )
    assert result.status == "released", result.message
    assert inconsistencies(sdk, image.pinned, SIZE, running) == []
    assert sorted(result.verification.health_checked) == sorted(running)
    calls = control.audit(mark)
    mutating = Counter(e["action"] for e in calls if e["mutating"] and e["status"] == 200)
    assert mutating["UpdateContainerGroup"] == SIZE and mutating["NotifyExecution"] == 3  # a gate between batches
    pipelines_own = [e for e in calls if e["caller"] == "api"]
    assert len(pipelines_own) < SIZE, Counter(e["action"] for e in pipelines_own)

"""Scenarios: what the cloud holds when it starts, or after a test loads one through the control endpoint.

Each group lives in the region it names (the cloud's default region unless it names one): one localcloud serves
every region, and a call sees only its RegionId's resources. The default is the seed example: region cn-hangzhou,
an ECI scaling group ``ess-eci-test`` (min 0, max 5) with two InService instances whose one container ``nginx``
runs an image localcloud builds and pushes to its registry at start, and an ACR Enterprise instance with namespace
``ess_eci_test_namespace`` and repository ``ess_eci_test_repo``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from localcloud.ess.model import ConfigurationSettings
from localcloud.ess.states import FAILED, IN_PROGRESS, WARNING

if TYPE_CHECKING:
    from localcloud.cloud import Cloud

SEED_TAG = "seed"
SEED_PAGE = "localcloud seed image\n"


class ContainerSeed(BaseModel):
    name: str = "nginx"
    image: str | None = Field(None, description="an image reference; empty means the seed image")
    ports: list[int] = [80]


class ScalingGroupSeed(BaseModel):
    name: str = "ess-eci-test"
    region_id: str | None = Field(None, description="the group's region; empty means the cloud's default region")
    min_size: int = Field(0, ge=0)
    max_size: int = Field(5, ge=0)
    instances: int = Field(2, ge=0)
    containers: list[ContainerSeed] = [ContainerSeed()]
    configuration_name: str = "ess-eci-test-config"


class AcrSeed(BaseModel):
    instance_name: str = "localcloud"
    namespaces: dict[str, list[str]] = {"ess_eci_test_namespace": ["ess_eci_test_repo"]}


class Scenario(BaseModel):
    scaling_groups: list[ScalingGroupSeed] = [ScalingGroupSeed()]
    acr: AcrSeed = AcrSeed()
    wait_seconds: float = Field(120, gt=0, description="how long to wait for the seeded instances to be InService")


def seed_image_reference(cloud: "Cloud", acr: AcrSeed) -> str:
    """Build and push the seed image (once per registry; the same content gives the same digest)."""
    from localcloud.registry.seed_image import push_http_image

    if cloud.registry is None:
        raise RuntimeError("the seed image needs a registry; start localcloud with --registry auto or HOST:PORT")
    namespace, repositories = next(iter(acr.namespaces.items()))
    repository = f"{namespace}/{repositories[0]}"
    push_http_image(cloud.registry, repository, SEED_TAG, SEED_PAGE)
    return f"{cloud.registry.address}/{repository}:{SEED_TAG}"


def load(cloud: "Cloud", scenario: Scenario) -> dict[str, Any]:
    """Replace ESS, ECI and OOS state with the scenario's, and wait until its instances are InService."""
    cloud.reset_compute()
    seed_image = seed_image_reference(cloud, scenario.acr)
    with cloud.kernel.lock:
        cloud.acr.seed(scenario.acr.instance_name, scenario.acr.namespaces)
        created = []
        for seed in scenario.scaling_groups:
            if seed.instances > seed.max_size or seed.min_size > seed.max_size:
                raise ValueError(f"group {seed.name}: need min_size <= instances <= max_size")
            group = cloud.ess.create_group(
                name=seed.name,
                region_id=seed.region_id or cloud.kernel.region_id,
                min_size=seed.min_size,
                max_size=seed.max_size,
            )
            containers = [
                {
                    "Name": c.name,
                    "Image": c.image or seed_image,
                    "Ports": [{"Port": p, "Protocol": "TCP"} for p in c.ports],
                }
                for c in seed.containers
            ]
            cloud.ess.create_configuration(
                group.id, containers=containers, settings=ConfigurationSettings(name=seed.configuration_name)
            )
            if seed.instances:
                cloud.ess.seed_instances(group, seed.instances)
            created.append(group)
    _wait_in_service(cloud, [g.id for g in created], scenario.wait_seconds)
    return {"scaling_groups": [{"id": g.id, "name": g.name} for g in created], "seed_image": seed_image}


def _wait_in_service(cloud: "Cloud", group_ids: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with cloud.kernel.lock:
            busy = [
                a for a in cloud.ess.activities.values() if a.group_id in group_ids and a.status_code == IN_PROGRESS
            ]
            failed = [
                a
                for a in cloud.ess.activities.values()
                if a.group_id in group_ids and a.status_code in (FAILED, WARNING)
            ]
        if failed:
            raise RuntimeError(f"seeding instances failed: {failed[0].error_message}")
        if not busy:
            return
        time.sleep(0.05)
    raise TimeoutError(f"the seeded instances were not InService within {timeout:.0f} s")

"""Helpers for the stack tests: starting deployment runs through the Prefect API, images in the stack's
registry, and reading the group back through the SDKs."""

from __future__ import annotations

import time
from uuid import UUID

from alibabacloud_cr20181201 import models as cr
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment

from localcloud import LocalCloudInfo
from localcloud.registry.client import RegistryClient
from localcloud.registry.seed_image import http_image
from tests.support.cloud_views import active_configuration, container_groups, group_by_name, instances
from tests.support.http import page
from tests.support.images import SEEDED_REPOSITORY
from tests.support.sdk import SdkClients

TARGET = {"scaling_group": "ess-eci-test", "container": "nginx"}


def start_run(deployment: str, **parameters) -> UUID:
    """Create a run of ``deployment`` (flow/deployment) with these parameters and return at once."""
    return run_deployment(deployment, parameters=parameters, timeout=0).id


def wait_run(flow_run_id: UUID, timeout: float = 300) -> FlowRun:
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            run = client.read_flow_run(flow_run_id)
            if run.state and run.state.is_final():
                return run
            time.sleep(0.5)
    raise AssertionError(f"flow run {flow_run_id} did not finish in {timeout} s (state {run.state})")


def run_and_wait(deployment: str, timeout: float = 300, **parameters) -> FlowRun:
    return wait_run(start_run(deployment, **parameters), timeout)


def push_web_image(cloud: LocalCloudInfo, sdk: SdkClients, tag: str, text: str) -> str:
    """A web server image pushed to the stack's registry as ``tag``; returns its digest."""
    instance_id = sdk.cr.list_instance(cr.ListInstanceRequest()).body.instances[0].instance_id
    token = sdk.cr.get_authorization_token(cr.GetAuthorizationTokenRequest(instance_id=instance_id)).body
    client = RegistryClient(cloud.registry, (token.temp_username, token.authorization_token))
    try:
        layers, config = http_image(text)
        return client.push_image(SEEDED_REPOSITORY, tag, layers, config)
    finally:
        client.close()


def pinned(cloud: LocalCloudInfo, digest: str) -> str:
    return f"{cloud.registry}/{SEEDED_REPOSITORY}@{digest}"


def group_images(sdk: SdkClients) -> tuple[str, list[str]]:
    """The active configuration's image and the image of every InService instance."""
    group = group_by_name(sdk)
    configured = active_configuration(sdk, group).containers[0].image
    ids = [i.instance_id for i in instances(sdk, group.scaling_group_id, "InService")]
    return configured, sorted(g.containers[0].image for g in container_groups(sdk, ids))


def served_pages(sdk: SdkClients, path: str = "/") -> list[str]:
    group = group_by_name(sdk)
    ids = [i.instance_id for i in instances(sdk, group.scaling_group_id, "InService")]
    return sorted(page(g.intranet_ip, path=path).strip() for g in container_groups(sdk, ids))

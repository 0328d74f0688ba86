"""Whether a group is in one consistent, verified state, read through the plain SDK: the configuration and every
InService instance (Running) on one image, the expected number of instances, no scaling process suspended, no
Standby instance, no scaling activity and no OOS rolling update still running. For the stop tests and the fault
matrix, which judge a run by the cloud it left, not by what the run said."""

from __future__ import annotations

from alibabacloud_ess20220222 import models as ess
from alibabacloud_oos20190601 import models as oos

from tasks.oos_executions import TEMPLATE
from tests.support.cloud_views import REGION, active_configuration, container_groups, group_by_name, instances
from tests.support.sdk import SdkClients


def executions(sdk: SdkClients) -> list:
    return sdk.oos.list_executions(
        oos.ListExecutionsRequest(region_id=REGION, template_name=TEMPLATE, max_results=100)
    ).body.executions


def inconsistencies(sdk: SdkClients, image: str, count: int, instance_ids: list[str] | None = None) -> list[str]:
    """What is wrong with the seeded group, measured against ``image`` and ``count`` instances; [] when nothing."""
    problems = []
    group = group_by_name(sdk)
    configured = active_configuration(sdk, group).containers[0].image
    if configured != image:
        problems.append(f"configuration holds {configured}")
    in_service = [i.instance_id for i in instances(sdk, group.scaling_group_id, "InService")]
    if len(in_service) != count:
        problems.append(f"{len(in_service)} InService instances, not {count}")
    if instance_ids is not None and sorted(in_service) != sorted(instance_ids):
        problems.append(f"InService instances {sorted(in_service)}, not the ones before {sorted(instance_ids)}")
    for detail in container_groups(sdk, in_service):
        if detail.containers[0].image != image or detail.status != "Running":
            problems.append(f"{detail.container_group_id} runs {detail.containers[0].image} ({detail.status})")
    if group.suspended_processes:
        problems.append(f"processes suspended: {group.suspended_processes}")
    if standby := instances(sdk, group.scaling_group_id, "Standby"):
        problems.append(f"Standby instances: {[i.instance_id for i in standby]}")
    activities = sdk.ess.describe_scaling_activities(
        ess.DescribeScalingActivitiesRequest(region_id=REGION, scaling_group_id=group.scaling_group_id, page_size=50)
    ).body.scaling_activities
    if running := [a.scaling_activity_id for a in activities if a.status_code == "InProgress"]:
        problems.append(f"scaling activities in progress: {running}")
    if unfinished := [e.execution_id for e in executions(sdk) if e.status in ("Running", "Waiting", "Queued")]:
        problems.append(f"OOS executions still running: {unfinished}")
    return problems

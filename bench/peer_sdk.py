"""The peer: what a person writes by hand with the official SDK, no pipeline code. It points the group's ECI
scaling configuration at an image, runs the OOS rolling-update template with the parameters the pipeline gives it
(``tasks/oos_executions.start_execution``), waits for it, then scales out by one and checks that the new instance
runs the image; every wait polls every ``--poll`` seconds (2). No probe, no health check, no rollback.

    ALIBABA_CLOUD_ACCESS_KEY_ID=... ALIBABA_CLOUD_ACCESS_KEY_SECRET=... \\
    .venv/bin/python -m bench.peer_sdk --endpoint 127.0.0.1:PORT --group ess-eci-test --container nginx \\
        --image HOST/ns/repo@sha256:... [--batch-number 3] [--poll 2] [--keep]

Prints one JSON line: ``started`` and ``ended`` (epoch seconds around the timed part: from the first call to the
checked scale-out), ``wall``, the execution, the scale-out's activity and instance. Unless ``--keep``, it then
removes the instance it added (not timed: ``cleanup_seconds``). The SDK sends even loopback calls through
HTTP(S)_PROXY: unset them for a local endpoint.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid

from alibabacloud_eci20180808 import models as eci
from alibabacloud_eci20180808.client import Client as EciClient
from alibabacloud_ess20220222 import models as ess
from alibabacloud_ess20220222.client import Client as EssClient
from alibabacloud_oos20190601 import models as oos
from alibabacloud_oos20190601.client import Client as OosClient
from alibabacloud_tea_openapi.models import Config

TEMPLATE = "ACS-ESS-RollingUpdateByUpdateContainerGroup"
PROCESSES = ["ScaleIn", "ScaleOut", "HealthCheck", "AlarmNotification", "ScheduledAction"]


class PeerFailed(RuntimeError):
    pass


def _clients(endpoint: str, region: str) -> tuple[EssClient, EciClient, OosClient]:
    config = Config(
        access_key_id=os.environ["ALIBABA_CLOUD_ACCESS_KEY_ID"],
        access_key_secret=os.environ["ALIBABA_CLOUD_ACCESS_KEY_SECRET"],
        region_id=region,
        endpoint=endpoint,
        protocol="http",
    )
    return EssClient(config), EciClient(config), OosClient(config)


def _until(check, poll: float, timeout: float, what: str):
    """``check()`` every ``poll`` seconds until it returns something other than None."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise PeerFailed(f"gave up waiting for {what}")
        time.sleep(poll)


def _activity(client: EssClient, region: str, activity_id: str):
    request = ess.DescribeScalingActivitiesRequest(region_id=region, scaling_activity_ids=[activity_id])
    found = client.describe_scaling_activities(request).body.scaling_activities
    return found[0] if found and found[0].status_code != "InProgress" else None


def release(
    endpoint: str, region: str, group_name: str, container: str, image: str, batch_number: int, poll: float
) -> dict:
    """Configuration, rollout, scale-out; what it did and when (epoch seconds)."""
    ess_client, eci_client, oos_client = _clients(endpoint, region)
    started = time.time()
    [group] = ess_client.describe_scaling_groups(
        ess.DescribeScalingGroupsRequest(region_id=region, scaling_group_name=group_name)
    ).body.scaling_groups
    configuration_id = group.active_scaling_configuration_id
    [configuration] = ess_client.describe_eci_scaling_configurations(
        ess.DescribeEciScalingConfigurationsRequest(region_id=region, scaling_configuration_ids=[configuration_id])
    ).body.scaling_configurations
    source_image = next(c.image for c in configuration.containers if c.name == container)
    ess_client.modify_eci_scaling_configuration(
        ess.ModifyEciScalingConfigurationRequest(
            scaling_configuration_id=configuration_id,
            containers_update_type="IncrementalUpdate",
            containers=[ess.ModifyEciScalingConfigurationRequestContainers(name=container, image=image)],
        )
    )

    processes = [p for p in PROCESSES if p not in (group.suspended_processes or [])]
    parameters = {
        "invokeType": "invoke",
        "scalingGroupId": group.scaling_group_id,
        "scalingConfigurationId": configuration_id,
        "containerConfigure": [{"Name": container, "Image": image}],
        "sourceContainerConfigure": [{"Name": container, "Image": source_image}],
        "updateType": "IncrementalUpdate",
        "batchNumber": batch_number,
        "batchPauseOption": "Automatic",
        "enterProcess": processes,
        "exitProcess": processes,
        "sourceExecutionId": "",
    }
    execution_id = oos_client.start_execution(
        oos.StartExecutionRequest(
            region_id=region,
            template_name=TEMPLATE,
            parameters=json.dumps(parameters),
            mode="Automatic",
            client_token=uuid.uuid4().hex,
        )
    ).body.execution.execution_id

    def ended():
        listed = oos_client.list_executions(
            oos.ListExecutionsRequest(region_id=region, execution_id=execution_id)
        ).body.executions
        return listed[0] if listed and listed[0].status in ("Success", "Failed", "Cancelled") else None

    execution = _until(ended, poll, 1800, f"OOS execution {execution_id}")
    if execution.status != "Success":
        raise PeerFailed(f"OOS execution {execution_id} ended {execution.status}: {execution.status_message}")

    activity_id = ess_client.scale_with_adjustment(
        ess.ScaleWithAdjustmentRequest(
            scaling_group_id=group.scaling_group_id,
            adjustment_type="QuantityChangeInCapacity",
            adjustment_value=1,
            client_token=uuid.uuid4().hex,
        )
    ).body.scaling_activity_id
    activity = _until(lambda: _activity(ess_client, region, activity_id), poll, 300, f"scale-out {activity_id}")
    if activity.status_code != "Successful" or len(activity.created_instances or []) != 1:
        raise PeerFailed(f"scale-out {activity_id} ended {activity.status_code}: {activity.status_message}")
    [instance_id] = activity.created_instances
    [container_group] = eci_client.describe_container_groups(
        eci.DescribeContainerGroupsRequest(region_id=region, container_group_ids=json.dumps([instance_id]))
    ).body.container_groups
    runs = next(c.image for c in container_group.containers if c.name == container)
    if runs != image or container_group.status != "Running":
        raise PeerFailed(f"the new instance {instance_id} runs {runs} ({container_group.status}), not {image}")
    ended = time.time()
    return {
        "started": started,
        "ended": ended,
        "wall": ended - started,
        "scaling_group_id": group.scaling_group_id,
        "execution_id": execution_id,
        "scale_out_activity_id": activity_id,
        "instance_id": instance_id,
    }


def remove(endpoint: str, region: str, group_id: str, instance_id: str, poll: float) -> float:
    """Take the added instance out again; seconds it took."""
    ess_client, _, _ = _clients(endpoint, region)
    started = time.monotonic()
    activity_id = ess_client.remove_instances(
        ess.RemoveInstancesRequest(
            region_id=region, scaling_group_id=group_id, instance_ids=[instance_id], client_token=uuid.uuid4().hex
        )
    ).body.scaling_activity_id
    _until(lambda: _activity(ess_client, region, activity_id), poll, 300, f"removal {activity_id}")
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True, help="host:port of the API (plain HTTP)")
    parser.add_argument("--region", default=os.environ.get("ALIBABA_CLOUD_REGION_ID", "cn-hangzhou"))
    parser.add_argument("--group", required=True, help="scaling group name")
    parser.add_argument("--container", required=True)
    parser.add_argument("--image", required=True, help="the image to release, e.g. host/ns/repo@sha256:...")
    parser.add_argument("--batch-number", type=int, default=3)
    parser.add_argument("--poll", type=float, default=2.0, help="seconds between status reads")
    parser.add_argument("--keep", action="store_true", help="leave the scaled-out instance in the group")
    args = parser.parse_args(argv)
    try:
        done = release(args.endpoint, args.region, args.group, args.container, args.image, args.batch_number, args.poll)
        if not args.keep:
            done["cleanup_seconds"] = remove(
                args.endpoint, args.region, done["scaling_group_id"], done["instance_id"], args.poll
            )
    except PeerFailed as failed:
        print(json.dumps({"status": "failed", "message": str(failed)}))
        return 1
    print(json.dumps({"status": "released", **done}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""OOS executions across a localcloud restart: nothing runs across it, so an execution that was running (here,
paused between batches) comes back Failed and says why; finished ones come back as they were."""

from __future__ import annotations

import json

from alibabacloud_oos20190601 import models as oos

from localcloud import LocalCloud
from tests.conftest import TEST_LATENCIES
from tests.support.cloud_views import REGION, group_by_name
from tests.support.sdk import SdkClients
from tests.support.waiting import wait_until

TEMPLATE = "ACS-ESS-RollingUpdateByUpdateContainerGroup"


def start_paused_rollout(sdk: SdkClients, image: str) -> str:
    group = group_by_name(sdk)
    parameters = {
        "invokeType": "invoke",
        "scalingGroupId": group.scaling_group_id,
        "scalingConfigurationId": group.active_scaling_configuration_id,
        "containerConfigure": [{"Name": "nginx", "Image": image}],
        "batchNumber": 2,
        "batchPauseOption": "FirstBatchPause",
    }
    return sdk.oos.start_execution(
        oos.StartExecutionRequest(region_id=REGION, template_name=TEMPLATE, parameters=json.dumps(parameters))
    ).body.execution.execution_id


def status(sdk: SdkClients, execution_id: str) -> oos.ListExecutionsResponseBodyExecutions:
    body = sdk.oos.list_executions(oos.ListExecutionsRequest(region_id=REGION, execution_id=execution_id)).body
    return body.executions[0]


def test_a_running_execution_comes_back_failed_after_a_restart(tmp_path, _no_proxy_for_loopback):
    with LocalCloud(instances="simulated", state_dir=tmp_path, latencies=TEST_LATENCIES.model_copy()) as first:
        sdk = SdkClients.for_cloud(first.info)
        image = f"{first.info.registry}/ess_eci_test_namespace/ess_eci_test_repo:seed"
        execution_id = start_paused_rollout(sdk, image)
        wait_until(lambda: status(sdk, execution_id).status == "Waiting", timeout=60, what="the first batch pause")
        [child] = sdk.oos.list_executions(
            oos.ListExecutionsRequest(region_id=REGION, parent_execution_id=execution_id)
        ).body.executions
    with LocalCloud(instances="simulated", state_dir=tmp_path, latencies=TEST_LATENCIES.model_copy()) as second:
        sdk = SdkClients.for_cloud(second.info)
        after = status(sdk, execution_id)
        assert after.status == "Failed" and after.end_date
        assert "localcloud restarted while this execution was Waiting" in after.status_message
        assert status(sdk, child.execution_id).status == "Success"
        loop = sdk.oos.list_task_executions(
            oos.ListTaskExecutionsRequest(
                region_id=REGION, execution_id=execution_id, task_name="invokeByUpdateContainerGroup"
            )
        ).body
        assert [t.status for t in loop.task_executions] == ["Failed"]

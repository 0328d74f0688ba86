"""State survives a restart when a state directory is given."""

from __future__ import annotations

from alibabacloud_ess20220222 import models as ess

from localcloud import LocalCloud
from tests.conftest import TEST_LATENCIES
from tests.support.cloud_views import active_configuration, group_by_name, instances
from tests.support.sdk import SdkClients


def test_configuration_instances_and_keys_survive_a_restart(tmp_path, _no_proxy_for_loopback):
    with LocalCloud(instances="simulated", state_dir=tmp_path, latencies=TEST_LATENCIES.model_copy()) as first:
        sdk = SdkClients.for_cloud(first.info)
        group = group_by_name(sdk)
        sdk.ess.modify_eci_scaling_configuration(
            ess.ModifyEciScalingConfigurationRequest(
                scaling_configuration_id=group.active_scaling_configuration_id,
                containers_update_type="IncrementalUpdate",
                containers=[ess.ModifyEciScalingConfigurationRequestContainers(name="nginx", image="r/app:after")],
            )
        )
        members = sorted(i.instance_id for i in instances(sdk, group.scaling_group_id))
        keys = (first.info.access_key_id, first.info.access_key_secret)
    with LocalCloud(instances="simulated", state_dir=tmp_path, latencies=TEST_LATENCIES.model_copy()) as second:
        assert (second.info.access_key_id, second.info.access_key_secret) == keys
        sdk = SdkClients.for_cloud(second.info)
        group_again = group_by_name(sdk)
        assert group_again.scaling_group_id == group.scaling_group_id
        assert active_configuration(sdk, group_again).containers[0].image == "r/app:after"
        assert sorted(i.instance_id for i in instances(sdk, group.scaling_group_id)) == members

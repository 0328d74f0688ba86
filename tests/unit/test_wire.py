"""Parameter flattening as the SDKs send it, and container normalisation across API namings."""

import pytest

from localcloud.containers import apply_update, normalize_containers
from localcloud.errors import ApiError
from localcloud.gateway.wire import as_bool, unflatten


def test_unflatten_lists_structs_and_nested_lists():
    flat = {
        "Containers.2.Name": "b",
        "Containers.1.Name": "a",
        "Containers.1.Commands.1": "/bin/sh",
        "Containers.1.Commands.2": "-c",
        "Containers.1.EnvironmentVars.1.Key": "K",
        "ScalingConfigurationId": "asc-1",
        "Containers.10.Name": "j",
    }
    tree = unflatten(flat)
    assert tree["ScalingConfigurationId"] == "asc-1"
    assert [c["Name"] for c in tree["Containers"]] == ["a", "b", "j"]
    assert tree["Containers"][0]["Commands"] == ["/bin/sh", "-c"]
    assert tree["Containers"][0]["EnvironmentVars"] == [{"Key": "K"}]


@pytest.mark.parametrize("raw,expected", [("True", True), ("true", True), ("False", False), ("", False), (None, False)])
def test_booleans_as_python_prints_them(raw, expected):
    assert as_bool(raw) is expected


def test_eci_and_ess_namings_give_the_same_container():
    eci = normalize_containers(
        [
            {
                "Name": "app",
                "Image": "r/a:1",
                "Port": [{"Port": "80"}],
                "Command": ["x"],
                "EnvironmentVar": [{"Key": "K", "Value": "V"}],
            }
        ],
        "Container",
    )
    ess = normalize_containers(
        [
            {
                "Name": "app",
                "Image": "r/a:1",
                "Ports": [{"Port": 80, "Protocol": "TCP"}],
                "Commands": ["x"],
                "EnvironmentVars": [{"Key": "K", "Value": "V"}],
            }
        ],
        "Containers",
    )
    assert eci == ess


def test_incremental_update_changes_only_given_fields_and_renew_replaces():
    current = [{"Name": "app", "Image": "r/a:1", "Commands": ["run"]}, {"Name": "side", "Image": "r/s:1"}]
    incremental = apply_update(current, [{"Name": "app", "Image": "r/a:2"}], "IncrementalUpdate")
    assert incremental == [{"Name": "app", "Image": "r/a:2", "Commands": ["run"]}, {"Name": "side", "Image": "r/s:1"}]
    assert current[0]["Image"] == "r/a:1"  # the input is not modified
    assert apply_update(current, [{"Name": "app", "Image": "r/a:3"}], "RenewUpdate") == [
        {"Name": "app", "Image": "r/a:3"}
    ]


def test_renew_update_without_an_image_is_refused():
    with pytest.raises(ApiError) as refused:
        apply_update([], [{"Name": "app"}], "RenewUpdate")
    assert refused.value.code == "MissingParameter"


def test_bad_port_is_refused_with_its_parameter_name():
    with pytest.raises(ApiError) as refused:
        normalize_containers([{"Name": "app", "Ports": [{"Port": "99999"}]}], "Containers")
    assert "Containers.1.Ports.Port" in refused.value.message


def test_audit_masks_secrets_env_values_and_json_string_parameters():
    import json

    from localcloud.audit import MASK, mask_secrets

    params = {
        "AcrRegistryInfos": [{"InstanceId": "cri-1", "Password": "pw"}],
        "Containers": [{"Name": "app", "EnvironmentVars": [{"Key": "DB_URL", "Value": "postgres://u:pw@db"}]}],
        "Parameters": json.dumps(
            {"containerConfigure": [{"Name": "app", "EnvironmentVar": [{"Key": "K", "Value": "v"}]}]}
        ),
        "ClientToken": "release-1",
    }
    masked = mask_secrets(params)
    assert masked["AcrRegistryInfos"][0] == {"InstanceId": "cri-1", "Password": MASK}
    assert masked["Containers"][0]["EnvironmentVars"] == [{"Key": "DB_URL", "Value": MASK}]
    assert masked["Parameters"]["containerConfigure"][0]["EnvironmentVar"] == [{"Key": "K", "Value": MASK}]
    assert masked["ClientToken"] == "release-1"
    assert "pw" not in json.dumps(masked) and params["ClientToken"] == "release-1"

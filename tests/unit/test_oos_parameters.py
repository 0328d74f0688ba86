"""StartExecution's check of Parameters against the template's declarations."""

import pytest

from localcloud.errors import ApiError
from localcloud.oos.templates import ALL_PROCESSES, ROLLING_UPDATE, UPDATE_CONTAINER_GROUP

REGION = "cn-hangzhou"
CONTAINERS = [{"Name": "nginx", "Image": "127.0.0.1:5000/ns/repo@sha256:" + "a" * 64}]
REQUIRED = {
    "invokeType": "invoke",
    "scalingGroupId": "asg-1",
    "scalingConfigurationId": "asc-1",
    "containerConfigure": CONTAINERS,
}


def resolve(**overrides):
    return ROLLING_UPDATE.resolve_parameters({**REQUIRED, **overrides}, region_id=REGION)


def refused(**overrides) -> str:
    with pytest.raises(ApiError) as raised:
        resolve(**overrides)
    assert (raised.value.status, raised.value.code) == (400, "InvalidParameter")
    return raised.value.message


def test_defaults_fill_the_optional_parameters():
    resolved = resolve()
    assert resolved == {
        **REQUIRED,
        "enterProcess": ALL_PROCESSES,
        "exitProcess": ALL_PROCESSES,
        "sourceContainerConfigure": {},
        "updateType": "IncrementalUpdate",
        "sourceExecutionId": "",
        "batchPauseOption": "Automatic",
        "batchNumber": 5,
        "maxErrors": 0,
        "OOSAssumeRole": "",
    }


def test_defaults_are_copies():
    resolve()["enterProcess"].append("Mutated")
    assert resolve()["enterProcess"] == ALL_PROCESSES


def test_missing_required_parameters_are_named():
    with pytest.raises(ApiError) as raised:
        ROLLING_UPDATE.resolve_parameters({"invokeType": "invoke"}, region_id=REGION)
    message = raised.value.message
    assert "scalingGroupId" in message and "containerConfigure" in message and "scalingConfigurationId" in message


def test_unknown_parameters_are_refused():
    assert "imageId" in refused(imageId="m-1")


@pytest.mark.parametrize(
    "name,value",
    [
        ("invokeType", "upgrade"),
        ("updateType", "FullUpdate"),
        ("batchPauseOption", "Never"),
    ],
)
def test_values_outside_allowed_values_are_refused(name, value):
    message = refused(**{name: value})
    assert name in message and value in message


@pytest.mark.parametrize("value", [0, 101, -1])
def test_batch_number_is_from_1_to_100(value):
    assert "batchNumber" in refused(batchNumber=value)


@pytest.mark.parametrize("value", ["3", 2.5, True, None])
def test_batch_number_must_be_a_whole_number(value):
    assert "batchNumber must be a whole Number" in refused(batchNumber=value)


def test_a_whole_float_is_a_number():
    assert resolve(batchNumber=2.0)["batchNumber"] == 2


def test_strings_lists_and_json_are_checked():
    assert "scalingGroupId must be a String" in refused(scalingGroupId=5)
    assert "enterProcess must be a List" in refused(enterProcess="ScaleIn")
    assert "containerConfigure must be a JSON object or array" in refused(containerConfigure=7)
    assert "containerConfigure must be JSON" in refused(containerConfigure="[{")


def test_json_may_arrive_as_a_string():
    assert resolve(containerConfigure='[{"Name": "nginx", "Image": "r/a:1"}]')["containerConfigure"] == [
        {"Name": "nginx", "Image": "r/a:1"}
    ]


def test_empty_process_lists_are_allowed():
    assert resolve(enterProcess=[], exitProcess=[])["enterProcess"] == []


def test_the_per_instance_action_defaults_to_the_execution_region_and_no_rollback():
    resolved = UPDATE_CONTAINER_GROUP.resolve_parameters(
        {"instanceId": "eci-1", "scalingGroupId": "asg-1", "containerConfigure": CONTAINERS}, region_id=REGION
    )
    assert resolved["regionId"] == REGION
    assert resolved["rollBack"] == "false"
    assert resolved["updateType"] == "IncrementalUpdate"

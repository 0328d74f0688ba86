"""The flows' parameters as the Prefect UI and API see them: a form with descriptions, blocks by reference."""

import uuid

from prefect.utilities.callables import parameter_schema
from prefect.utilities.schema_tools.validation import preprocess_schema, validate

from flows.release import release
from flows.rollback import rollback


def _errors(flow, parameters: dict) -> list[str]:
    schema = preprocess_schema(parameter_schema(flow.fn).model_dump_for_openapi())
    return [error.message for error in validate(parameters, schema, raise_on_error=False)]


def test_blocks_picked_in_the_form_pass_validation_as_references():
    picked = {"$ref": {"block_document_id": str(uuid.uuid4())}}
    release_run = {
        "target": {"scaling_group": "g", "container": "c"},
        "image": {"tag": "v1"},
        "credentials": picked,
        "registry": picked,
    }
    assert _errors(release, release_run) == []
    assert _errors(rollback, {"scaling_group": "g", "credentials": picked, "registry": picked}) == []


def test_every_parameter_has_a_description():
    for flow in (release, rollback):
        schema = parameter_schema(flow.fn).model_dump_for_openapi()
        undescribed = [name for name, prop in schema["properties"].items() if not prop.get("description")]
        assert undescribed == [], f"{flow.name}: {undescribed}"

"""A variable written in one call reads back as written, whether it existed before or not."""

from prefect.variables import Variable

from tasks.variables import write_variable


def test_write_creates_then_overwrites(prefect_harness):
    name = "eci-release-test-write-variable"
    write_variable(name, {"state": "started", "changed": []})
    assert Variable.get(name) == {"state": "started", "changed": []}
    write_variable(name, {"state": "released", "changed": ["config"]})
    assert Variable.get(name) == {"state": "released", "changed": ["config"]}
    Variable.unset(name)

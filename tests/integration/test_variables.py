"""A variable written in one call reads back as written, whether it existed before or not."""

from concurrent.futures import ThreadPoolExecutor

from prefect.variables import Variable

from tasks.variables import write_variable


def test_write_creates_then_overwrites(prefect_harness):
    name = "eci-release-test-write-variable"
    write_variable(name, {"state": "started", "changed": []})
    assert Variable.get(name) == {"state": "started", "changed": []}
    write_variable(name, {"state": "released", "changed": ["config"]})
    assert Variable.get(name) == {"state": "released", "changed": ["config"]}
    Variable.unset(name)


def test_writes_racing_on_one_server_all_land(prefect_harness):
    # On a SQLite server, writes that overlap get 503s (see tasks/variables.py); each must still land.
    names = [f"eci-release-test-race-{n}" for n in range(4)]

    def write_ten(name: str) -> None:
        for count in range(10):
            write_variable(name, {"count": count})

    with ThreadPoolExecutor(len(names)) as pool:
        list(pool.map(write_ten, names))
    assert [Variable.get(name) for name in names] == [{"count": 9}] * len(names)
    for name in names:
        Variable.unset(name)

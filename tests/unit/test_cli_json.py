"""With --json, every outcome of the command line ends in a JSON line, invalid arguments included."""

import json
import subprocess
import sys

import pytest


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deployments.cli", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "args,message",
    [
        (["release", "--json"], "Missing option '--group'"),
        (
            ["release", "--group", "g", "--container", "c", "--tag", "v1", "--batch-number", "0", "--json"],
            "--batch-number",
        ),
        (["release", "--group", "g", "--container", "c", "--repository", "BAD", "--tag", "v", "--json"], "BAD"),
        (["up", "--database", "oracle", "--json"], "--database is sqlite or postgresql"),
    ],
    ids=["missing-option", "out-of-range", "malformed-repository", "unknown-database"],
)
def test_invalid_arguments_exit_2_with_a_json_line_and_a_clear_error(args, message):
    done = _cli(*args)
    assert done.returncode == 2, done.stderr
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["status"] == "failed" and message in outcome["message"]
    assert "Traceback" not in done.stderr

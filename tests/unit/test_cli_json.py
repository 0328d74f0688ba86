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


def test_a_malformed_parameter_is_one_line_naming_it():
    done = _cli("release", "--group", "g", "--container", "c", "--repository", "NS/App", "--tag", "bad tag")
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()  # one line, not pydantic's report
    assert line.startswith("eci-release: invalid arguments: ") and "'NS/App' must be namespace/name" in line


@pytest.mark.parametrize(
    "setup,message",
    [
        (lambda tmp: ["--rules", str(tmp / "missing.yaml")], "cannot read the rules file"),
        (
            lambda tmp: ["--rules", "webhook-rules.yaml", "--tokens-file", str(tmp / "none")],
            "cannot read the webhook tokens file",
        ),
        (lambda tmp: ["--rules", "webhook-rules.yaml"], "no webhook token in $ECI_RELEASE_WEBHOOK_TOKENS"),
    ],
    ids=["no-rules-file", "no-tokens-file", "no-tokens"],
)
def test_the_webhook_receiver_refuses_to_start_without_rules_or_tokens_in_one_line(tmp_path, setup, message):
    done = _cli("webhook", *setup(tmp_path), "--json")
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout.strip())["message"].startswith(message)
    assert len(done.stderr.strip().splitlines()) == 1 and message in done.stderr and "Traceback" not in done.stderr

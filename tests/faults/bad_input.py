"""The bad-input table: `eci-release release` with each kind of bad input, as a person would type it, against a
Docker-backed localcloud. Each must end in one clear line on the terminal naming the problem (no traceback), a
JSON line under --json, a non-zero exit, and no mutating call in the cloud's audit log.

    scripts/fault-matrix --bad-input
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.faults.matrix import Bench
from tests.support.images import SEEDED_REPOSITORY

GROUP = ["--group", "ess-eci-test", "--container", "nginx"]
SEED = ["--repository", SEEDED_REPOSITORY, "--tag", "seed"]


@dataclass
class BadInput:
    name: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    scenario: dict | None = None


def _contexts(root: Path) -> dict[str, str]:
    broken = root / "broken"
    broken.mkdir()
    (broken / "Dockerfile").write_text("FORM scratch\n")
    return {"broken": str(broken), "missing": str(root / "no-such-directory")}


def cases(contexts: dict[str, str]) -> list[BadInput]:
    zeros = "sha256:" + "0" * 64
    return [
        BadInput("malformed repository", [*GROUP, "--repository", "NS/App", "--tag", "v1"]),
        BadInput("malformed tag", [*GROUP, "--repository", SEEDED_REPOSITORY, "--tag", "bad tag"]),
        BadInput("malformed digest", [*GROUP, "--repository", SEEDED_REPOSITORY, "--digest", "sha256:short"]),
        BadInput("digest not in the registry", [*GROUP, "--repository", SEEDED_REPOSITORY, "--digest", zeros]),
        BadInput("tag not in the registry", [*GROUP, "--repository", SEEDED_REPOSITORY, "--tag", "no-such-tag"]),
        BadInput("unknown group name", ["--group", "nope", "--container", "nginx", *SEED]),
        BadInput("unknown group id", ["--group", "asg-doesnotexist", "--container", "nginx", *SEED]),
        BadInput("wrong region", [*GROUP, *SEED], {"ALIBABA_CLOUD_REGION_ID": "cn-beijing"}),
        BadInput("container not in the configuration", ["--group", "ess-eci-test", "--container", "web", *SEED]),
        BadInput("batch number 0", [*GROUP, *SEED, "--batch-number", "0"]),
        BadInput("batch number 101", [*GROUP, *SEED, "--batch-number", "101"]),
        BadInput("bad health path", [*GROUP, *SEED, "--health-path", "health"]),
        BadInput("bad health port", [*GROUP, *SEED, "--health-port", "70000"]),
        BadInput("unknown access key", [*GROUP, *SEED], {"ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAI5tUnknownKey0000"}),
        BadInput("wrong secret", [*GROUP, *SEED], {"ALIBABA_CLOUD_ACCESS_KEY_SECRET": "wrong-secret"}),
        BadInput("empty credentials", [*GROUP, *SEED], {"ALIBABA_CLOUD_ACCESS_KEY_ID": "",
                                                         "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ""}),
        BadInput("bad STS token", [*GROUP, *SEED], {"ALIBABA_CLOUD_SECURITY_TOKEN": "not-a-token"}),
        BadInput("missing build context", [*GROUP, *SEED[:2], "--tag", "v9", "--context", contexts["missing"]]),
        BadInput("Dockerfile that fails", [*GROUP, *SEED[:2], "--tag", "v9", "--context", contexts["broken"]]),
        BadInput(
            "push the registry refuses",
            [*GROUP, "--repository", "not_a_namespace/app", "--tag", "v9", "--context", contexts["broken"] + "/.."],
        ),
        BadInput("--build-arg without --context", [*GROUP, *SEED, "--build-arg", "A=1"]),
        BadInput("endpoint nobody listens on", [*GROUP, *SEED], {"ECI_RELEASE_ENDPOINT": "http://127.0.0.1:9"}),
        BadInput("group with MaxSize 0", ["--group", "no-room", "--container", "nginx", *SEED],
                 scenario={"scaling_groups": [{"name": "no-room", "max_size": 0, "instances": 0}]}),
    ]  # fmt: skip


def print_table(bench: Bench, only: list[str] | None) -> int:
    failures = 0
    with tempfile.TemporaryDirectory(prefix="bad-input-") as root:
        chosen = [c for c in cases(_contexts(Path(root))) if not only or c.name in only]
        print("| bad input | exit | stderr lines | traceback | JSON status | mutating calls | the command's line |")
        print("|---|---|---|---|---|---|---|")
        for case in chosen:
            bench.control.load_scenario(case.scenario or {})
            mark = bench.control.audit_mark()
            done = subprocess.run(
                [sys.executable, "-m", "deployments.cli", "release", *case.args, "--json"],
                capture_output=True,
                text=True,
                env={**bench.env, **case.env},
                timeout=600,
            )
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            last = done.stdout.strip().splitlines()[-1:] or ["{}"]
            status = json.loads(last[0]).get("status", "none") if last[0].startswith("{") else "none"
            mutating = bench.control.mutating_calls(mark)
            traceback = "Traceback" in done.stderr
            ok = done.returncode != 0 and not traceback and status == "failed" and not mutating
            failures += not ok
            ours = [line for line in lines if line.startswith("eci-release")] or lines[-1:]
            first = ours[0][:160].replace("|", "/") if ours else ""
            print(
                f"| {case.name} | {done.returncode} | {len(lines)} | {'yes' if traceback else 'no'} | {status} "
                f"| {len(mutating)} {mutating or ''} | {first} |",
                flush=True,
            )
    bench.control.load_scenario()
    return 1 if failures else 0

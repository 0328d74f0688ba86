"""The fault matrix: releases to a Docker-backed localcloud under each fault, and `eci-release` killed (SIGKILL) or
stopped (SIGTERM) at chosen moments followed by the next release or `recover`, each case judged by the cloud's
final state read through the SDKs (tests/support/consistency.py), not by what the run said:

    scripts/fault-matrix                # every case once
    scripts/fault-matrix --rounds 3     # every case three times
    scripts/fault-matrix --only crash-loop sigkill-mid-rollout

Every case ends released and verified on the new image, or rolled back and verified on the old one: configuration
and every InService instance on that image, the starting instance count, nothing suspended, no Standby instance,
no activity or OOS execution running; and the status and exit code say which. Every run is `eci-release` in a
process of its own (no Prefect server: each starts a temporary one on a shared Prefect home), as from a shell.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from alibabacloud_cr20181201 import models as cr

from localcloud import LocalCloud
from localcloud.control_client import ControlClient
from tests.conftest import TEST_LATENCIES
from tests.support.cloud_views import active_configuration, group_by_name, instances
from tests.support.consistency import executions, inconsistencies
from tests.support.images import SEEDED_REPOSITORY, push_image
from tests.support.sdk import SdkClients
from tests.support.waiting import RECORD_WRITE_SECONDS, wait_until


@dataclass
class Bench:
    cloud: LocalCloud
    control: ControlClient
    sdk: SdkClients
    env: dict[str, str]


@dataclass
class Outcome:
    status: str
    exit_code: int
    mutating_calls: int
    problems: list[str] = field(default_factory=list)


@dataclass
class Case:
    name: str
    fault: str
    expect: str  # the status the case must end with
    ends_on: str  # "new" (released and verified on the new image) or "old" (rolled back to the old one)
    run: Callable[[Bench, str], tuple[int, dict]]
    faults: list[dict] = field(default_factory=list)


# The exit code each status must come with.
EXIT_CODES = {"released": 0, "recovered": 0, "unchanged": 0, "stopped": 143}


def _release_args(image: str, *options: str) -> list[str]:
    return [
        *("release", "--group", "ess-eci-test", "--container", "nginx", "--repository", SEEDED_REPOSITORY),
        *("--digest", image.partition("@")[2], "--health-timeout", "5", "--scale-out-timeout", "30", *options),
    ]


def _cli(bench: Bench, args: list[str]) -> tuple[int, dict]:
    done = subprocess.run(
        [sys.executable, "-m", "deployments.cli", *args, "--json"],
        capture_output=True,
        text=True,
        env=bench.env,
        timeout=900,
    )
    lines = done.stdout.strip().splitlines()
    return done.returncode, json.loads(lines[-1]) if lines else {"status": "no output", "message": done.stderr[-500:]}


def _start(bench: Bench, args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "deployments.cli", *args, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=bench.env,
        start_new_session=True,  # its own process group, killed whole
    )


def _calls_since(bench: Bench, mark: int, action: str) -> int:
    return bench.control.mutating_calls(mark).count(action)


def plain_release(options: list[str] = ()) -> Callable[[Bench, str], tuple[int, dict]]:
    return lambda bench, image: _cli(bench, _release_args(image, *options))


def killed_then(point: Callable[[Bench, int], bool], follow_up: str, options: list[str] = ()):
    """SIGKILL the release once ``point`` says so, clear the faults, then run ``follow_up`` (the same release again,
    or recover) and return its outcome."""

    def run(bench: Bench, image: str) -> tuple[int, dict]:
        mark = bench.control.audit_mark()
        process = _start(bench, _release_args(image, *options))
        wait_until(lambda: point(bench, mark), timeout=300, interval=0.1, what="the kill point")
        os.killpg(process.pid, signal.SIGKILL)  # the process and its temporary Prefect server
        process.wait(timeout=30)
        bench.control.clear_faults()
        if follow_up == "recover":
            return _cli(bench, ["recover", "--group", "ess-eci-test"])
        return _cli(bench, _release_args(image))

    return run


def stopped_then_checked(point: Callable[[Bench, int], bool], options: list[str] = ()):
    """SIGTERM the release at ``point``: the process must roll back before it ends, say ``stopped`` (exit 143),
    and leave nothing for `recover` to find."""

    def run(bench: Bench, image: str) -> tuple[int, dict]:
        mark = bench.control.audit_mark()
        process = _start(bench, _release_args(image, *options))
        wait_until(lambda: point(bench, mark), timeout=300, interval=0.1, what="the stop point")
        process.send_signal(signal.SIGTERM)
        stdout, _ = process.communicate(timeout=120)
        bench.control.clear_faults()
        lines = stdout.strip().splitlines()
        stopped = json.loads(lines[-1]) if lines else {"status": "no output"}
        _, found = _cli(bench, ["recover", "--group", "ess-eci-test"])
        if found["status"] != "unchanged":
            stopped = {"status": f"{stopped['status']}, then recover: {found['status']}", "message": found["message"]}
        return process.returncode, stopped

    return run


def released_then_recovered(options: list[str]):
    """A release that may not finish its rollback while the fault lasts, then `recover` once it is gone: the status
    is the release's when it rolled back completely (recover finds nothing), else recover's."""

    def run(bench: Bench, image: str) -> tuple[int, dict]:
        code, result = _cli(bench, _release_args(image, *options))
        bench.control.clear_faults()
        recover_code, found = _cli(bench, ["recover", "--group", "ess-eci-test"])
        return (code, result) if found["status"] == "unchanged" else (recover_code, found)

    return run


def _after_config_write(bench: Bench, mark: int) -> bool:
    return _calls_since(bench, mark, "ModifyEciScalingConfiguration") >= 1


def _after_probe_scale_out(bench: Bench, mark: int) -> bool:
    if _calls_since(bench, mark, "ScaleWithAdjustment") < 1:
        return False
    time.sleep(RECORD_WRITE_SECONDS)  # the activity id reaches the release record right after the cloud answers
    return True


def _mid_rollout(bench: Bench, mark: int) -> bool:
    return any(e.status == "Waiting" for e in executions(bench.sdk))


def _during_rollback(bench: Bench, mark: int) -> bool:
    # The second StartExecution is the rollback's.
    return _calls_since(bench, mark, "StartExecution") >= 2


def _group_id(bench: Bench) -> str:
    return group_by_name(bench.sdk).scaling_group_id


CASES = [
    Case("throttle-30", "throttling on 30% of calls", "released", "new", plain_release(),
         [{"kind": "throttle", "rate": 0.3, "retry_after_ms": 50}]),
    Case("5xx-10", "5xx on 10% of calls", "released", "new", plain_release(),
         [{"kind": "server_error", "rate": 0.1, "status": 503}]),
    Case("dropped-10", "dropped connections on 10% of calls", "released", "new", plain_release(),
         [{"kind": "drop_connection", "rate": 0.1}]),
    Case("pull-failure", "image pull fails on the instances updated in place", "rolled_back", "old",
         plain_release(), [{"kind": "pull_failure", "image": "{digest}", "after": 1}]),
    Case("crash-loop", "the new image crash-loops", "rolled_back", "old", plain_release(),
         [{"kind": "crash_loop", "image": "{digest}"}]),
    Case("unhealthy-after-probe", "healthy on the probe, frozen once updated", "rolled_back", "old",
         plain_release(), [{"kind": "unresponsive", "image": "{digest}", "after": 1}]),
    Case("oos-child", "an OOS child execution fails", "rolled_back", "old", plain_release(),
         [{"kind": "oos_child_failure", "times": 1}]),
    Case("stuck-activity", "the probe's scale-out stuck past its deadline, then recover", "recovered", "old",
         released_then_recovered(["--scale-out-timeout", "5"]), [{"kind": "stuck_activity"}]),
    Case("failed-scale-out", "the probe's scale-out fails", "rolled_back", "old", plain_release(),
         [{"kind": "pull_failure", "image": "{digest}", "times": 1}]),
    Case("sigterm-mid-rollout", "SIGTERM (what a cancel sends) mid rollout", "stopped", "old",
         stopped_then_checked(_mid_rollout, ["--batch-pause", "FirstBatchPause"])),
    Case("sigkill-after-config-write", "SIGKILL right after the configuration write, then the next release",
         "released", "new", killed_then(_after_config_write, "release"),
         [{"kind": "drop_connection", "product": "ess", "action": "ScaleWithAdjustment"}]),
    Case("sigkill-mid-rollout", "SIGKILL mid OOS execution, then recover", "recovered", "old",
         killed_then(_mid_rollout, "recover", ["--batch-pause", "FirstBatchPause"])),
    Case("sigkill-after-probe", "SIGKILL right after the probe scale-out, then the next release", "released", "new",
         killed_then(_after_probe_scale_out, "release"), [{"kind": "stuck_activity"}]),
    Case("sigkill-during-rollback", "SIGKILL during the rollback, then recover", "recovered", "old",
         killed_then(_during_rollback, "recover"), [{"kind": "oos_child_failure", "times": 1}]),
]  # fmt: skip


def run_case(bench: Bench, case: Case, round_number: int) -> Outcome:
    bench.control.clear_faults()
    bench.control.set_latencies(**TEST_LATENCIES.model_dump())
    bench.control.load_scenario()
    group = group_by_name(bench.sdk)
    before = active_configuration(bench.sdk, group).containers[0].image
    count = len(instances(bench.sdk, group.scaling_group_id, "InService"))
    image = push_image(bench.cloud, f"matrix-{case.name}-{round_number}", f"{case.name} {uuid.uuid4().hex}")
    digest = image.partition("@")[2]
    for rule in case.faults:
        bench.control.add_fault(**{k: v.format(digest=digest) if isinstance(v, str) else v for k, v in rule.items()})
    mark = bench.control.audit_mark()
    code, result = case.run(bench, image)
    bench.control.clear_faults()  # the judge reads with the plain SDK, which does not retry
    status = result.get("status", "?")
    problems = inconsistencies(bench.sdk, image if case.ends_on == "new" else before, count)
    if status != case.expect:
        problems.insert(0, f"status {status}, not {case.expect}: {result.get('message', '')[:300]}")
    if code != EXIT_CODES.get(status, 1):
        problems.insert(0, f"exit code {code} for {status}")
    return Outcome(status, code, len(bench.control.mutating_calls(mark)), problems)


@contextmanager
def local_bench():
    """A Docker-backed localcloud, and the environment an `eci-release` shell needs to release to it."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        os.environ.pop(name, None)
    with (
        tempfile.TemporaryDirectory(prefix="fault-matrix-") as home,
        LocalCloud(instances="docker", latencies=TEST_LATENCIES.model_copy()) as cloud,
    ):
        sdk = SdkClients.for_cloud(cloud.info)
        acr_instance = sdk.cr.list_instance(cr.ListInstanceRequest()).body.instances[0].instance_id
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env.update(
            PREFECT_HOME=str(Path(home) / "prefect"),
            ALIBABA_CLOUD_ACCESS_KEY_ID=cloud.info.access_key_id,
            ALIBABA_CLOUD_ACCESS_KEY_SECRET=cloud.info.access_key_secret,
            ALIBABA_CLOUD_REGION_ID=cloud.info.region_id,
            ECI_RELEASE_ENDPOINT=f"http://{cloud.info.endpoint}",
            ECI_RELEASE_REGISTRY_HOST=cloud.info.registry,
            ECI_RELEASE_ACR_INSTANCE_ID=acr_instance,
        )
        yield Bench(cloud, ControlClient(cloud.info.control_url), sdk, env)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--only", nargs="*", help="case names")
    parser.add_argument(
        "--bad-input", action="store_true", help="the bad-input table instead (tests/faults/bad_input.py)"
    )
    arguments = parser.parse_args()
    if arguments.bad_input:
        from tests.faults.bad_input import print_table

        with local_bench() as bench:
            return print_table(bench, arguments.only)
    cases = [c for c in CASES if not arguments.only or c.name in arguments.only]
    passes: dict[str, int] = {c.name: 0 for c in cases}
    with local_bench() as bench:
        print(f"{'case':28} {'round':>5} {'status':12} {'exit':>4} {'mutating':>8}  problems", flush=True)
        for round_number in range(1, arguments.rounds + 1):
            for case in cases:
                started = time.monotonic()
                try:
                    outcome = run_case(bench, case, round_number)
                except Exception as error:  # the case could not be run to the end: a failure of the case
                    outcome = Outcome("error", -1, 0, [f"{type(error).__name__}: {error}"])
                passes[case.name] += not outcome.problems
                print(
                    f"{case.name:28} {round_number:>5} {outcome.status:12} {outcome.exit_code:>4} "
                    f"{outcome.mutating_calls:>8}  {'; '.join(outcome.problems) or 'ok'} "
                    f"({time.monotonic() - started:.0f} s)",
                    flush=True,
                )
    print("\npasses per case:")
    for case in cases:
        print(f"  {case.name:28} {passes[case.name]}/{arguments.rounds}  {case.fault} -> {case.expect}, {case.ends_on}")
    return 0 if all(count == arguments.rounds for count in passes.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

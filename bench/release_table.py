"""The release benchmark of issue 11: one table, every row measured in the same run, with the issue's targets.

    .venv/bin/python -m bench.release_table [--instances 6] [--batches 3] [--update 3] [--new-instance 4]
        [--image-pull S] [--container-start S] [--stay-up S] [--instance-schedule S] [--activity-overhead S]
        [--oos-wait-delay S] [...every other latency of localcloud.timing.Latencies] [--sizes 2,20,200]
        [--repeat 1] [--peer-poll 2]

Starts, on loopback: a Prefect server (SQLite, in a scratch PREFECT_HOME), a localcloud with Docker-backed
instances (one group of ``--instances``) and one with simulated instances (a group per ``--sizes``), both with
the same latencies. Then, in this order:

2. a nightly run of the sample app (changed tree: build, push, release), then the same nightly unchanged, in this
   process against the running server: wall, API calls, mutating calls, images built;
1. ``--repeat`` times, a release of a new image by digest with ``eci-release release`` (a child process) and the
   same with the peer script (``bench/peer_sdk.py``, a child process), each against the cloud's critical path;
3. a release with ``eci-release release`` to each simulated group: API calls by action;
4. once the fan-out flow is on main: one image to 1, 5 and 20 simulated groups of two instances with ``eci-release
   release --group ...`` (several groups: the fan-out flow, each group a run of the ``release`` deployment that a
   worker started here runs), and to a group in each of two regions;
5. the peak RSS of each release process above (the child's own ``ru_maxrss``).

It measures and prints; it asserts nothing (bench/README.md says what each row means).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from bench.cloud_time import CloudWork, answers, cloud_work, on_the_path, serial_seconds
from deployments.postgres import start_postgres
from deployments.processes import Children, free_port, wait_http_ok
from localcloud import LocalCloud
from localcloud.control_client import ControlClient
from localcloud.registry.seed_image import push_http_image
from localcloud.scenario import ScalingGroupSeed, Scenario
from localcloud.timing import Latencies

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
REPOSITORY = "ess_eci_test_namespace/ess_eci_test_repo"
GROUP, CONTAINER = "ess-eci-test", "nginx"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")

TARGET_RATIO = 1.05
TARGET_NIGHTLY_SECONDS = 3.0
TARGET_FAN_OUT = 1.5
TARGET_PEAK_MB = 300


@dataclass
class Row:
    number: str
    what: str
    measured: str
    target: str = ""
    verdict: str = ""  # PASS, MISS, or empty where the issue sets no target


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


# -- processes --------------------------------------------------------------------------------------------------


@dataclass
class ChildRun:
    command: list[str]
    started: float  # epoch seconds
    ended: float
    wall: float
    peak_mb: float  # the child's maximum resident set size
    returncode: int
    stdout: str
    stderr: str

    def last_json(self) -> dict[str, Any]:
        """Its last JSON line; a crash (no such line) as a failure, with the end of what it wrote to stderr."""
        lines = [line for line in self.stdout.splitlines() if line.startswith("{")]
        if not lines:
            said = " ".join(self.stderr.strip()[-600:].split())
            return {"status": "crashed", "message": f"no JSON line (exit {self.returncode}): {said}"}
        return json.loads(lines[-1])


# Linux's ru_maxrss of a child counts the memory of the process it was forked from (exec records the copied
# address space's high-water mark), so a child forked from this big process would report this process's size. A
# launcher of a few MB forks the command and reports the command's own peak.
_LAUNCHER = """
import os, sys
report, command = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    try:
        os.execvp(command[0], command)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(report, "w") as file:
    file.write(str(usage.ru_maxrss))
sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
"""


def run_child(command: list[str], env: dict[str, str]) -> ChildRun:
    """Run ``command`` to its end; its wall time and its own peak RSS (``wait4``'s ``ru_maxrss`` of that process
    alone, where ``RUSAGE_CHILDREN`` would be the maximum over every child waited for so far), through
    ``_LAUNCHER``."""
    with (
        tempfile.TemporaryFile("w+") as out,
        tempfile.TemporaryFile("w+") as err,
        tempfile.NamedTemporaryFile("r") as report,
    ):
        started, clock = time.time(), time.monotonic()
        launcher = [sys.executable, "-I", "-S", "-c", _LAUNCHER, report.name, *command]
        done = subprocess.run(launcher, env=env, cwd=REPO_ROOT, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        wall = time.monotonic() - clock
        out.seek(0)
        err.seek(0)
        peak_kb = int(report.read() or 0)
        return ChildRun(command, started, time.time(), wall, peak_kb / 1024, done.returncode, out.read(), err.read())


def start_prefect_server(log_dir: Path, api_url: str, database_kind: str = "sqlite"):
    """``prefect server start`` on loopback, on the PREFECT_HOME and PREFECT_API_URL of this process's environment,
    with a SQLite database, or a PostgreSQL server of its own started here; returns the running children (stop them
    with ``stop_all``)."""
    children = Children(log_dir)
    port = api_url.rsplit(":", 1)[1].split("/")[0]
    if database_kind == "postgresql":
        database = start_postgres(children, log_dir / "postgresql")
    else:
        database = f"sqlite+aiosqlite:///{Path(os.environ['PREFECT_HOME']) / 'prefect.db'}"
    server = children.start(
        "prefect-server",
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", port],
        env={**os.environ, "PREFECT_API_DATABASE_CONNECTION_URL": database},
    )
    try:
        wait_http_ok(f"{api_url}/health", 180, server, "the Prefect server")
    except BaseException:
        children.stop_all()
        raise
    return children


def instances_answer(target: Target) -> bool:
    """Whether the cloud's instances answer HTTP on their container's port (simulated ones do once localcloud gives
    them a tiny HTTP answer); when not, row 3 checks health on ``HealthStandIn``'s port."""
    group = next(g for g in target.control.state()["eci"]["groups"] if g.get("intranet_ip"))
    session = requests.Session()
    session.trust_env = False  # loopback: never through a proxy
    try:
        return session.get(f"http://{group['intranet_ip']}:80/", timeout=2).ok
    except requests.RequestException:
        return False


class HealthStandIn:
    """Simulated instances that run nothing answer no health check: this answers 200 on one port of every loopback
    address (the simulated group's releases are then told to check that port), and nothing elsewhere."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if not self.connection.getsockname()[0].startswith("127."):
                    self.send_error(403)
                    return
                self.send_response(200)
                self.send_header("Content-Length", "3")
                self.end_headers()
                self.wfile.write(b"ok\n")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("0.0.0.0", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- the clouds -------------------------------------------------------------------------------------------------


@dataclass
class Target:
    """A localcloud with the pipeline's environment for it."""

    cloud: LocalCloud
    control: ControlClient
    env: dict[str, str]
    group_ids: dict[str, str] = field(default_factory=dict)

    @classmethod
    def start(cls, instances: str, latencies: Latencies, scenario: Scenario) -> "Target":
        cloud = LocalCloud(instances=instances, latencies=latencies, scenario=scenario)
        cloud.start()
        return cls.of(cloud)

    @classmethod
    def of(cls, cloud: LocalCloud) -> "Target":
        """A started cloud."""
        from deployments.local_cloud_target import pipeline_environment

        control = ControlClient(cloud.info.control_url)
        groups = {g["name"]: g["id"] for g in control.state()["ess"]["groups"]}
        env = {**os.environ, **pipeline_environment(cloud.info.model_dump())}
        return cls(cloud, control, env, groups)

    def push(self, label: str) -> str:
        """A new image (a web page saying ``label``) in the cloud's registry; its digest."""
        return push_http_image(self.cloud.cloud.registry, REPOSITORY, label, f"{label}\n")

    def pinned(self, digest: str) -> str:
        return f"{self.cloud.info.registry}/{REPOSITORY}@{digest}"


def new_label() -> str:
    return f"bench-{uuid.uuid4().hex[:8]}"


# -- one release ------------------------------------------------------------------------------------------------


@dataclass
class Measured:
    who: str
    status: str
    started: float  # epoch seconds: the pipeline's process's start and end; the peer's timed part's
    ended: float
    wall: float  # the pipeline: its flow run's (Prefect's start to end); the peer: its timed part
    process_wall: float
    peak_mb: float
    work: list[CloudWork]
    calls: list[dict[str, Any]]
    result: dict[str, Any]
    run_span: tuple[float, float] | None = None  # the pipeline's flow run, Running to its end (epoch seconds)

    @property
    def critical_path(self) -> float:
        return serial_seconds(self.work)

    @property
    def ratio(self) -> float:
        return self.wall / self.critical_path if self.critical_path else float("inf")


def flow_run_span(since: float) -> tuple[float, float] | None:
    """The newest flow run started since ``since``: when it went Running and when it ended (epoch seconds), as the
    Prefect server recorded it."""
    from datetime import datetime, timezone

    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterStartTime
    from prefect.client.schemas.sorting import FlowRunSort

    after = datetime.fromtimestamp(since, timezone.utc)
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(start_time=FlowRunFilterStartTime(after_=after)),
            sort=FlowRunSort.START_TIME_DESC,
            limit=1,
        )
    if not runs or runs[0].end_time is None:
        return None
    return runs[0].start_time.timestamp(), runs[0].end_time.timestamp()


def pipeline_release(
    target: Target, group: str, batches: int, health_port: int | None = None, digest: str | None = None
) -> Measured:
    """``eci-release release`` of a new image by digest, in a child process."""
    digest = digest or target.push(new_label())
    command = [
        str(BIN / "eci-release"),
        *("release", "--group", group, "--container", CONTAINER, "--repository", REPOSITORY),
        *("--digest", digest, "--batch-number", str(batches), "--json"),
        *(("--health-port", str(health_port)) if health_port else ()),
    ]
    mark = target.control.audit_mark()
    child = run_child(command, target.env)
    result = child.last_json()
    calls = target.control.audit(mark)
    work = cloud_work(target.control.state(), target.group_ids[group], child.started, child.ended, answers(calls))
    span = flow_run_span(child.started)
    return Measured(
        "pipeline",
        result.get("status", "?"),
        child.started,
        child.ended,
        span[1] - span[0] if span else child.wall,
        child.wall,
        child.peak_mb,
        work,
        calls,
        result,
        span,
    )


def peer_release(target: Target, group: str, batches: int, poll: float) -> Measured:
    """The peer script, in a child process, then its scale-out removed again (outside its timed part)."""
    digest = target.push(new_label())
    info = target.cloud.info
    env = {k: v for k, v in target.env.items() if k not in PROXY_VARIABLES}
    command = [
        sys.executable,
        *("-m", "bench.peer_sdk", "--endpoint", info.endpoint, "--region", info.region_id, "--group", group),
        *("--container", CONTAINER, "--image", target.pinned(digest), "--batch-number", str(batches)),
        *("--poll", str(poll)),
    ]
    mark = target.control.audit_mark()
    child = run_child(command, env)
    result = child.last_json()
    if result["status"] != "released":
        return Measured(
            "peer", "failed", child.started, child.ended, child.wall, child.wall, child.peak_mb, [], [], result
        )
    work = cloud_work(target.control.state(), target.group_ids[group], result["started"], result["ended"])
    calls = [e for e in target.control.audit(mark) if e["time"] <= result["ended"]]
    timed = result["started"], result["ended"]
    return Measured("peer", "released", *timed, result["wall"], child.wall, child.peak_mb, work, calls, result)


# -- the rows ---------------------------------------------------------------------------------------------------


def measure_nightly(target: Target, scratch: Path, batches: int) -> list[dict[str, Any]]:
    """Row 2's runs: the sample app's nightly, changed then unchanged, run as the nightly deployment runs it (trigger
    nightly), in this process against the running Prefect server. Images built are counted on the Docker engine
    among the images carrying the tree's cache key (other processes may build on the same engine meanwhile)."""
    import docker

    from deployments.sample_app import stage_sample_app
    from flows.parameters import ImageSpec, RolloutSpec, SourceSpec, TargetSpec
    from flows.release import ReleaseFailed, release
    from tasks.build import CACHE_LABEL

    os.environ.update({k: v for k, v in target.env.items() if k.startswith(("ALIBABA_CLOUD_", "ECI_RELEASE_"))})
    engine = docker.from_env()
    name = new_label()
    source = SourceSpec(context=str(stage_sample_app(name, scratch / name)))
    tagged = f"{target.cloud.info.registry}/{REPOSITORY}:{name}"

    def images_of_the_tree() -> set[str]:
        try:
            key = engine.images.get(tagged).labels.get(CACHE_LABEL)
        except docker.errors.ImageNotFound:
            return set()
        return {image.id for image in engine.images.list(filters={"label": f"{CACHE_LABEL}={key}"})}

    measured = []
    for _ in ("changed", "unchanged"):
        mark, before = target.control.audit_mark(), images_of_the_tree()
        started = time.monotonic()
        try:
            result = release(
                target=TargetSpec(scaling_group=GROUP, container=CONTAINER),
                image=ImageSpec(repository=REPOSITORY, tag=name),
                source=source,
                rollout=RolloutSpec(batch_number=batches),
                trigger="nightly",
            )
        except ReleaseFailed as failed:
            result = failed.result
        wall = time.monotonic() - started
        calls = target.control.audit(mark)
        measured.append(
            {
                "status": result.status if result.status in ("released", "unchanged") else result.message,
                "wall": wall,
                "calls": len(calls),
                "mutating": sum(1 for e in calls if e["mutating"] and e["status"] == 200),
                "built": len(images_of_the_tree() - before),
                "build": result.skipped.get("build", "built"),
            }
        )
    return measured


def nightly_rows(changed: dict[str, Any], unchanged: dict[str, Any]) -> list[Row]:
    """Row 2: the unchanged nightly rerun."""
    where = f"({unchanged['status']}; the changed run before it: {changed['status']}, {changed['wall']:.1f} s)"
    seconds = TARGET_NIGHTLY_SECONDS
    return [
        Row(
            "2",
            f"nightly rerun, unchanged tree: wall {where}",
            f"{unchanged['wall']:.2f} s",
            f"< {seconds:.0f} s",
            verdict(unchanged["wall"] < seconds),
        ),
        Row("2", "nightly rerun: API calls (all answered, the pipeline's)", str(unchanged["calls"])),
        Row("2", "nightly rerun: mutating calls", str(unchanged["mutating"]), "0", verdict(unchanged["mutating"] == 0)),
        Row(
            "2",
            f"nightly rerun: images built (its build stage: {unchanged['build']})",
            str(unchanged["built"]),
            "0",
            verdict(unchanged["built"] == 0),
        ),
    ]


def _path_text(m: Measured) -> str:
    kinds: Counter = Counter()
    for piece in on_the_path(m.work):
        kinds[piece.name.split(" ")[0]] += piece.seconds
    pieces = " + ".join(f"{kind} {seconds:.1f}" for kind, seconds in kinds.items())
    paused = _paused(m.work)
    return f"{m.critical_path:.1f} s ({pieces}" + (
        f"; OOS paused {paused:.1f} s for the gate, not counted)" if paused else ")"
    )


def _paused(work: list[CloudWork]) -> float:
    """Seconds the OOS execution waited between batches for its caller's answer."""
    oos = [w for w in work if w.name.startswith("OOS ")]
    return (max(w.end for w in oos) - min(w.start for w in oos) - sum(w.seconds for w in oos)) if oos else 0.0


def release_rows(pipeline: list[Measured], peer: list[Measured], peer_poll: float) -> list[Row]:
    """Row 1: the pipeline's flow-run wall and the peer's timed wall against each one's critical path (the median
    ratio over the repeats), and the pipeline's whole process."""

    def row(who: str, runs: list[Measured]) -> tuple[Row, float | None]:
        ok = [m for m in runs if m.status == "released" and m.critical_path > 0]
        if not ok:
            return Row("1", who, "failed (below)"), None
        ratio = statistics.median(m.ratio for m in ok)
        spread = f" (runs: {', '.join(f'{m.ratio:.2f}x' for m in ok)})" if len(ok) > 1 else ""
        last = ok[-1]
        measured = f"{last.wall:.1f} s / {last.critical_path:.1f} s = {ratio:.2f}x{spread}"
        return Row("1", f"{who}: wall / critical path {_path_text(last)}", measured), ratio

    mine, my_ratio = row("pipeline (eci-release release, its flow run)", pipeline)
    theirs, their_ratio = row(f"peer SDK script (polls every {peer_poll:g} s)", peer)
    mine.target = f"<= {TARGET_RATIO}x and < the peer's" + (f" {their_ratio:.2f}x" if their_ratio else "")
    if my_ratio is not None:
        mine.verdict = verdict(my_ratio <= TARGET_RATIO and their_ratio is not None and my_ratio < their_ratio)
    rows = [mine, theirs]
    released = [m for m in pipeline if m.status == "released" and m.critical_path > 0]
    if released:
        last = released[-1]
        measured = f"{last.process_wall:.1f} s = {last.process_wall / last.critical_path:.2f}x"
        rows.insert(1, Row("1", "pipeline: the eci-release process, start to exit", measured))
    return rows


def calls_by_action(calls: list[dict[str, Any]]) -> Counter:
    return Counter((e["caller"], f"{e['product']} {e['action']}") for e in calls)


def scale_rows(runs: dict[int, Measured], batches: int, health: str = "") -> list[Row]:
    """Row 3: API calls per release by action for each group size; the pipeline's are judged, OOS's on its
    behalf (the template's own per-instance work) shown."""
    sizes = sorted(runs)
    counts = {n: calls_by_action(runs[n].calls) for n in sizes}
    keys = sorted({k for c in counts.values() for k in c}, key=lambda k: (k[0] != "api", -counts[sizes[-1]][k], k))
    rows = []
    for caller, action in keys:
        who = "" if caller == "api" else f" (by {caller} on its behalf)"
        rows.append(Row("3", f"API calls, {action}{who}", " / ".join(str(counts[n][(caller, action)]) for n in sizes)))
    totals = {n: sum(c for (caller, _), c in counts[n].items() if caller == "api") for n in sizes}
    behalf = {n: sum(counts[n].values()) - totals[n] for n in sizes}
    failed = [f"{n}: {runs[n].status}, below" for n in sizes if runs[n].status != "released"]
    rows.append(
        Row(
            "3",
            f"API calls by OOS on the pipeline's behalf, for {sizes} instances",
            " / ".join(str(behalf[n]) for n in sizes),
        )
    )
    small, big = sizes[-2], sizes[-1]
    per_instance = (totals[big] - totals[small]) / (big - small)
    rows.append(
        Row(
            "3",
            f"API calls by the pipeline, for {sizes} simulated instances in {batches} batches"
            + (f", health-checked on {health}" if health else "")
            + (f" (not released: {', '.join(failed)})" if failed else ""),
            " / ".join(str(totals[n]) for n in sizes)
            + f"; {per_instance:.2f} more per added instance ({small} -> {big})",
            "< 1 call per added instance (paged reads, no per-instance polling)",
            verdict(per_instance < 1 and not failed),
        )
    )
    return rows


FAN_OUT_COUNTS = (1, 5, 20)
OTHER_REGION = "cn-shanghai"


def fan_out_on_main() -> bool:
    """Whether the fan-out flow is committed (another change built it while this benchmark was written)."""
    listed = subprocess.run(
        ["git", "ls-files", "--error-unmatch", "flows/fan_out.py"], cwd=REPO_ROOT, capture_output=True
    )
    return listed.returncode == 0


def fan_out_seeds() -> list[ScalingGroupSeed]:
    """The fan-out's groups (two instances each), and one in a second region."""
    seeds = [ScalingGroupSeed(name=f"fan-{n}", instances=2, max_size=3) for n in range(1, max(FAN_OUT_COUNTS) + 1)]
    return [*seeds, ScalingGroupSeed(name="fan-elsewhere", region_id=OTHER_REGION, instances=2, max_size=3)]


def measure_fan_out(target: Target, scratch: Path, batches: int, health_port: int | None) -> list[dict[str, Any]]:
    """Row 4's runs: one new image to 1, 5 and 20 of the ``fan-N`` groups with ``eci-release release --group ...``
    (one group runs the release flow; several the fan-out flow, each group a run of the ``release`` deployment,
    which a process worker started here runs), then to a group in each of two regions. Sets up what
    ``eci-release up`` does for it: the blocks, the work pool (the launcher as its job command), the ``release``
    deployment, the zygote, one worker."""
    from types import SimpleNamespace

    from deployments.stack import BLOCK_NAME, WORK_POOL, save_local_blocks
    from deployments.work_pool import create_work_pool, start_zygote

    save_local_blocks(SimpleNamespace(info=target.cloud.info.model_dump()))
    env = {**target.env, "PREFECT_WORKER_QUERY_SECONDS": "1"}
    workers = Children(scratch)
    try:
        create_work_pool(WORK_POOL, env)
        command = ["--no-prompt", "deploy", "--name", "release"]
        done = subprocess.run([str(BIN / "prefect"), *command], env=env, cwd=REPO_ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"prefect deploy: {done.stderr[-400:]}")
        worker_env = start_zygote(workers, scratch / "zygote.sock", env)
    except RuntimeError as error:
        workers.stop_all()
        return [{"groups": 0, "status": "set-up failed", "message": str(error)}]
    workers.start(
        "worker", [str(BIN / "prefect"), "worker", "start", "--pool", WORK_POOL], env=worker_env, cwd=REPO_ROOT
    )
    runs = []
    try:
        for groups in [[f"fan-{n}" for n in range(1, count + 1)] for count in FAN_OUT_COUNTS] + [
            ["fan-1", f"{OTHER_REGION}/fan-elsewhere"]
        ]:
            command = [
                str(BIN / "eci-release"),
                *("release", *[part for g in groups for part in ("--group", g)], "--container", CONTAINER),
                *("--repository", REPOSITORY, "--digest", target.push(new_label()), "--batch-number", str(batches)),
                *("--credentials-block", BLOCK_NAME, "--registry-block", BLOCK_NAME, "--json"),
                *(("--health-port", str(health_port)) if health_port else ()),
            ]
            mark = target.control.audit_mark()
            child = run_child(command, target.env)
            result = child.last_json()
            outcomes = Counter(g["status"] for g in result.get("groups", [])) or Counter([result.get("status", "?")])
            calls = target.control.audit(mark)
            runs.append(
                {
                    "groups": len(groups),
                    "regions": len({g.partition("/")[0] if "/" in g else "" for g in groups}),
                    "wall": child.wall,
                    "status": result.get("status", "?"),
                    "outcomes": dict(outcomes),
                    "message": result.get("message", ""),
                    "throttled": sum(1 for e in calls if str(e.get("code") or "").startswith("Throttling")),
                    "surfaced": "Throttling" in json.dumps(result),
                    "calls": len(calls),
                }
            )
    finally:
        workers.stop_all()
    return runs


def fan_out_rows(runs: list[dict[str, Any]] | None = None) -> list[Row]:
    """Row 4: one image to 1, 5 and 20 groups, and to two regions; the wall of 20 groups against one.

    Without ``runs`` (the fan-out flow not on main, or row 4 skipped) the row says so: the hook is
    ``measure_fan_out``."""
    target = f"20 groups <= {TARGET_FAN_OUT}x one group, no throttling error surfacing"
    if not runs:
        note = "not measured in this run" if fan_out_on_main() else "not built yet (flows/fan_out.py is not on main)"
        return [Row("4", "fan-out: one image to 1, 5, 20 groups (2 regions)", note, target)]
    if runs[0]["groups"] == 0:
        return [Row("4", "fan-out: set-up", f"{runs[0]['status']}: {runs[0]['message']}", target, "MISS")]
    one = next((r for r in runs if r["groups"] == 1), None)
    rows = []
    for run in runs:
        kind = "the release flow" if run["groups"] == 1 else "the fan-out flow"
        where = (
            f"{run['groups']} groups in {run['regions']} regions" if run["regions"] > 1 else f"{run['groups']} group(s)"
        )
        ratio = run["wall"] / one["wall"] if one and one["status"] == "released" else None
        outcome = ", ".join(f"{n} {status}" for status, n in run["outcomes"].items())
        measured = f"{run['wall']:.1f} s" + (f" = {ratio:.2f}x one group" if ratio and run["groups"] > 1 else "")
        measured += f"; {outcome}; {run['calls']} API calls, {run['throttled']} answered Throttling"
        row = Row("4", f"fan-out: one image to {where}, eci-release release ({kind}), start to exit", measured)
        if run["groups"] == max(FAN_OUT_COUNTS) and run["regions"] == 1:
            row.target = target
            row.verdict = verdict(
                ratio is not None and ratio <= TARGET_FAN_OUT and run["status"] == "released" and not run["surfaced"]
            )
        if run["status"] not in ("released", "unchanged"):
            row.what += f" ({run['status']}: {' '.join(str(run['message']).split())[:200]})"
        rows.append(row)
    return rows


def memory_rows(docker_run: list[Measured], peer: list[Measured], scale: dict[int, Measured]) -> list[Row]:
    """Row 5: each release process's peak RSS (the eci-release child, as ``wait4`` reports it); the target is
    judged on the biggest group's release, which must have released."""
    rows = []
    if docker_run:
        biggest = max(m.peak_mb for m in docker_run)
        rows.append(Row("5", "peak RSS of the release process, Docker-backed instances", f"{biggest:.0f} MB"))
    for n, m in sorted(scale.items()):
        big = n == max(scale)
        note = "" if m.status == "released" else f" (the release {m.status}: below)"
        rows.append(
            Row(
                "5",
                f"peak RSS of the release process, {n} simulated instances{note}",
                f"{m.peak_mb:.0f} MB",
                f"< {TARGET_PEAK_MB} MB" if big else "",
                verdict(m.peak_mb < TARGET_PEAK_MB and not note) if big else "",
            )
        )
    if peer:
        rows.append(Row("5", "peak RSS of the peer script", f"{max(m.peak_mb for m in peer):.0f} MB"))
    return rows


def render(rows: list[Row]) -> str:
    lines = ["| # | what | measured | target | |", "|---|---|---|---|---|"]
    lines += [f"| {r.number} | {r.what} | {r.measured} | {r.target} | {r.verdict} |" for r in rows]
    return "\n".join(lines)


def details(pipeline: list[Measured], peer: list[Measured]) -> str:
    """Where the last pipeline release and the last peer run spent their time, against the cloud's."""
    lines = []
    for m in [*pipeline[-1:], *peer[-1:]]:
        if m.status != "released":
            continue
        mine = [e for e in m.calls if e["caller"] == "api"]
        span = (
            "the process, start to exit" if m.who == "pipeline" else "its timed part, first call to checked scale-out"
        )
        lines.append(
            f"\n{m.who}: wall {m.wall:.2f} s (process {m.process_wall:.2f} s), critical path {m.critical_path:.2f} s, "
            f"{len(mine)} API calls by it and {len(m.calls) - len(mine)} by OOS on its behalf; start and end: {span}"
        )
        if mine:
            first, last = mine[0]["time"], mine[-1]["time"]
            lines.append(f"  start -> first API call              {first - m.started:7.2f} s")
            lines.append(f"  first -> last API call               {last - first:7.2f} s")
            lines.append(f"  last API call -> end                 {m.ended - last:7.2f} s")
        for stage, seconds in m.result.get("timings", {}).items():
            lines.append(f"  stage {stage:<31}{seconds:7.2f} s")
        for piece in on_the_path(m.work):
            lines.append(f"  cloud {piece.name:<50}{piece.seconds:7.2f} s  at +{piece.start - m.started:.2f} s")
        if paused := _paused(m.work):
            lines.append(f"  OOS paused between batches, waiting for the health gate's answer: {paused:.2f} s")
        if m.run_span:
            lines += [f"  own {between:<50}{seconds:7.2f} s" for between, seconds in own_time(m.run_span, m.work)]
    return "\n".join(lines)


def own_time(run_span: tuple[float, float], work: list[CloudWork]) -> list[tuple[str, float]]:
    """The flow run's time outside the cloud's pieces on the path: before the first, between each two (an OOS
    pause between batches too), after the last; what the pipeline itself adds to the critical path."""
    pieces = sorted(on_the_path(work), key=lambda w: w.start)
    if not pieces:
        return []
    own, before, reach = [], "Running", run_span[0]
    for piece in pieces:
        kind = piece.name.rsplit(" ", 1)[0]
        if piece.start > reach:
            own.append((f"{before} -> {kind}", piece.start - reach))
        if piece.end > reach:
            before, reach = f"{kind} end", piece.end
    own.append((f"{before} -> the run's end", run_span[1] - reach))
    return own


def failures(measured: "Measurements") -> str:
    """What each release that did not release said (its JSON line's message), for the rows marked "below"."""
    runs = [("row 1, pipeline", m) for m in measured.pipeline] + [("row 1, peer", m) for m in measured.peer]
    runs += [(f"row 3, {n} instances", m) for n, m in sorted(measured.scale.items())]
    lines = [
        f"{where}: {m.status}: {' '.join(str(m.result.get('message', '')).split())[:600]}"
        for where, m in runs
        if m.status != "released"
    ]
    return "\n".join(["", "not released:", *lines]) if lines else ""


# -- the command ------------------------------------------------------------------------------------------------


def latency_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--update",
        type=float,
        default=3.0,
        help="seconds of an in-place update: split evenly over image pull, container start, stay up",
    )
    parser.add_argument(
        "--new-instance",
        type=float,
        default=4.0,
        help="seconds of a new instance: the update's plus instance scheduling",
    )
    for name, info in Latencies.model_fields.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=float, default=None, help=info.description)


def latencies_from(args: argparse.Namespace) -> Latencies:
    """``--update`` and ``--new-instance`` set the update's and start's parts; any latency given by name wins."""
    share = args.update / 3
    values = {
        **Latencies().model_dump(),
        "image_pull": share,
        "container_start": share,
        "stay_up": share,
        "instance_schedule": max(0.0, args.new_instance - args.update),
    }
    for name in Latencies.model_fields:
        if getattr(args, name) is not None:
            values[name] = getattr(args, name)
    return Latencies(**values)


@dataclass
class Measurements:
    batches: int
    peer_poll: float
    pipeline: list[Measured] = field(default_factory=list)
    peer: list[Measured] = field(default_factory=list)
    nightly: list[dict[str, Any]] = field(default_factory=list)  # the changed run, then the unchanged one
    scale: dict[int, Measured] = field(default_factory=dict)
    health: str = ""  # where row 3's simulated instances were health-checked
    fan_out: list[dict[str, Any]] = field(default_factory=list)


def table_rows(measured: Measurements) -> list[Row]:
    rows = release_rows(measured.pipeline, measured.peer, measured.peer_poll) if measured.pipeline else []
    rows += nightly_rows(*measured.nightly) if measured.nightly else []
    rows += scale_rows(measured.scale, measured.batches, measured.health) if len(measured.scale) > 1 else []
    rows += fan_out_rows(measured.fan_out)
    return rows + memory_rows(measured.pipeline, measured.peer, measured.scale)


def measure(args: argparse.Namespace, latencies: Latencies, scratch: Path, stand_in: HealthStandIn) -> Measurements:
    """Every row's runs, on the two clouds (started here, stopped before it returns)."""
    skip = set(args.skip.split(","))
    sizes = [int(n) for n in args.sizes.split(",") if n]
    measured = Measurements(args.batches, args.peer_poll)
    real = simulated = None
    try:
        if not {"1", "2"} <= skip:
            seed = ScalingGroupSeed(instances=args.instances, max_size=args.instances + 2)
            real = Target.start("docker", latencies, Scenario(scaling_groups=[seed]))
        if "2" not in skip:
            print("row 2: a nightly run, changed then unchanged", file=sys.stderr)
            measured.nightly = measure_nightly(real, scratch, args.batches)
        if "1" not in skip and "2" in skip:
            # The nightly row leaves a release record; without it one release first, so that every measured one is
            # to a group that released before, as a group usually has: its waits pace the polls.
            print("row 1: a warm-up release, not measured", file=sys.stderr)
            pipeline_release(real, GROUP, args.batches)
        for n in range(0 if "1" in skip else args.repeat):
            print(f"row 1: a pipeline and a peer release ({n + 1}/{args.repeat})", file=sys.stderr)
            measured.pipeline.append(pipeline_release(real, GROUP, args.batches))
            measured.peer.append(peer_release(real, GROUP, args.batches, args.peer_poll))
        fan_out = "4" not in skip and fan_out_on_main()
        if ("3" not in skip and sizes) or fan_out:
            seeds = [ScalingGroupSeed(name=f"bench-{n}", instances=n, max_size=n + 1) for n in sizes if "3" not in skip]
            seeds += fan_out_seeds() if fan_out else []
            simulated = Target.start("simulated", latencies, Scenario(scaling_groups=seeds, wait_seconds=600))
            port = None if instances_answer(simulated) else stand_in.port
            measured.health = "their own port" if port is None else "the benchmark's stand-in port"
            for n in sizes if "3" not in skip else []:
                print(f"row 3: a release to a simulated group of {n} instances", file=sys.stderr)
                measured.scale[n] = pipeline_release(simulated, f"bench-{n}", args.batches, health_port=port)
            if fan_out:
                print(f"row 4: one image to {FAN_OUT_COUNTS} groups, then to two regions", file=sys.stderr)
                measured.fan_out = measure_fan_out(simulated, scratch, args.batches, port)
    finally:
        for target in (simulated, real):
            if target is not None:
                target.cloud.stop()
    return measured


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=6, help="Docker-backed instances in the release group")
    parser.add_argument("--batches", type=int, default=3, help="OOS batches")
    parser.add_argument("--sizes", default="2,20,200", help="simulated group sizes for the API-call row")
    parser.add_argument("--repeat", type=int, default=1, help="pipeline and peer releases of row 1 (median ratio)")
    parser.add_argument("--peer-poll", type=float, default=2.0, help="seconds between the peer's status reads")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite", help="the Prefect server's")
    parser.add_argument("--skip", default="", help="rows to leave out, e.g. 2,3,4 for a quicker look at row 1")
    latency_options(parser)
    args = parser.parse_args(argv)
    latencies = latencies_from(args)

    scratch = Path(tempfile.mkdtemp(prefix="eci-release-bench-"))
    scratch.chmod(0o711)  # PostgreSQL's user must enter it for its data directory
    home = scratch / "prefect-home"
    home.mkdir(mode=0o700)
    os.environ.update(
        PREFECT_HOME=str(home),
        PREFECT_API_URL=f"http://127.0.0.1:{free_port()}/api",
        DO_NOT_TRACK="1",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
    )
    for name in PROXY_VARIABLES:  # every call goes to loopback
        os.environ.pop(name, None)
    # The simulated cloud seeds hundreds of instances at once: its registry client's pool says so, harmlessly.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    started = time.monotonic()
    server = start_prefect_server(scratch, os.environ["PREFECT_API_URL"], args.database)
    stand_in = HealthStandIn()
    try:
        measured = measure(args, latencies, scratch, stand_in)
    finally:
        stand_in.stop()
        server.stop_all()
    update = latencies.image_pull + latencies.container_start + latencies.stay_up
    print(
        f"\n{args.instances} Docker-backed instances in {args.batches} batches; an in-place update of {update:.1f} s "
        f"and a new instance of {update + latencies.instance_schedule:.1f} s plus the real pull and start; "
        f"OOS wait delay {latencies.oos_wait_delay} s, activity bookkeeping {latencies.activity_overhead} s "
        f"(all: {latencies.model_dump()}). The Prefect server on {args.database}. "
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; "
        f"{time.monotonic() - started:.0f} s in all.\n"
    )
    print(render(table_rows(measured)))
    print(details(measured.pipeline, measured.peer))
    print(failures(measured))
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""One release on localcloud with set latencies: wall time per stage and the API calls it made.

    .venv/bin/python bench/release_once.py [--latency-scale 1.0] [--instances 2]

Starts an in-process localcloud (Docker-backed instances), releases the sample app once (a changed tree:
real build, push, config write, OOS rollout, scale-out verification), then once more unchanged, and prints
a table per run: seconds per stage, the run's timeline, and calls per API from localcloud's audit log (the
pipeline's own, and those OOS made on its behalf).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

from prefect.testing.utilities import prefect_test_harness

from flows.report import render_timeline
from localcloud import LocalCloud
from localcloud.control_client import ControlClient
from localcloud.scenario import ScalingGroupSeed, Scenario
from localcloud.timing import Latencies

REPOSITORY = "ess_eci_test_namespace/ess_eci_test_repo"


def _table(title: str, wall: float, result, calls: Counter) -> None:
    print(f"\n## {title}: {result.status}, {wall:.2f} s wall")
    print(f"{'stage':<24}{'seconds':>9}")
    for stage, seconds in result.timings.items():
        print(f"{stage:<24}{seconds:>9.2f}")
    print(render_timeline(result.timeline))
    print(f"\n{'API call (caller)':<48}{'count':>6}")
    for (caller, product, action), count in sorted(calls.items()):
        print(f"{product + ' ' + action + ' (' + caller + ')':<48}{count:>6}")
    pipeline = sum(c for (caller, _, _), c in calls.items() if caller == "api")
    print(
        f"{'total by the pipeline':<48}{pipeline:>6}\n{'total by OOS on its behalf':<48}"
        f"{sum(calls.values()) - pipeline:>6}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-scale", type=float, default=1.0, help="multiply localcloud's default latencies")
    parser.add_argument("--instances", type=int, default=2, help="InService instances in the group")
    args = parser.parse_args()
    from deployments.local_cloud_target import pipeline_environment
    from deployments.sample_app import stage_sample_app
    from flows.parameters import ImageSpec, SourceSpec, TargetSpec
    from flows.release import release

    latencies = Latencies(**{k: v * args.latency_scale for k, v in Latencies().model_dump().items()})
    scenario = Scenario(scaling_groups=[ScalingGroupSeed(instances=args.instances, max_size=args.instances + 1)])
    os.environ.setdefault("DO_NOT_TRACK", "1")
    with (
        LocalCloud(instances="docker", latencies=latencies, scenario=scenario) as cloud,
        prefect_test_harness(server_startup_timeout=120),
        tempfile.TemporaryDirectory() as scratch,
    ):
        os.environ.update(pipeline_environment(cloud.info.model_dump()))
        control = ControlClient(cloud.info.control_url)
        context = stage_sample_app(f"bench-{uuid.uuid4().hex[:8]}", Path(scratch))
        for title in ("changed tree", "unchanged rerun"):
            mark = control.audit_mark()
            started = time.monotonic()
            result = release(
                target=TargetSpec(scaling_group="ess-eci-test", container="nginx"),
                image=ImageSpec(repository=REPOSITORY, tag="bench"),
                source=SourceSpec(context=str(context)),
            )
            wall = time.monotonic() - started
            calls = Counter((e["caller"], e["product"], e["action"]) for e in control.audit(mark))
            _table(title, wall, result, calls)


if __name__ == "__main__":
    main()

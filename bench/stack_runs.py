"""The local stack as a team uses it: how long a deployment run takes from "Run" to verified, and what an
unchanged nightly run costs.

    .venv/bin/python -m bench.stack_runs [--database sqlite|postgresql] [--repeat 3]

Starts `eci-release up` (Docker-backed instances, default latencies), then for each repeat: a `release`
deployment run of a new image (created through the API, as the UI's Run button does; measured from the flow
run's creation to Completed, which the flow reaches only once verified), a first nightly run of a new tree, and
the same nightly again unchanged. Prints one table: wall seconds, API calls and mutating calls (from
localcloud's audit log, the pipeline's own and those OOS made on its behalf), images built.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

import docker
from prefect.settings import PREFECT_API_URL, temporary_settings

from deployments.sample_app import stage_sample_app
from deployments.stack_process import StackProcess
from localcloud import LocalCloudInfo
from localcloud.control_client import ControlClient
from tasks.build import CACHE_LABEL
from tests.stack.support import TARGET, push_web_image, run_and_wait
from tests.support.images import SEEDED_REPOSITORY
from tests.support.sdk import SdkClients


def _measured(control: ControlClient, engine, deployment: str, **parameters) -> dict:
    mark, builds = control.audit_mark(), len(engine.images.list(filters={"label": CACHE_LABEL}))
    started = time.monotonic()
    run = run_and_wait(deployment, **parameters)
    wall = time.monotonic() - started
    calls = [e for e in control.audit(mark) if e["status"] == 200]
    return {
        "state": run.state.name,
        "wall": wall,
        "calls": len(calls),
        "mutating": sum(1 for e in calls if e["mutating"]),
        "built": len(engine.images.list(filters={"label": CACHE_LABEL})) - builds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    state_dir = Path(tempfile.mkdtemp(prefix="eci-release-bench-"))
    state_dir.chmod(0o711)  # the postgres user must enter it
    started = time.monotonic()
    stack = StackProcess.start(state_dir, database=args.database)
    up_seconds = time.monotonic() - started
    cloud = LocalCloudInfo(**stack.info["localcloud"])
    sdk, control, engine = SdkClients.for_cloud(cloud), ControlClient(cloud.control_url), docker.from_env()
    rows = []
    try:
        with temporary_settings(updates={PREFECT_API_URL: stack.info["api_url"]}):
            for n in range(args.repeat):
                name = uuid.uuid4().hex[:8]
                digest = push_web_image(cloud, sdk, f"bench-{name}", name)
                image = {"repository": SEEDED_REPOSITORY, "digest": digest}
                rows.append(
                    (
                        "release run -> verified",
                        _measured(control, engine, "release/release", target=TARGET, image=image),
                    )
                )
                nightly = {
                    "target": TARGET,
                    "image": {"repository": SEEDED_REPOSITORY, "tag": f"nightly-{name}"},
                    "source": {"context": str(stage_sample_app(name, state_dir / "sources" / name))},
                }
                rows.append(("nightly, changed tree", _measured(control, engine, "release/nightly", **nightly)))
                rows.append(("nightly, unchanged", _measured(control, engine, "release/nightly", **nightly)))
    finally:
        stack.stop()
    print(f"\neci-release up ({args.database}): ready in {up_seconds:.1f} s\n")
    print("| run | state | wall (s) | API calls | mutating | images built |\n|---|---|---|---|---|---|")
    for label, row in rows:
        print(f"| {label} | {row['state']} | {row['wall']:.1f} | {row['calls']} | {row['mutating']} | {row['built']} |")


if __name__ == "__main__":
    main()

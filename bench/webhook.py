"""Registry push to verified release on the local stack, and the receiver under a burst of junk.

    .venv/bin/python -m bench.webhook [--repeat 3] [--burst 200]

Starts `eci-release up` (SQLite, Docker-backed instances, default latencies). Then:
- a burst: ``--burst`` authenticated notifications for a repository no rule matches and as many forged ACR
  payloads (wrong token), 16 at a time; prints the answers and latency percentiles;
- ``--repeat`` times, a real `docker push` of a new "v" tag to the stack's registry, followed to the on-push run's
  end; prints where the time goes: the push itself, push done -> event (the registry's notification and the
  receiver's checks), event -> run created (the trigger), created -> running (worker poll and process start),
  running -> verified (the release).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from prefect.settings import PREFECT_API_URL, temporary_settings

from deployments.stack_process import StackProcess
from localcloud import LocalCloudInfo
from tests.stack.support import wait_run
from tests.stack.webhooks import (
    burst,
    docker_push,
    percentiles_ms,
    wait_for_on_push_runs,
    wait_for_pushed_events,
)
from tests.support.images import SEEDED_REPOSITORY
from tests.support.sdk import SdkClients


def _burst(url: str, token: str, count: int) -> None:
    started = time.perf_counter()
    answers = burst(url, token, count)
    wall = time.perf_counter() - started
    print(f"burst: {len(answers)} requests in {wall:.2f} s, answers {dict(Counter(s for s, _ in answers))}")
    print(f"burst latency: {percentiles_ms([seconds for _, seconds in answers])}")


def _push_to_verified(cloud: LocalCloudInfo, sdk: SdkClients, workdir: Path) -> dict[str, float]:
    since = datetime.now(timezone.utc)
    tag = f"v{uuid.uuid4().hex[:8]}"
    started = time.time()
    docker_push(cloud, sdk, SEEDED_REPOSITORY, tag, workdir / tag)
    pushed = time.time()
    [event] = wait_for_pushed_events(since, 1)
    [run] = wait_for_on_push_runs(since, 1)
    run = wait_run(run.id)
    assert run.state.is_completed(), run.state.message
    occurred = event.occurred.timestamp()
    return {
        "docker push": pushed - started,
        "push -> event": occurred - pushed,
        "event -> run": run.created.timestamp() - occurred,
        "run -> running": run.start_time.timestamp() - run.created.timestamp(),
        "running -> verified": run.end_time.timestamp() - run.start_time.timestamp(),
        "push -> verified": run.end_time.timestamp() - pushed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--burst", type=int, default=200)
    args = parser.parse_args()

    state_dir = Path(tempfile.mkdtemp(prefix="eci-release-bench-"))
    state_dir.chmod(0o711)
    stack = StackProcess.start(state_dir, database="sqlite")
    cloud = LocalCloudInfo(**stack.info["localcloud"])
    sdk = SdkClients.for_cloud(cloud)
    try:
        with temporary_settings(updates={PREFECT_API_URL: stack.info["api_url"]}):
            _burst(stack.info["webhook_url"], stack.info["webhook_token"], args.burst)
            rows = [_push_to_verified(cloud, sdk, state_dir) for _ in range(args.repeat)]
    finally:
        stack.stop()
    print(f"{'seconds':24}" + "".join(f"{f'run {n + 1}':>10}" for n in range(len(rows))))
    for column in rows[0]:
        print(f"{column:24}" + "".join(f"{row[column]:10.2f}" for row in rows))


if __name__ == "__main__":
    main()

"""A flow that says where it runs and whether SIGTERM reached it: deployed by tests/stack/test_zygote.py on the stack's
work pool, whose job command is the launcher."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from prefect import flow


def _write(report: Path, **entry) -> None:
    with report.open("a") as file:
        file.write(json.dumps(entry) + "\n")


@flow(name="zygote-probe")
def zygote_probe(report: str, wait_seconds: float = 0) -> None:
    """Write this process's pid, parent pid and environment to ``report``; then wait up to ``wait_seconds`` and write
    what ended the wait."""
    path = Path(report)
    _write(
        path,
        pid=os.getpid(),
        ppid=os.getppid(),
        flow_run_id=os.environ.get("PREFECT__FLOW_RUN_ID"),
        job_variable=os.environ.get("ZYGOTE_PROBE_VARIABLE"),
    )
    try:
        time.sleep(wait_seconds)
    except BaseException as stopped:  # Prefect turns SIGTERM into TerminationSignal in the flow's thread
        _write(path, stopped_by=type(stopped).__name__)
        raise

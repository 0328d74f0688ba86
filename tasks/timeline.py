"""Where a release's time went, on one time axis from the start of the release: the stages the pipeline ran, and
inside them the cloud's own work as the cloud reports it (the probe's scale-out, the OOS execution, each
instance's update). Read once at the end of a run; the cloud's times have a resolution of one second."""

from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import datetime

from blocks.credentials import AlibabaCloudCredentials
from tasks.cloud_views import scaling_activity
from tasks.logs import logger
from tasks.models import Span
from tasks.oos_executions import children, execution


class Stopwatch:
    """The stages' spans (and seconds per stage) as the release runs them."""

    def __init__(self) -> None:
        self.origin = time.time()
        self.spans: list[Span] = []

    @property
    def timings(self) -> dict[str, float]:
        return {span.name: span.seconds for span in self.spans}

    @contextmanager
    def stage(self, name: str):
        started = time.time()
        try:
            yield
        finally:
            self.spans.append(
                Span(
                    name=name,
                    start=round(started - self.origin, 3),
                    seconds=round(time.time() - started, 3),
                    kind="pipeline",
                )
            )


def _epoch(iso: str | None) -> float | None:
    return datetime.fromisoformat(iso).timestamp() if iso else None


def _span(name: str, started: str | None, ended: str | None, origin: float) -> Span | None:
    start, end = _epoch(started), _epoch(ended)
    if start is None or end is None:
        return None
    return Span(name=name, start=round(start - origin, 3), seconds=round(end - start, 3), kind="cloud")


def cloud_spans(
    credentials: AlibabaCloudCredentials, origin: float, executions: list[str], probe_activity_id: str | None
) -> list[Span]:
    """The cloud's own work in the release, as it reports it: the probe's scale-out, each OOS execution (the
    rollout, a rollback) and its instances' updates. [] (and a log line) when it cannot be read, so a report
    never hides the outcome it reports."""
    try:
        spans = []
        if probe_activity_id and (activity := scaling_activity(credentials, probe_activity_id)):
            spans.append(_span(f"probe scale-out {probe_activity_id}", activity.start_time, activity.end_time, origin))
        for execution_id in executions:
            if listed := execution(credentials, execution_id):
                spans.append(_span(f"OOS {execution_id}", listed.start_date, listed.end_date, origin))
            for child in children(credentials, execution_id):
                instance = (child.parameters or {}).get("instanceId", child.execution_id)
                spans.append(_span(f"update {instance}", child.start_date, child.end_date, origin))
        return [s for s in spans if s is not None]
    except Exception as error:
        logger().warning("could not read the cloud's timings for the report: %s", error)
        return []

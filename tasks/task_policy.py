"""How the pipeline's tasks behave in Prefect, declared once.

Every stage task receives credentials (blocks holding secrets) or registry logins, so none of them persists
its result or caches by its inputs: Prefect's result storage would otherwise keep whatever the task returned
or raised, pickled, on disk. Tasks that change the cloud never replay a cached result either. Tasks that are
safe to run again (resolving an image, building, publishing) retry on transient failures only.
"""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff


class TransientFailure(RuntimeError):
    """A failure worth another attempt of the whole task (the registry or the engine hiccupped)."""


def _retry_on_transient(task_, task_run, state) -> bool:
    error = state.result(raise_on_failure=False)
    return isinstance(error, TransientFailure)


def stage_task(name: str):
    """A task that touches the cloud or secrets: no cache, no persisted result, no task-level retry (calls retry
    themselves, in ``tasks/cloud_calls.py``)."""
    return task(name=name, cache_policy=NO_CACHE, persist_result=False)


def repeatable_task(name: str, retries: int = 2):
    """A task that is safe to run again from the start: retried, with jittered backoff, on TransientFailure."""
    return task(
        name=name,
        cache_policy=NO_CACHE,
        persist_result=False,
        retries=retries,
        retry_delay_seconds=exponential_backoff(backoff_factor=2),
        retry_jitter_factor=0.5,
        retry_condition_fn=_retry_on_transient,
    )

"""Running one execution's tasks the way OOS does: each task recorded as a task execution, API tasks calling the
products on the user's behalf (an ``Invoke``), ``ACS::Choice``, ``ACS::WaitFor`` and loops whose items run as
child executions, batch by batch."""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, Iterator

from localcloud.errors import ApiError
from localcloud.gateway.products import Product
from localcloud.kernel import Kernel
from localcloud.oos.batches import calculate_batch, plan_batches
from localcloud.oos.ledger import Ledger
from localcloud.oos.records import CANCELLED, FAILED, FINISHED, SUCCESS, WAITING, ExecutionStopped
from localcloud.oos.templates import TemplateSpec

log = logging.getLogger("localcloud.oos")

END = "ACS::END"
LOOP_ITEM = "{{ ACS::TaskLoopItem }}"
PAUSE_POLL_SECONDS = 0.05  # how often a paused loop looks for NotifyExecution

ExecutionBody = Callable[["ExecutionRun"], None]
# An API call made inside the cloud on the user's behalf: (product, action, parameters) -> the response body.
# Raises ``ApiError``.
Invoke = Callable[[Product, str, dict[str, Any]], dict[str, Any]]


class TaskFailed(Exception):
    """A task failed. ``str()`` is the execution's StatusMessage; ``reason`` is the task's."""

    def __init__(self, task_name: str, reason: str):
        super().__init__(f"Task {task_name} failed: {reason}")
        self.task_name = task_name
        self.reason = reason


@dataclass(frozen=True)
class WaitPolicy:
    """An ``ACS::WaitFor``: poll at most ``attempts`` times, ``delay`` seconds apart, and keep polling past that
    count until ``budget`` seconds have gone by."""

    attempts: int
    delay: float
    budget: float = 0.0


class ExecutionRun:
    """One execution's tasks, run in order on one thread."""

    def __init__(self, kernel: Kernel, ledger: Ledger, invoke: Invoke, execution_id: str) -> None:
        self.kernel = kernel
        self.ledger = ledger
        self._invoke = invoke
        self.execution_id = execution_id

    @cached_property
    def params(self) -> dict[str, Any]:
        return self.ledger.parameters_of(self.execution_id)

    @cached_property
    def region_id(self) -> str:
        return self.ledger.region_of(self.execution_id)

    def call(self, product: Product, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """An API call made by OOS on the user's behalf; raises ``ApiError``."""
        return self._invoke(product, action, params)

    # -- tasks -------------------------------------------------------------------------------------------------

    @contextmanager
    def task(
        self, name: str, action: str, properties: dict[str, Any], *, loop: dict[str, Any] | None = None
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """Record a task around its work: yields ``(task_execution_id, outputs)``; the task succeeds when the
        block ends, fails on ``TaskFailed`` or ``ApiError`` (and the failure propagates as ``TaskFailed``)."""
        self.check_still_running()
        if not self.kernel.sleep(self.kernel.latencies.oos_task_overhead):
            raise ExecutionStopped()
        task_id = self.ledger.begin_task(self.execution_id, name, action, properties, loop=loop)
        outputs: dict[str, Any] = {}
        try:
            yield task_id, outputs
        except ExecutionStopped:
            if not self.kernel.stopping.is_set():  # cancelled: a task begun just as it happened ends with it
                self.ledger.end_task(task_id, CANCELLED, "The execution was cancelled.")
            raise
        except TaskFailed as failure:
            self.ledger.end_task(task_id, FAILED, failure.reason)
            raise TaskFailed(name, failure.reason) from failure
        except ApiError as error:
            reason = f"{properties.get('API', action)} returned {error.code}: {error.message}"
            self.ledger.end_task(task_id, FAILED, reason)
            raise TaskFailed(name, reason) from error
        else:
            self.ledger.end_task(task_id, SUCCESS, outputs=outputs)

    @contextmanager
    def executing_api(
        self, name: str, product: Product, action: str, params: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        """An ``ACS::ExecuteApi`` task whose block makes the call(s) and fills the yielded outputs."""
        with self.task(name, "ACS::ExecuteApi", _api_properties(product, action, params)) as (_, outputs):
            yield outputs

    def api_task(
        self,
        name: str,
        product: Product,
        action: str,
        params: dict[str, Any],
        *,
        outputs: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """An ``ACS::ExecuteApi`` task: one call. Returns the task's outputs, which ``outputs`` selects from the
        response as the template's ValueSelectors do."""
        with self.executing_api(name, product, action, params) as task_outputs:
            response = self.call(product, action, params)
            task_outputs.update(outputs(response) if outputs else {})
        return task_outputs

    def choose(self, name: str, condition: bool, *, then: str, otherwise: str) -> bool:
        """An ``ACS::Choice`` task; returns ``condition`` so the caller branches on it."""
        properties = {"DefaultTask": otherwise, "Choices": [{"NextTask": then}]}
        with self.task(name, "ACS::Choice", properties) as (_, outputs):
            outputs["NextTask"] = then if condition else otherwise
        return condition

    def wait_for(
        self,
        name: str,
        product: Product,
        action: str,
        params: dict[str, Any],
        *,
        select: Callable[[dict[str, Any]], str | None],
        desired: set[str],
        stop: set[str],
        policy: WaitPolicy,
    ) -> None:
        """An ``ACS::WaitFor`` task. ``select`` is the template's PropertySelector: it gets the response, or the
        error body ``{"Code", "Message"}`` when the call fails, as OOS feeds it. Succeeds on a desired value,
        fails on a stop value or when the policy runs out."""
        properties = {
            **_api_properties(product, action, params),
            "DesiredValues": sorted(desired),
            "StopRetryValues": sorted(stop),
        }
        with self.task(name, "ACS::WaitFor", properties) as (_, outputs):
            started = time.monotonic()
            attempt = 0
            while True:
                attempt += 1
                try:
                    response = self.call(product, action, params)
                except ApiError as error:
                    response = {"Code": error.code, "Message": error.message}
                value = select(response)
                if value in desired:
                    outputs["Value"] = value
                    return
                if value in stop:
                    raise TaskFailed(name, f"{action} gave {value}, a stop value. {_described(response)}".strip())
                waited = time.monotonic() - started
                if attempt >= policy.attempts and waited >= policy.budget:
                    raise TaskFailed(
                        name,
                        f"{action} still gave {value} after {attempt} attempts over {waited:.1f}s, waiting for "
                        f"{' or '.join(sorted(desired))}. {_described(response)}".strip(),
                    )
                self.check_still_running()
                if not self.kernel.sleep(policy.delay):
                    raise ExecutionStopped()

    # -- loops -------------------------------------------------------------------------------------------------

    def loop(
        self,
        name: str,
        template: TemplateSpec,
        items: list[str],
        *,
        properties: dict[str, Any],
        body: ExecutionBody,
        batch_number: int,
        batch_pause_option: str,
    ) -> None:
        """A task with ``Loop``: each item runs ``template`` as a child execution whose parameters are
        ``properties`` with ``LOOP_ITEM`` replaced by the item. The items of a batch run at the same time, batch
        after batch. A failed item fails the loop once its batch is done (MaxErrors 0); later batches do not
        start. ``FirstBatchPause``/``EveryBatchPause`` put the execution in Waiting after the first/every batch
        that has another after it, until NotifyExecution."""
        batches = plan_batches(items, batch_number)
        loop_settings = {
            "Items": items,
            "Concurrency": calculate_batch(batch_number, len(items)),
            "BatchPauseOption": batch_pause_option,
            "MaxErrors": 0,
            "Batches": len(batches),
            "CurrentBatch": 0,
        }
        with self.task(name, template.name, properties, loop=loop_settings) as (loop_task_id, _):
            for batch_index, batch in enumerate(batches, start=1):
                self.check_still_running()
                self.ledger.set_current_batch(loop_task_id, batch_index)
                child_ids = self._run_batch(loop_task_id, batch_index, batch, template, properties, body)
                self.check_still_running()
                failures = self._failed_items(batch, child_ids)
                if failures:
                    raise TaskFailed(name, "; ".join(failures))
                is_last = batch_index == len(batches)
                if not is_last and _pauses_after(batch_pause_option, batch_index):
                    self._pause(loop_task_id, batch_index, len(batches), batch_pause_option)

    def _run_batch(
        self,
        loop_task_id: str,
        batch_index: int,
        batch: list[str],
        template: TemplateSpec,
        properties: dict[str, Any],
        body: ExecutionBody,
    ) -> list[str]:
        child_ids = [
            self.ledger.start_loop_item(loop_task_id, item, batch_index, template, _for_item(properties, item))
            for item in batch
        ]
        threads = [
            self.kernel.spawn(
                f"oos-{child_id}", run_execution, ExecutionRun(self.kernel, self.ledger, self._invoke, child_id), body
            )
            for child_id in child_ids
        ]
        for thread in threads:
            thread.join()
        return child_ids

    def _failed_items(self, batch: list[str], child_ids: list[str]) -> list[str]:
        failures = []
        for item, child_id in zip(batch, child_ids):
            status, message = self.ledger.outcome_of(child_id)
            if status != SUCCESS:
                failures.append(f"loop item {item} (child execution {child_id}) {status}: {message}")
        return failures

    def _pause(self, loop_task_id: str, batch_index: int, batch_count: int, option: str) -> None:
        message = (
            f"Paused after batch {batch_index} of {batch_count} (batchPauseOption {option}). Call NotifyExecution "
            f"with NotifyType Approve to run the next batch, or Reject to cancel."
        )
        if not self.ledger.pause(self.execution_id, loop_task_id, message):
            raise ExecutionStopped()
        while self.ledger.status_of(self.execution_id) == WAITING:
            if not self.kernel.sleep(PAUSE_POLL_SECONDS):
                raise ExecutionStopped()
        self.check_still_running()

    def check_still_running(self) -> None:
        """Raise ``ExecutionStopped`` once the execution is cancelled or localcloud is stopping (the ledger raises
        it when OOS state was reset under this run)."""
        if self.kernel.stopping.is_set() or self.ledger.status_of(self.execution_id) in FINISHED:
            raise ExecutionStopped()


def _api_properties(product: Product, action: str, params: dict[str, Any]) -> dict[str, Any]:
    """A task's Properties as OOS shows them for an API call."""
    return {"Service": product.name.upper(), "API": action, "Parameters": params}


def _for_item(properties: dict[str, Any], item: str) -> dict[str, Any]:
    return {name: item if value == LOOP_ITEM else value for name, value in properties.items()}


def _described(response: dict[str, Any]) -> str:
    return f"Last error: {response['Code']}: {response.get('Message', '')}" if "Code" in response else ""


def _pauses_after(batch_pause_option: str, batch_index: int) -> bool:
    return batch_pause_option == "EveryBatchPause" or (batch_pause_option == "FirstBatchPause" and batch_index == 1)


def run_execution(run: ExecutionRun, body: ExecutionBody) -> None:
    """Run an execution's tasks and record how it ended."""
    try:
        status, message = _outcome(run, body)
        run.ledger.finish_execution(run.execution_id, status, message)
    except ExecutionStopped:
        return


def _outcome(run: ExecutionRun, body: ExecutionBody) -> tuple[str, str]:
    try:
        body(run)
    except TaskFailed as failure:
        return FAILED, str(failure)
    except ExecutionStopped:
        raise
    except Exception as exc:  # a bug in localcloud: end the execution saying so rather than leave it Running
        log.exception("OOS execution %s failed", run.execution_id)
        return FAILED, f"localcloud failed running this execution: {exc!r}"
    return SUCCESS, ""

"""The executions and task executions OOS keeps, and the changes the engine (``runner``) makes to them from its
background threads as it runs an execution. Every change happens under the kernel's lock. A record the engine
asks for that is gone (OOS state was reset under a running execution) stops the run: ``ExecutionStopped``."""

from __future__ import annotations

import copy
from dataclasses import asdict
from typing import Any

from localcloud.ids import new_hex_id
from localcloud.kernel import Kernel
from localcloud.oos.records import (
    FAILED,
    RUNNING,
    WAITING,
    Execution,
    ExecutionStopped,
    TaskExecution,
    finish,
    touch,
)
from localcloud.oos.templates import TemplateSpec

RESTARTED_MESSAGE = (
    "localcloud restarted while this execution was {status}, so it stopped part way; whatever it changed stays "
    "changed (suspended scaling processes stay suspended). Start a new execution to finish the job."
)


class Ledger:
    def __init__(self, kernel: Kernel) -> None:
        self._kernel = kernel
        self.executions: dict[str, Execution] = {}
        self.tasks: dict[str, TaskExecution] = {}

    def add(self, execution: Execution) -> None:
        with self._kernel.lock:
            self.executions[execution.execution_id] = execution
            self._kernel.changed()

    # -- what the engine records -------------------------------------------------------------------------------

    def start_loop_item(
        self,
        loop_task_execution_id: str,
        item: str,
        batch_number: int,
        template: TemplateSpec,
        parameters: dict[str, Any],
    ) -> str:
        """Record one loop item: a child task execution of the loop and the child execution it runs.
        Returns the child execution's id; the caller runs it."""
        with self._kernel.lock:
            loop_task = self._task(loop_task_execution_id)
            parent = self._execution(loop_task.execution_id)
            child = Execution(
                execution_id=new_hex_id("exec"),
                template_name=template.name,
                template_id=template.template_id,
                template_version=template.version,
                parameters=template.resolve_parameters(parameters, region_id=parent.region_id),
                region_id=parent.region_id,
                parent_execution_id=parent.execution_id,
                ram_role=parent.ram_role,
                resource_group_id=parent.resource_group_id,
            )
            self.executions[child.execution_id] = child
            item_task = TaskExecution(
                task_execution_id=new_hex_id("task-exec"),
                execution_id=parent.execution_id,
                task_name=loop_task.task_name,
                task_action=loop_task.task_action,
                template_id=parent.template_id,
                properties=parameters,
                parent_task_execution_id=loop_task.task_execution_id,
                child_execution_id=child.execution_id,
                loop_item=item,
                loop_batch_number=batch_number,
            )
            self.tasks[item_task.task_execution_id] = item_task
            self._kernel.changed()
            return child.execution_id

    def begin_task(
        self,
        execution_id: str,
        task_name: str,
        task_action: str,
        properties: dict[str, Any],
        *,
        loop: dict[str, Any] | None = None,
    ) -> str:
        with self._kernel.lock:
            execution = self._execution(execution_id)
            task = TaskExecution(
                task_execution_id=new_hex_id("task-exec"),
                execution_id=execution_id,
                task_name=task_name,
                task_action=task_action,
                template_id=execution.template_id,
                properties=properties,
                loop=loop,
            )
            self.tasks[task.task_execution_id] = task
            touch(execution)
            self._kernel.changed()
            return task.task_execution_id

    def end_task(
        self, task_execution_id: str, status: str, message: str = "", outputs: dict[str, Any] | None = None
    ) -> None:
        """Finish a task; a task already finished (cancelled meanwhile) keeps its status."""
        with self._kernel.lock:
            task = self._task(task_execution_id)
            if task.finished:
                return
            finish(task, status, message)
            task.outputs = outputs or {}
            self._kernel.changed()

    def set_current_batch(self, task_execution_id: str, batch_number: int) -> None:
        with self._kernel.lock:
            task = self._task(task_execution_id)
            assert task.loop is not None, f"{task.task_name} is not a loop"
            task.loop["CurrentBatch"] = batch_number
            touch(task)
            self._kernel.changed()

    def pause(self, execution_id: str, task_execution_id: str, message: str) -> bool:
        """Put a running execution and its loop task in Waiting; False when it is no longer running."""
        with self._kernel.lock:
            execution = self._execution(execution_id)
            if execution.status != RUNNING:
                return False
            task = self._task(task_execution_id)
            for record in (execution, task):
                record.status, record.status_message = WAITING, message
                touch(record)
            self._kernel.changed()
            return True

    def finish_execution(self, execution_id: str, status: str, message: str = "") -> None:
        """End an execution (unless cancelled meanwhile); a child's outcome is also its loop item's."""
        with self._kernel.lock:
            execution = self._execution(execution_id)
            if execution.finished:
                return
            finish(execution, status, message)
            for task in self.tasks.values():
                if task.child_execution_id == execution_id and not task.finished:
                    finish(task, status, message)
            self._kernel.changed()

    # -- what the engine reads ---------------------------------------------------------------------------------

    def parameters_of(self, execution_id: str) -> dict[str, Any]:
        with self._kernel.lock:
            return copy.deepcopy(self._execution(execution_id).parameters)

    def region_of(self, execution_id: str) -> str:
        with self._kernel.lock:
            return self._execution(execution_id).region_id

    def status_of(self, execution_id: str) -> str:
        with self._kernel.lock:
            return self._execution(execution_id).status

    def outcome_of(self, execution_id: str) -> tuple[str, str]:
        """The execution's status and status message."""
        with self._kernel.lock:
            execution = self._execution(execution_id)
            return execution.status, execution.status_message

    def _execution(self, execution_id: str) -> Execution:
        execution = self.executions.get(execution_id)
        if execution is None:
            raise ExecutionStopped()
        return execution

    def _task(self, task_execution_id: str) -> TaskExecution:
        task = self.tasks.get(task_execution_id)
        if task is None:
            raise ExecutionStopped()
        return task

    # -- persistence -------------------------------------------------------------------------------------------

    def clear(self) -> None:
        with self._kernel.lock:
            self.executions.clear()
            self.tasks.clear()

    def to_state(self) -> dict[str, Any]:
        with self._kernel.lock:
            return {
                "executions": [asdict(e) for e in self.executions.values()],
                "task_executions": [asdict(t) for t in self.tasks.values()],
            }

    def from_state(self, state: dict[str, Any]) -> None:
        """Load saved state. Nothing runs across a restart: unfinished executions and tasks come back Failed."""
        with self._kernel.lock:
            self.executions = {e["execution_id"]: Execution(**e) for e in state.get("executions", [])}
            self.tasks = {t["task_execution_id"]: TaskExecution(**t) for t in state.get("task_executions", [])}
            for record in [*self.executions.values(), *self.tasks.values()]:
                if not record.finished:
                    finish(record, FAILED, RESTARTED_MESSAGE.format(status=record.status))

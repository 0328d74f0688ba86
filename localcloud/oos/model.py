"""OOS state and behaviour: executions and their task executions, starting, cancelling, pausing and resuming
them, and persistence. The engine (``runner``, ``rolling_update``, ``update_container_group``) drives the
records from background threads through the methods here; every change happens under ``cloud.lock``."""

from __future__ import annotations

import copy
import time
from collections import Counter
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from localcloud.errors import ApiError
from localcloud.ids import new_hex_id
from localcloud.oos.records import CANCELLED, FAILED, FINISHED, RUNNING, WAITING, Execution, TaskExecution
from localcloud.oos.rolling_update import run_rolling_update
from localcloud.oos.runner import ExecutionBody, run_execution
from localcloud.oos.templates import ROLLING_UPDATE, TemplateSpec

if TYPE_CHECKING:
    from localcloud.cloud import Cloud

# The templates StartExecution runs, and the engine for each. ACS::ESS::UpdateContainerGroup is an action: it runs
# only as the loop's child executions.
STARTABLE: dict[str, tuple[TemplateSpec, ExecutionBody]] = {ROLLING_UPDATE.name: (ROLLING_UPDATE, run_rolling_update)}

RESUMING_NOTIFY_TYPES = {"Approve", "ExecuteTask"}
CANCELLING_NOTIFY_TYPES = {"Reject"}
NOTIFY_TYPES = {"ExecuteTask", "CancelTask", "CompleteExecution", "Approve", "Reject", "RetryTask", "SkipTask"}

RESTARTED_MESSAGE = (
    "localcloud restarted while this execution was {status}, so it stopped part way; whatever it changed stays "
    "changed (suspended scaling processes stay suspended). Start a new execution to finish the job."
)


def execution_not_found(execution_id: str) -> ApiError:
    return ApiError(404, "EntityNotExists.Execution", f"The execution {execution_id!r} does not exist.")


class OosModel:
    def __init__(self, cloud: "Cloud") -> None:
        self._cloud = cloud
        self._executions: dict[str, Execution] = {}
        self._tasks: dict[str, TaskExecution] = {}

    # -- starting ----------------------------------------------------------------------------------------------

    def start_execution(
        self,
        template_name: str,
        parameters: dict[str, Any],
        *,
        region_id: str,
        template_version: str | None = None,
        description: str = "",
        tags: dict[str, str] | None = None,
        loop_mode: str = "Automatic",
        safety_check: str = "ConfirmEveryHighRiskAction",
        resource_group_id: str = "",
    ) -> Execution:
        """Record the execution and run it in the background."""
        with self._cloud.lock:
            if template_name not in STARTABLE:
                raise ApiError(
                    404,
                    "EntityNotExists.Template",
                    f"The template {template_name!r} does not exist. localcloud runs only the public template "
                    f"{', '.join(sorted(STARTABLE))}.",
                )
            template, body = STARTABLE[template_name]
            if template_version and template_version != template.version:
                raise ApiError(
                    404,
                    "EntityNotExists.TemplateVersion",
                    f"The template {template_name} has no version {template_version!r}; localcloud has "
                    f"{template.version}.",
                )
            resolved = template.resolve_parameters(parameters, region_id=region_id)
            execution = Execution(
                execution_id=new_hex_id("exec"),
                template_name=template.name,
                template_id=template.template_id,
                template_version=template.version,
                parameters=resolved,
                region_id=region_id,
                loop_mode=loop_mode,
                safety_check=safety_check,
                description=description,
                tags=dict(tags or {}),
                ram_role=resolved.get("OOSAssumeRole", ""),
                resource_group_id=resource_group_id,
            )
            self._executions[execution.execution_id] = execution
            self._cloud.changed()
            self._cloud.spawn(
                f"oos-{execution.execution_id}", run_execution, self._cloud, self, execution.execution_id, body
            )
            return execution

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
        with self._cloud.lock:
            loop_task = self._tasks[loop_task_execution_id]
            parent = self._executions[loop_task.execution_id]
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
            self._executions[child.execution_id] = child
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
            self._tasks[item_task.task_execution_id] = item_task
            self._cloud.changed()
            return child.execution_id

    # -- the engine's bookkeeping ------------------------------------------------------------------------------

    def begin_task(
        self,
        execution_id: str,
        task_name: str,
        task_action: str,
        properties: dict[str, Any],
        *,
        loop: dict[str, Any] | None = None,
    ) -> str:
        with self._cloud.lock:
            execution = self._executions[execution_id]
            task = TaskExecution(
                task_execution_id=new_hex_id("task-exec"),
                execution_id=execution_id,
                task_name=task_name,
                task_action=task_action,
                template_id=execution.template_id,
                properties=properties,
                loop=loop,
            )
            self._tasks[task.task_execution_id] = task
            self._touch(execution)
            self._cloud.changed()
            return task.task_execution_id

    def end_task(
        self, task_execution_id: str, status: str, message: str = "", outputs: dict[str, Any] | None = None
    ) -> None:
        """Finish a task; a task already finished (cancelled meanwhile) keeps its status."""
        with self._cloud.lock:
            task = self._tasks[task_execution_id]
            if task.finished:
                return
            self._finish(task, status, message)
            task.outputs = outputs or {}
            self._cloud.changed()

    def set_current_batch(self, task_execution_id: str, batch_number: int) -> None:
        with self._cloud.lock:
            task = self._tasks[task_execution_id]
            assert task.loop is not None, f"{task.task_name} is not a loop"
            task.loop["CurrentBatch"] = batch_number
            self._touch(task)
            self._cloud.changed()

    def pause(self, execution_id: str, task_execution_id: str, message: str) -> bool:
        """Put a running execution and its loop task in Waiting; False when it is no longer running."""
        with self._cloud.lock:
            execution = self._executions[execution_id]
            if execution.status != RUNNING:
                return False
            task = self._tasks[task_execution_id]
            for record in (execution, task):
                record.status, record.status_message = WAITING, message
                self._touch(record)
            self._cloud.changed()
            return True

    def finish_execution(self, execution_id: str, status: str, message: str = "") -> None:
        """End an execution (unless cancelled meanwhile); a child's outcome is also its loop item's."""
        with self._cloud.lock:
            execution = self._executions[execution_id]
            if execution.finished:
                return
            self._finish(execution, status, message)
            for task in self._tasks.values():
                if task.child_execution_id == execution_id and not task.finished:
                    self._finish(task, status, message)
            self._cloud.changed()

    # -- what users do -----------------------------------------------------------------------------------------

    def cancel_execution(self, execution_id: str, message: str = "Cancelled by CancelExecution.") -> None:
        """Cancel the execution, its unfinished tasks and its running child executions. What it already changed
        stays changed (suspended processes stay suspended), as in the cloud. Cancelling a finished execution
        does nothing."""
        with self._cloud.lock:
            self._cancel_tree(self.execution(execution_id), message)
            self._cloud.changed()

    def notify_execution(self, execution_id: str, notify_type: str, note: str = "") -> None:
        """Answer a loop paused by batchPauseOption: Approve/ExecuteTask continue it, Reject cancels it."""
        with self._cloud.lock:
            execution = self.execution(execution_id)
            if notify_type not in NOTIFY_TYPES:
                raise ApiError(
                    400,
                    "InvalidParameter",
                    f'The specified value of parameter "NotifyType" is not valid: {notify_type!r}. '
                    f"Valid values: {', '.join(sorted(NOTIFY_TYPES))}.",
                )
            if notify_type not in RESUMING_NOTIFY_TYPES | CANCELLING_NOTIFY_TYPES:
                raise ApiError(
                    400,
                    "InvalidParameter",
                    f"NotifyType {notify_type} does not apply to a paused loop: localcloud continues it on "
                    f"{' or '.join(sorted(RESUMING_NOTIFY_TYPES))} and cancels it on Reject.",
                )
            if execution.status != WAITING:
                raise ApiError(
                    400,
                    "InvalidStatus.Execution",
                    f"The execution {execution_id} is {execution.status}, not Waiting: only a loop paused by "
                    f"batchPauseOption waits for NotifyExecution.",
                )
            if notify_type in CANCELLING_NOTIFY_TYPES:
                self._cancel_tree(execution, f"Rejected by NotifyExecution. {note}".strip())
            else:
                for record in [execution, *self._tasks_of(execution_id, status=WAITING)]:
                    record.status, record.status_message = RUNNING, ""
                    self._touch(record)
            self._cloud.changed()

    # -- queries -----------------------------------------------------------------------------------------------

    def execution(self, execution_id: str) -> Execution:
        with self._cloud.lock:
            execution = self._executions.get(execution_id)
            if execution is None:
                raise execution_not_found(execution_id)
            return execution

    def parameters_of(self, execution_id: str) -> dict[str, Any]:
        with self._cloud.lock:
            return copy.deepcopy(self.execution(execution_id).parameters)

    def status_of(self, execution_id: str) -> str:
        with self._cloud.lock:
            return self.execution(execution_id).status

    def list_executions(
        self,
        *,
        execution_id: str | None = None,
        parent_execution_id: str | None = None,
        template_name: str | None = None,
        status: str | None = None,
        mode: str | None = None,
        tags: dict[str, str] | None = None,
        include_children: bool = False,
        depth: str | None = None,
    ) -> list[Execution]:
        """Matching executions in creation order. Without an id filter only root executions are listed, unless
        ``include_children`` (or ``depth='FirstChildDepth'``, which lists only children)."""
        with self._cloud.lock:
            found = []
            for execution in self._executions.values():
                is_child = bool(execution.parent_execution_id)
                if execution_id is not None:
                    if execution.execution_id != execution_id:
                        continue
                elif parent_execution_id is not None:
                    if execution.parent_execution_id != parent_execution_id:
                        continue
                elif depth == "FirstChildDepth":
                    if not is_child:
                        continue
                elif is_child and not include_children:
                    continue
                if template_name and template_name not in execution.template_name:
                    continue
                if status and execution.status != status:
                    continue
                if mode and execution.mode != mode:
                    continue
                if tags and any(execution.tags.get(k) != v for k, v in tags.items()):
                    continue
                found.append(execution)
            return sorted(found, key=lambda e: (e.created, e.seq))

    def list_task_executions(
        self,
        *,
        execution_id: str | None = None,
        task_execution_id: str | None = None,
        parent_task_execution_id: str | None = None,
        task_name: str | None = None,
        task_action: str | None = None,
        status: str | None = None,
        include_children: bool = False,
    ) -> list[TaskExecution]:
        """Matching task executions in creation order. Loop items are listed only with ``include_children`` or
        when asked for by ``parent_task_execution_id`` or ``task_execution_id``."""
        with self._cloud.lock:
            found = []
            for task in self._tasks.values():
                if execution_id and task.execution_id != execution_id:
                    continue
                if task_execution_id and task.task_execution_id != task_execution_id:
                    continue
                if parent_task_execution_id:
                    if task.parent_task_execution_id != parent_task_execution_id:
                        continue
                elif task.parent_task_execution_id and not (include_children or task_execution_id):
                    continue
                if task_name and task.task_name != task_name:
                    continue
                if task_action and task.task_action != task_action:
                    continue
                if status and task.status != status:
                    continue
                found.append(task)
            return sorted(found, key=lambda t: (t.created, t.seq))

    def has_children(self, execution_id: str) -> bool:
        with self._cloud.lock:
            return any(e.parent_execution_id == execution_id for e in self._executions.values())

    def counters(self, execution_id: str) -> dict[str, int]:
        """The execution's tasks (loop items not counted) by status, with ``Total``."""
        with self._cloud.lock:
            tasks = self._tasks_of(execution_id)
            return {"Total": len(tasks), **Counter(t.status for t in tasks)}

    def current_tasks(self, execution_id: str) -> list[TaskExecution]:
        with self._cloud.lock:
            return [t for t in self._tasks_of(execution_id) if not t.finished]

    def loop_statistics(self, task: TaskExecution) -> dict[str, Any]:
        """A loop task's settings plus how many of its items are in each status."""
        with self._cloud.lock:
            items = [t for t in self._tasks.values() if t.parent_task_execution_id == task.task_execution_id]
            total = len((task.loop or {}).get("Items", []))
            return {**(task.loop or {}), "Total": total, **Counter(t.status for t in items)}

    # -- persistence -------------------------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        with self._cloud.lock:
            return {
                "executions": [asdict(e) for e in self._executions.values()],
                "task_executions": [asdict(t) for t in self._tasks.values()],
            }

    def from_state(self, state: dict[str, Any]) -> None:
        """Load saved state. Nothing runs across a restart: unfinished executions and tasks come back Failed."""
        with self._cloud.lock:
            self._executions = {e["execution_id"]: Execution(**e) for e in state.get("executions", [])}
            self._tasks = {t["task_execution_id"]: TaskExecution(**t) for t in state.get("task_executions", [])}
            for record in [*self._executions.values(), *self._tasks.values()]:
                if not record.finished:
                    self._finish(record, FAILED, RESTARTED_MESSAGE.format(status=record.status))

    # -- internals ---------------------------------------------------------------------------------------------

    def _tasks_of(self, execution_id: str, *, status: str | None = None) -> list[TaskExecution]:
        return [
            t
            for t in self._tasks.values()
            if t.execution_id == execution_id
            and not t.parent_task_execution_id
            and (status is None or t.status == status)
        ]

    def _cancel_tree(self, execution: Execution, message: str) -> None:
        if execution.finished:
            return
        self._finish(execution, CANCELLED, message)
        for task in self._tasks.values():
            if task.execution_id == execution.execution_id and not task.finished:
                self._finish(task, CANCELLED, message)
        for child in self._executions.values():
            if child.parent_execution_id == execution.execution_id:
                self._cancel_tree(child, f"Its parent execution {execution.execution_id} was cancelled.")

    @staticmethod
    def _touch(record: Execution | TaskExecution) -> None:
        record.updated = time.time()

    @staticmethod
    def _finish(record: Execution | TaskExecution, status: str, message: str) -> None:
        assert status in FINISHED, status
        record.status, record.status_message = status, message
        record.ended = record.updated = time.time()

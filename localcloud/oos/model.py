"""OOS as its users see it: starting, cancelling and resuming executions, and listing them and their task
executions. The records are in the ``Ledger``, which the engine (``runner``, ``rolling_update``,
``update_container_group``) updates from background threads; every change happens under the kernel's lock."""

from __future__ import annotations

from collections import Counter
from typing import Any

from localcloud.errors import ApiError
from localcloud.ids import new_hex_id
from localcloud.kernel import Kernel
from localcloud.oos.ledger import Ledger
from localcloud.oos.records import CANCELLED, RUNNING, WAITING, Execution, TaskExecution, finish, touch
from localcloud.oos.rolling_update import run_rolling_update
from localcloud.oos.runner import ExecutionBody, ExecutionRun, Invoke, run_execution
from localcloud.oos.templates import ROLLING_UPDATE, TemplateSpec

# The templates StartExecution runs, and the engine for each. ACS::ESS::UpdateContainerGroup is an action: it runs
# only as the loop's child executions.
STARTABLE: dict[str, tuple[TemplateSpec, ExecutionBody]] = {ROLLING_UPDATE.name: (ROLLING_UPDATE, run_rolling_update)}

RESUMING_NOTIFY_TYPES = {"Approve", "ExecuteTask"}
CANCELLING_NOTIFY_TYPES = {"Reject"}
NOTIFY_TYPES = {"ExecuteTask", "CancelTask", "CompleteExecution", "Approve", "Reject", "RetryTask", "SkipTask"}


def execution_not_found(execution_id: str) -> ApiError:
    return ApiError(404, "EntityNotExists.Execution", f"The execution {execution_id!r} does not exist.")


class OosModel:
    def __init__(self, kernel: Kernel, invoke: Invoke) -> None:
        self._kernel = kernel
        self._invoke = invoke
        self._ledger = Ledger(kernel)

    # -- starting ----------------------------------------------------------------------------------------------

    def start_execution(
        self,
        template_name: str,
        parameters: dict[str, Any],
        *,
        region_id: str | None = None,
        template_version: str | None = None,
        description: str = "",
        tags: dict[str, str] | None = None,
        loop_mode: str = "Automatic",
        safety_check: str = "ConfirmEveryHighRiskAction",
        resource_group_id: str = "",
    ) -> Execution:
        """Record the execution and run it in the background. Without ``region_id``, in the default region."""
        region_id = self.region_of(region_id)
        with self._kernel.lock:
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
            self._ledger.add(execution)
            run = ExecutionRun(self._kernel, self._ledger, self._invoke, execution.execution_id)
            self._kernel.spawn(f"oos-{execution.execution_id}", run_execution, run, body)
            return execution

    # -- what users do -----------------------------------------------------------------------------------------

    def cancel_execution(
        self, execution_id: str, message: str = "Cancelled by CancelExecution.", *, region_id: str | None = None
    ) -> None:
        """Cancel the execution, its unfinished tasks and its running child executions. What it already changed
        stays changed (suspended processes stay suspended), as in the cloud. Cancelling a finished execution
        does nothing."""
        with self._kernel.lock:
            self._cancel_tree(self.execution(execution_id, region_id), message)
            self._kernel.changed()

    def notify_execution(
        self, execution_id: str, notify_type: str, note: str = "", *, region_id: str | None = None
    ) -> None:
        """Answer a loop paused by batchPauseOption: Approve/ExecuteTask continue it, Reject cancels it."""
        with self._kernel.lock:
            execution = self.execution(execution_id, region_id)
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
                    touch(record)
            self._kernel.changed()

    # -- queries -----------------------------------------------------------------------------------------------

    def region_of(self, request_region: str | None) -> str:
        """The region a call acts in: its RegionId, or the cloud's default region."""
        return request_region or self._kernel.region_id

    def execution(self, execution_id: str, region_id: str | None = None) -> Execution:
        """The execution; with ``region_id``, as a caller in that region sees it: an execution lives in the region
        it was started in, and elsewhere it does not exist."""
        with self._kernel.lock:
            execution = self._ledger.executions.get(execution_id)
            if execution is None or (region_id is not None and execution.region_id != region_id):
                raise execution_not_found(execution_id)
            return execution

    def list_executions(
        self,
        *,
        region_id: str | None = None,
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
        with self._kernel.lock:
            found = []
            for execution in self._ledger.executions.values():
                if region_id is not None and execution.region_id != region_id:
                    continue
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
        region_id: str | None = None,
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
        with self._kernel.lock:
            found = []
            for task in self._ledger.tasks.values():
                owner = self._ledger.executions.get(task.execution_id)
                if region_id is not None and (owner is None or owner.region_id != region_id):
                    continue
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
        with self._kernel.lock:
            return any(e.parent_execution_id == execution_id for e in self._ledger.executions.values())

    def counters(self, execution_id: str) -> dict[str, int]:
        """The execution's tasks (loop items not counted) by status, with ``Total``."""
        with self._kernel.lock:
            tasks = self._tasks_of(execution_id)
            return {"Total": len(tasks), **Counter(t.status for t in tasks)}

    def current_tasks(self, execution_id: str) -> list[TaskExecution]:
        with self._kernel.lock:
            return [t for t in self._tasks_of(execution_id) if not t.finished]

    def loop_statistics(self, task: TaskExecution) -> dict[str, Any]:
        """A loop task's settings plus how many of its items are in each status."""
        with self._kernel.lock:
            items = [t for t in self._ledger.tasks.values() if t.parent_task_execution_id == task.task_execution_id]
            total = len((task.loop or {}).get("Items", []))
            return {**(task.loop or {}), "Total": total, **Counter(t.status for t in items)}

    # -- persistence -------------------------------------------------------------------------------------------

    def clear(self) -> None:
        """Forget every execution; runs still going stop at their next step."""
        self._ledger.clear()

    def to_state(self) -> dict[str, Any]:
        return self._ledger.to_state()

    def from_state(self, state: dict[str, Any]) -> None:
        self._ledger.from_state(state)

    # -- internals ---------------------------------------------------------------------------------------------

    def _tasks_of(self, execution_id: str, *, status: str | None = None) -> list[TaskExecution]:
        return [
            t
            for t in self._ledger.tasks.values()
            if t.execution_id == execution_id
            and not t.parent_task_execution_id
            and (status is None or t.status == status)
        ]

    def _cancel_tree(self, execution: Execution, message: str) -> None:
        if execution.finished:
            return
        finish(execution, CANCELLED, message)
        for task in self._ledger.tasks.values():
            if task.execution_id == execution.execution_id and not task.finished:
                finish(task, CANCELLED, message)
        for child in self._ledger.executions.values():
            if child.parent_execution_id == execution.execution_id:
                self._cancel_tree(child, f"Its parent execution {execution.execution_id} was cancelled.")

"""The templates OOS runs here and their parameter declarations, copied from the public YAML
(``reference/oos/``), and the check StartExecution applies to ``Parameters``."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any, Literal

from localcloud.errors import ApiError, invalid_parameter

ParameterType = Literal["String", "Number", "List", "Json"]

_REQUIRED = object()
REGION_OF_EXECUTION = "{{ ACS::RegionId }}"  # a default the engine replaces with the execution's region

ALL_PROCESSES = ["ScaleIn", "ScaleOut", "HealthCheck", "AlarmNotification", "ScheduledAction"]


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    type: ParameterType
    default: Any = _REQUIRED
    allowed_values: tuple[str, ...] = ()
    min_value: int | None = None
    max_value: int | None = None

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED

    def check(self, value: Any) -> Any:
        """The value as the engine uses it; raises a message naming what is wrong."""
        if self.type == "String":
            if not isinstance(value, str):
                raise ValueError(f"must be a String, got {_shown(value)}")
        elif self.type == "Number":
            value = _whole_number(value)
            if value is None:
                raise ValueError("must be a whole Number")
            if self.min_value is not None and value < self.min_value:
                raise ValueError(f"must be at least {self.min_value}, got {value}")
            if self.max_value is not None and value > self.max_value:
                raise ValueError(f"must be at most {self.max_value}, got {value}")
        elif self.type == "List":
            if not isinstance(value, list):
                raise ValueError(f"must be a List (a JSON array), got {_shown(value)}")
        elif self.type == "Json":
            value = _json_value(value)
        if self.allowed_values and value not in self.allowed_values:
            raise ValueError(f"must be one of {', '.join(self.allowed_values)}; got {_shown(value)}")
        return value


@dataclass(frozen=True)
class TemplateSpec:
    name: str
    template_id: str
    version: str
    parameters: tuple[ParameterSpec, ...]

    def resolve_parameters(self, given: dict[str, Any], *, region_id: str) -> dict[str, Any]:
        """Every declared parameter: the given value, checked, or its default. Raises ``InvalidParameter``."""
        declared = {p.name for p in self.parameters}
        unknown = sorted(set(given) - declared)
        if unknown:
            raise self._invalid(
                f"it declares no parameter {', '.join(unknown)}; it takes {', '.join(sorted(declared))}."
            )
        missing = [p.name for p in self.parameters if p.required and p.name not in given]
        if missing:
            raise self._invalid(f"parameter {', '.join(missing)} is required.")
        resolved: dict[str, Any] = {}
        for spec in self.parameters:
            if spec.name not in given:
                resolved[spec.name] = region_id if spec.default == REGION_OF_EXECUTION else copy.deepcopy(spec.default)
                continue
            try:
                resolved[spec.name] = spec.check(given[spec.name])
            except ValueError as exc:
                raise self._invalid(f"parameter {spec.name} {exc}.") from exc
        return resolved

    def _invalid(self, why: str) -> ApiError:
        return invalid_parameter("Parameters", f"Template {self.name}: {why}")


def _shown(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else repr(value)


def _whole_number(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value) if float(value).is_integer() else None


def _json_value(value: Any) -> Any:
    """A Json parameter is an object or array, or a string holding one (OOS accepts both)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"must be JSON: {exc.msg}") from exc
    if not isinstance(value, (dict, list)):
        raise ValueError(f"must be a JSON object or array, got {_shown(value)}")
    return value


ROLLING_UPDATE = TemplateSpec(
    name="ACS-ESS-RollingUpdateByUpdateContainerGroup",
    template_id="t-94ed0a9b1d5b4d9e9f3e",
    version="v1",
    parameters=(
        ParameterSpec("invokeType", "String", allowed_values=("invoke", "rollback")),
        ParameterSpec("scalingGroupId", "String"),
        ParameterSpec("enterProcess", "List", default=ALL_PROCESSES),
        ParameterSpec("exitProcess", "List", default=ALL_PROCESSES),
        ParameterSpec("containerConfigure", "Json"),
        ParameterSpec("sourceContainerConfigure", "Json", default={}),
        ParameterSpec(
            "updateType", "String", default="IncrementalUpdate", allowed_values=("RenewUpdate", "IncrementalUpdate")
        ),
        ParameterSpec("sourceExecutionId", "String", default=""),
        ParameterSpec("scalingConfigurationId", "String"),
        ParameterSpec(
            "batchPauseOption",
            "String",
            default="Automatic",
            allowed_values=("Automatic", "FirstBatchPause", "EveryBatchPause"),
        ),
        ParameterSpec("batchNumber", "Number", default=5, min_value=1, max_value=100),
        ParameterSpec("maxErrors", "Number", default=0),  # declared, but the template's Loop does not use it
        ParameterSpec("OOSAssumeRole", "String", default=""),
    ),
)

UPDATE_CONTAINER_GROUP = TemplateSpec(
    name="ACS::ESS::UpdateContainerGroup",
    template_id="t-3c4f1f5b0d6e4a2b8c7d",
    version="v1",
    parameters=(
        ParameterSpec("regionId", "String", default=REGION_OF_EXECUTION),
        ParameterSpec("rollBack", "String", default="false", allowed_values=("true", "false")),
        ParameterSpec("containerConfigure", "Json"),
        ParameterSpec("instanceId", "String"),
        ParameterSpec("scalingGroupId", "String"),
        ParameterSpec("updateType", "String", default="IncrementalUpdate"),
    ),
)

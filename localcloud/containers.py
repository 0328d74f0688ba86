"""Container definitions in one internal shape, whichever API they came through.

ESS 2022 scaling configurations name the lists ``Ports``, ``EnvironmentVars``, ``Commands``, ``Args``; ECI's
UpdateContainerGroup (and the OOS templates, which use the 2014 names) say ``Port``, ``EnvironmentVar``,
``Command``, ``Arg``. Internally a container is a dict in the DescribeContainerGroups response shape.
"""

from __future__ import annotations

from typing import Any

from localcloud.errors import invalid_parameter, missing_parameter
from localcloud.gateway.wire import as_bool, as_list
from localcloud.runtime.base import ContainerSpec

_LIST_ALIASES = {"Port": "Ports", "EnvironmentVar": "EnvironmentVars", "Command": "Commands", "Arg": "Args"}
_NUMBERS = ("Cpu", "Memory")
_INTEGERS = ("Gpu",)
_BOOLEANS = ("Tty", "Stdin", "StdinOnce")


def normalize_container(raw: Any, where: str) -> dict[str, Any]:
    """One container from request parameters -> the internal shape. ``where`` names the parameter for errors."""
    if not isinstance(raw, dict):
        raise invalid_parameter(where, "Each container must be a structure with at least Name.")
    container: dict[str, Any] = {}
    for key, value in raw.items():
        key = _LIST_ALIASES.get(key, key)
        if key in ("Commands", "Args"):
            container[key] = [str(v) for v in as_list(value)]
        elif key == "Ports":
            container[key] = [_port(p, f"{where}.Ports") for p in as_list(value)]
        elif key == "EnvironmentVars":
            container[key] = [{"Key": str(e.get("Key", "")), "Value": str(e.get("Value", ""))} for e in as_list(value)]
        elif key in _NUMBERS:
            try:
                container[key] = float(value)
            except (TypeError, ValueError) as exc:
                raise invalid_parameter(f"{where}.{key}", "It must be a number.") from exc
        elif key in _INTEGERS:
            try:
                container[key] = int(value)
            except (TypeError, ValueError) as exc:
                raise invalid_parameter(f"{where}.{key}", "It must be an integer.") from exc
        elif key in _BOOLEANS:
            container[key] = as_bool(value)
        else:
            container[key] = value
    if not container.get("Name"):
        raise missing_parameter(f"{where}.Name")
    return container


def _port(raw: Any, where: str) -> dict[str, Any]:
    entry = raw if isinstance(raw, dict) else {"Port": raw}
    try:
        port = int(entry.get("Port"))
    except (TypeError, ValueError) as exc:
        raise invalid_parameter(f"{where}.Port", "It must be a port number from 1 to 65535.") from exc
    if not 1 <= port <= 65535:
        raise invalid_parameter(f"{where}.Port", "It must be a port number from 1 to 65535.")
    return {"Port": port, "Protocol": str(entry.get("Protocol") or "TCP").upper()}


def normalize_containers(raw: Any, where: str) -> list[dict[str, Any]]:
    return [normalize_container(c, f"{where}.{i}") for i, c in enumerate(as_list(raw), start=1)]


def apply_update(
    current: list[dict[str, Any]], changes: list[dict[str, Any]], update_type: str
) -> list[dict[str, Any]]:
    """``RenewUpdate`` replaces the list; ``IncrementalUpdate`` merges each change into the container of the same
    Name (only the given fields change) and appends containers with new names."""
    if update_type == "RenewUpdate":
        result = [dict(c) for c in changes]
    elif update_type == "IncrementalUpdate":
        result = [dict(c) for c in current]
        by_name = {c["Name"]: c for c in result}
        for change in changes:
            if change["Name"] in by_name:
                by_name[change["Name"]].update(change)
            else:
                result.append(dict(change))
    else:
        raise invalid_parameter("ContainersUpdateType", "Valid values: RenewUpdate, IncrementalUpdate.")
    for i, container in enumerate(result, start=1):
        if not container.get("Image"):
            raise missing_parameter(f"Containers.{i}.Image")
    return result


def to_spec(container: dict[str, Any]) -> ContainerSpec:
    return ContainerSpec(
        name=container["Name"],
        image=container["Image"],
        ports=tuple(p["Port"] for p in container.get("Ports", [])),
        commands=tuple(container.get("Commands", [])),
        args=tuple(container.get("Args", [])),
        environment=tuple((e["Key"], e["Value"]) for e in container.get("EnvironmentVars", [])),
    )

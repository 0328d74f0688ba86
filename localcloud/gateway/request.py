"""One API call as the products see it: the action, its parsed parameters and typed accessors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from localcloud.errors import invalid_parameter, missing_parameter
from localcloud.gateway.wire import as_bool, as_json, as_list


@dataclass
class ApiRequest:
    action: str
    params: dict[str, Any]
    caller: str = "api"  # "api" for calls over HTTP, or the service that made it on the user's behalf ("oos")
    access_key_id: str = ""
    request_id: str = ""

    def get(self, name: str, default: Any = None) -> Any:
        value = self.params.get(name)
        return default if value is None or value == "" else value

    def str(self, name: str, *, required: bool = False, default: str | None = None) -> str | None:
        value = self.get(name)
        if value is None:
            if required:
                raise missing_parameter(name)
            return default
        if not isinstance(value, str):
            raise invalid_parameter(name, "It must be a string.")
        return value

    def int(self, name: str, *, required: bool = False, default: int | None = None) -> int | None:
        value = self.get(name)
        if value is None:
            if required:
                raise missing_parameter(name)
            return default
        try:
            return int(str(value))
        except ValueError as exc:
            raise invalid_parameter(name, "It must be an integer.") from exc

    def float(self, name: str, *, default: float | None = None) -> float | None:
        value = self.get(name)
        if value is None:
            return default
        try:
            return float(str(value))
        except ValueError as exc:
            raise invalid_parameter(name, "It must be a number.") from exc

    def bool(self, name: str, *, default: bool = False) -> bool:
        return as_bool(self.get(name), default)

    def list(self, name: str, *, required: bool = False) -> list[Any]:
        values = as_list(self.get(name))
        if required and not values:
            raise missing_parameter(f"{name}.1")
        return values

    def json(self, name: str, *, required: bool = False) -> Any:
        value = as_json(self.get(name), name)
        if value is None and required:
            raise missing_parameter(name)
        return value

    @property
    def region_id(self) -> str | None:
        return self.str("RegionId")

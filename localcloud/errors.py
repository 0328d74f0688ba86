"""API errors in the gateway's shape: HTTP status, code and message."""

from __future__ import annotations


class ApiError(Exception):
    """An error answered to the caller as ``{"RequestId","HostId","Code","Message","Recommend"}``."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def missing_parameter(name: str) -> ApiError:
    return ApiError(
        400,
        "MissingParameter",
        f'The input parameter "{name}" that is mandatory for processing this request is not supplied.',
    )


def invalid_parameter(name: str, why: str = "") -> ApiError:
    detail = f" {why}" if why else ""
    return ApiError(400, "InvalidParameter", f'The specified value of parameter "{name}" is not valid.{detail}')


def throttled(retry_after_ms: int) -> ApiError:
    return ApiError(
        400,
        "Throttling.User",
        "Request was denied due to user flow control.",
        headers={"x-acs-retry-after": str(retry_after_ms)},
    )

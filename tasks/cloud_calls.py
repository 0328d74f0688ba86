"""Calling the cloud: retry what is transient (throttling, 5xx, dropped connections) with jittered
exponential backoff, and nothing else; and turn API errors into messages that say what went wrong."""

from __future__ import annotations

import random
import time
from typing import Callable, TypeVar

from alibabacloud_credentials.exceptions import CredentialException
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException, ThrottlingException
from darabonba.exceptions import RetryError, UnretryableException

from tasks.logs import logger

T = TypeVar("T")

RETRYABLE_CODES = {"ServiceUnavailable", "InternalError"}  # besides every Throttling* code


class CloudCallFailed(RuntimeError):
    """A call the cloud refused for good; the message names the call, the code and what the cloud said."""

    def __init__(self, what: str, error: BaseException):
        super().__init__(f"{what} failed: {describe(error)}")
        self.code = getattr(error, "code", None)
        self.status_code = getattr(error, "status_code", None)
        self.transient = is_transient(error)  # still failing after every retry, but not the cloud's answer


def is_hiccup(error: BaseException) -> bool:
    """A read that failed for a transient reason even after its retries: a wait should go on, not end."""
    return isinstance(error, CloudCallFailed) and error.transient


def is_transient(error: BaseException) -> bool:
    if isinstance(error, ThrottlingException):
        return True
    if isinstance(error, AlibabaCloudException):
        code = error.code or ""
        return code in RETRYABLE_CODES or code.startswith("Throttling") or (error.status_code or 0) >= 500
    # The SDK wraps network failures (refused, reset, timed out) as UnretryableException around a RetryError;
    # it wraps other things too (a body that is not JSON), which are not transient.
    if isinstance(error, UnretryableException):
        return isinstance(getattr(error, "inner_exception", None), RetryError)
    return isinstance(error, ConnectionError)


def backoff_delays(attempts: int, base: float, cap: float) -> list[float]:
    """Full-jitter exponential backoff: a random delay up to base * 2**n, capped."""
    return [random.uniform(0, min(cap, base * 2**n)) for n in range(attempts - 1)]


def call(operation: Callable[[], T], *, what: str, attempts: int = 6, base: float = 0.2, cap: float = 5.0) -> T:
    """Run one API call, retrying transient failures. ``what`` names the call in logs and errors; a failure
    that is not transient (or still fails after the last attempt) raises ``CloudCallFailed``.

    A call that creates something must carry a ClientToken, so that a retry after a response was lost (the
    request may have succeeded) does not create it twice."""
    delays = backoff_delays(attempts, base, cap)
    for attempt in range(attempts):
        try:
            return operation()
        except Exception as error:
            if not is_transient(error) or attempt == attempts - 1:
                if isinstance(error, (AlibabaCloudException, UnretryableException, CredentialException)):
                    raise CloudCallFailed(what, error) from error
                raise
            delay = delays[attempt]
            retry_after = getattr(error, "retry_after", None)
            if retry_after:
                delay = max(delay, retry_after / 1000)
            logger().warning(  # the run logger inside a flow: retries show in the UI
                "%s: transient error (%s), retry %d/%d in %.2fs",
                what,
                describe(error),
                attempt + 1,
                attempts - 1,
                delay,
            )
            time.sleep(delay)
    raise AssertionError("unreachable")


def describe(error: BaseException) -> str:
    """A one-line account of an API error: code and message, without the SDK's response dump."""
    if isinstance(error, AlibabaCloudException):
        message = (error.message or "").split(" request id:")[0]
        return f"{error.code} (HTTP {error.status_code}): {message}"
    if isinstance(error, CredentialException):
        return (
            f"no usable credentials ({error.message}): set ALIBABA_CLOUD_ACCESS_KEY_ID and "
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET, a credentials file, or a RAM role, or pick a credentials block"
        )
    return f"{type(error).__name__}: {error}"

"""Calling the cloud: take a slot of the call's rate limit when there is one (``tasks/rate_limits.py``), retry what
is transient (throttling, 5xx, dropped connections) with jittered exponential backoff, and nothing else; and turn
API errors into messages that say what went wrong."""

from __future__ import annotations

import random
import socket
import ssl
import time
from http.client import RemoteDisconnected
from typing import Callable, TypeVar

import requests
import urllib3
from alibabacloud_credentials.exceptions import CredentialException
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException, ThrottlingException
from darabonba.exceptions import RetryError, UnretryableException
from requests.exceptions import RequestException
from urllib3.exceptions import (
    ConnectTimeoutError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from tasks.logs import logger
from tasks.rate_limits import rate_key, take_slot

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
    """Run one API call, retrying transient failures. ``what`` names the call in logs and errors, as ``product
    Action`` (``ess DescribeScalingGroups``), which is also the rate limit each attempt takes a slot of; a failure
    that is not transient (or still fails after the last attempt) raises ``CloudCallFailed``.

    A call that creates something must carry a ClientToken, so that a retry after a response was lost (the
    request may have succeeded) does not create it twice."""
    delays = backoff_delays(attempts, base, cap)
    limited = rate_key(what)
    for attempt in range(attempts):
        if limited:
            take_slot(limited)
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
    if isinstance(error, AlibabaCloudException):  # the cloud answered
        message = (error.message or "").split(" request id:")[0]
        return f"{error.code} (HTTP {error.status_code}): {message}"
    network = _network_failure(error)
    if network:
        return network
    if isinstance(error, CredentialException):
        return (
            f"no usable credentials ({error.message}): set ALIBABA_CLOUD_ACCESS_KEY_ID and "
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET, a credentials file, or a RAM role, or pick a credentials block"
        )
    return f"{type(error).__name__}: {error}"


def _causes(error: BaseException) -> list[BaseException]:
    """``error`` and everything it wraps, outermost first: the SDK's ``inner_exception``, the exception a
    ``RetryError`` was raised while handling, requests' wrapped urllib3 error, urllib3's ``reason`` and
    ``original_error``."""
    seen: list[BaseException] = []
    todo: list[BaseException] = [error]
    while todo and len(seen) < 32:
        current = todo.pop(0)
        if any(current is s for s in seen):
            continue
        seen.append(current)
        for nested in (
            getattr(current, "inner_exception", None),
            getattr(current, "reason", None),
            getattr(current, "original_error", None),
            *(current.args[:1] if isinstance(current, RequestException) else ()),
            current.__cause__,
            current.__context__,
        ):
            if isinstance(nested, BaseException):
                todo.append(nested)
    return seen


def _is_connect_timeout(error: BaseException) -> bool:
    # urllib3's NewConnectionError subclasses ConnectTimeoutError, whatever the failure was
    return isinstance(error, (ConnectTimeoutError, requests.exceptions.ConnectTimeout)) and not isinstance(
        error, NewConnectionError
    )


_REASONS: list[tuple[Callable[[BaseException], bool], str, bool]] = [
    # (is it this, in a few words, before a connection was made)
    (lambda e: isinstance(e, (NameResolutionError, socket.gaierror)), "host name not found", True),
    (lambda e: isinstance(e, ConnectionRefusedError), "connection refused", True),
    (lambda e: isinstance(e, (ReadTimeoutError, requests.exceptions.ReadTimeout)), "no answer in time", False),
    (_is_connect_timeout, "timed out", True),
    (lambda e: isinstance(e, ConnectionResetError), "connection reset", False),
    (lambda e: isinstance(e, (RemoteDisconnected, ProtocolError)), "connection closed without an answer", False),
    (lambda e: isinstance(e, (urllib3.exceptions.SSLError, ssl.SSLError)), "TLS handshake failed", True),
]


def _reason(causes: list[BaseException]) -> tuple[str, bool] | None:
    """Why no answer came, in a few words, and whether it happened before a connection was made."""
    for matches, reason, connecting in _REASONS:
        if any(matches(cause) for cause in causes):
            return reason, connecting
    for cause in reversed(causes):  # innermost first: the socket's own words
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror.lower(), True
    return None


def _network_failure(error: BaseException) -> str | None:
    """For a call that got no answer (refused, timed out, name not found, dropped): where it went and why.

    The endpoint is named from the request, not from the error: for a plain-HTTP loopback endpoint the SDK is
    given the endpoint itself as its proxy (blocks/endpoints.py), so urllib3 calls a refused connection to the
    endpoint "Unable to connect to proxy" although no proxy is set."""
    causes = _causes(error)
    if not any(isinstance(c, (RetryError, RequestException, urllib3.exceptions.HTTPError, OSError)) for c in causes):
        return None
    found = _reason(causes)
    if found is None:
        return None
    reason, connecting = found
    url = _url(error, causes)
    proxy = _real_proxy(causes, url)
    if proxy:
        return f"could not connect to proxy {proxy} ({reason}) for {url}: check HTTP_PROXY / HTTPS_PROXY"
    if connecting:
        return f"could not connect to {url} ({reason}): check --endpoint / ECI_RELEASE_ENDPOINT"
    return f"{url} did not answer ({reason})"


def _url(error: BaseException, causes: list[BaseException]) -> str:
    request = getattr(error, "last_request", None)  # the SDK's request: protocol and Host header
    host = (getattr(request, "headers", None) or {}).get("host")
    if host:
        return f"{request.protocol or 'https'}://{host}"
    for cause in causes:
        pool = getattr(cause, "pool", None)
        if pool is not None and getattr(pool, "host", None):
            return f"{pool.scheme}://{pool.host}" + (f":{pool.port}" if pool.port else "")
    return "the endpoint"


def _real_proxy(causes: list[BaseException], url: str) -> str | None:
    """The proxy that could not be reached, when the call went through one other than the endpoint itself."""
    if not any(isinstance(cause, urllib3.exceptions.ProxyError) for cause in causes):
        return None
    for cause in causes:
        proxy = getattr(getattr(cause, "pool", None), "proxy", None)
        if proxy is not None:
            shown = f"{proxy.scheme}://{proxy.netloc}"
            return None if shown == url or proxy.netloc == url.partition("://")[2] else shown
    return None

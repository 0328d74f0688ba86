"""Writing a Prefect variable in one API call.

``Variable.set(..., overwrite=True)`` makes three (read, update, read back); a release record is written before
each step that changes the cloud, so those calls sit on the release's path. Here a write is one update, and a
create only for a variable not there yet.

A Prefect server on SQLite answers an update with 503 whenever another write lands between the update's read and
its write (the server reads the variable first, and SQLite cannot upgrade that stale read to a write, so it fails
at once rather than waiting). Prefect's client sleeps 2 s before each retry of a 503, far longer than the collision
lasts: on a shell's temporary server about one record write in four paid it. So an update is first tried a few
times here with a short, jittered backoff, and only then handed to Prefect's own retries (at once for what they
handle and this does not: a dropped connection, a timeout, a CSRF token to renew).
"""

from __future__ import annotations

import random
import time

import httpx
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.actions import VariableCreate, VariableUpdate
from prefect.types import StrictVariableValue

# What Prefect's client retries on a response; the rest are answers.
_TRANSIENT = {
    httpx.codes.TOO_MANY_REQUESTS,
    httpx.codes.BAD_GATEWAY,
    httpx.codes.SERVICE_UNAVAILABLE,
    httpx.codes.REQUEST_TIMEOUT,
}
QUICK_TRIES = 4
QUICK_BACKOFF_SECONDS = 0.05  # doubled after each try, with jitter: about 0.05 + 0.1 + 0.2 s in all


def _update(client: SyncPrefectClient, update: VariableUpdate) -> httpx.Response:
    http = client._client  # the API's base URL, auth and headers; its own send would sleep 2 s on a 503
    request = http.build_request(
        "PATCH", f"/variables/name/{update.name}", json=update.model_dump(mode="json", exclude_unset=True)
    )
    for attempt in range(QUICK_TRIES - 1):
        http._add_csrf_headers(request)  # what Prefect's send adds to a change (a no-op unless CSRF is on)
        try:
            response = httpx.Client.send(http, request)
        except httpx.TransportError:
            break  # a dropped connection or a timeout: Prefect's own retries know those
        if response.status_code == httpx.codes.FORBIDDEN:
            break  # perhaps a stale CSRF token, which Prefect's send renews
        if response.status_code not in _TRANSIENT:
            return response
        time.sleep(QUICK_BACKOFF_SECONDS * 2**attempt * random.uniform(0.5, 1.5))
    try:
        return http.send(request)  # the last try, with Prefect's retries
    except httpx.HTTPStatusError as error:
        return error.response


def write_variable(name: str, value: StrictVariableValue) -> None:
    with get_client(sync_client=True) as client:
        response = _update(client, VariableUpdate(name=name, value=value))
        if response.status_code == httpx.codes.NOT_FOUND:
            client.create_variable(variable=VariableCreate(name=name, value=value))
            return
        response.raise_for_status()

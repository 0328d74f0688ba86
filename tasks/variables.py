"""Writing a Prefect variable in one API call.

``Variable.set(..., overwrite=True)`` makes three (read, update, read back); a release record is written before
each step that changes the cloud, so those calls sit on the release's path. Here a write is one update, and a
create only for a variable not there yet.
"""

from __future__ import annotations

import httpx
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import VariableCreate, VariableUpdate
from prefect.types import StrictVariableValue


def write_variable(name: str, value: StrictVariableValue) -> None:
    with get_client(sync_client=True) as client:
        try:
            client.update_variable(variable=VariableUpdate(name=name, value=value))
        except httpx.HTTPStatusError as error:
            if error.response.status_code != httpx.codes.NOT_FOUND:
                raise
            client.create_variable(variable=VariableCreate(name=name, value=value))

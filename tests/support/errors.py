"""Catching the SDK's errors to assert on what the API answered."""

from __future__ import annotations

from typing import Any, Callable

import pytest
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException


def api_error(call: Callable[[], Any]) -> AlibabaCloudException:
    """Run ``call``, which must fail with an API error, and return that error (``.code``, ``.status_code``)."""
    with pytest.raises(AlibabaCloudException) as raised:
        call()
    return raised.value

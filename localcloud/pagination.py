"""The two pagination styles the APIs use: page number + page size, and an opaque next token."""

from __future__ import annotations

from typing import Sequence, TypeVar

from localcloud.errors import invalid_parameter
from localcloud.gateway.request import ApiRequest

T = TypeVar("T")


def page_by_number(
    items: Sequence[T],
    req: ApiRequest,
    *,
    default_size: int = 10,
    max_size: int = 50,
    number_name: str = "PageNumber",
    size_name: str = "PageSize",
) -> tuple[list[T], int, int]:
    """Returns (page, page_number, page_size)."""
    number = req.int(number_name, default=1)
    size = req.int(size_name, default=default_size)
    if number < 1:
        raise invalid_parameter(number_name, "It must be 1 or more.")
    if not 1 <= size <= max_size:
        raise invalid_parameter(size_name, f"It must be from 1 to {max_size}.")
    start = (number - 1) * size
    return list(items[start : start + size]), number, size


def page_by_token(
    items: Sequence[T],
    req: ApiRequest,
    *,
    limit_name: str = "MaxResults",
    default_limit: int = 50,
    max_limit: int = 100,
) -> tuple[list[T], str]:
    """Returns (page, next_token); the token is the offset of the next page, empty on the last page."""
    limit = req.int(limit_name, default=default_limit)
    if not 1 <= limit <= max_limit:
        raise invalid_parameter(limit_name, f"It must be from 1 to {max_limit}.")
    token = req.str("NextToken")
    try:
        start = int(token) if token else 0
    except ValueError as exc:
        raise invalid_parameter("NextToken", "Use the NextToken of the previous response.") from exc
    page = list(items[start : start + limit])
    next_token = str(start + limit) if start + limit < len(items) else ""
    return page, next_token

"""Request parameters as the SDKs send them, and JSON bodies as the SDKs parse them.

The SDKs flatten lists to ``Key.1``, ``Key.2`` (1-based), structs to ``Key.N.Sub`` and send booleans as
``True``/``False``. ``unflatten`` turns such a flat mapping back into nested lists and dicts.
"""

from __future__ import annotations

import json
from typing import Any


def _is_index(part: str) -> bool:
    return part.isdigit() and int(part) >= 1


def unflatten(flat: dict[str, str]) -> dict[str, Any]:
    """``{"A.1.B": "x", "A.2.B": "y", "C": "z"}`` -> ``{"A": [{"B": "x"}, {"B": "y"}], "C": "z"}``."""
    tree: dict[str, Any] = {}
    for key, value in flat.items():
        parts = key.split(".")
        node: dict[str, Any] = tree
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if last:
                node[part] = value
            else:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = {}
                    node[part] = child
                node = child
    return _lists_from_indexed_dicts(tree)


def _lists_from_indexed_dicts(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {k: _lists_from_indexed_dicts(v) for k, v in node.items()}
    if converted and all(_is_index(k) for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


def as_bool(value: Any, default: bool = False) -> bool:
    """Booleans arrive as ``True``/``False`` (Python ``str()``), sometimes ``true``/``false``."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() == "true"


def as_json(value: Any, name: str) -> Any:
    """Decode a parameter that the SDK sends as one JSON string (ids lists, ``Overrides``, ``Parameters``)."""
    from localcloud.errors import invalid_parameter

    if value is None or value == "":
        return None
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise invalid_parameter(name, f"It must be JSON: {exc.msg}.") from exc


def as_list(value: Any) -> list[Any]:
    """A ``Key.N`` list; a single scalar (``Key=x``) counts as a list of one."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [value]
    return [value]

"""Response bodies for ``Format=XML``, shaped as the gateway shapes them.

The root element is the action's name plus ``Response``; a JSON list becomes repeated elements named after its key
(``"RemovalPolicies": ["A", "B"]`` -> ``<RemovalPolicies>A</RemovalPolicies><RemovalPolicies>B</RemovalPolicies>``)
and an empty list one empty element, as the SDKs' own XML writer (darabonba) has it; booleans are ``true``/``false``
and absent values are left out. Errors are ``<Error>`` with the ``Recommend`` URL in
CDATA, sent as ``text/xml;charset=utf-8``, the one content type the SDKs read an XML error body from.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

CONTENT_TYPE = "text/xml;charset=utf-8"
_DECLARATION = "<?xml version='1.0' encoding='UTF-8'?>"


def wants_xml(params: dict[str, str]) -> bool:
    return params.get("Format", "").upper() == "XML"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def _elements(name: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "".join(_elements(name, item) for item in value) if value else f"<{name}></{name}>"
    if isinstance(value, dict):
        inner = "".join(_elements(key, item) for key, item in value.items())
    else:
        inner = _text(value)
    return f"<{name}>{inner}</{name}>"


def response(action: str, body: dict[str, Any]) -> bytes:
    return (_DECLARATION + _elements(f"{action}Response", body)).encode()


def error(body: dict[str, str]) -> bytes:
    """``body`` holds RequestId, HostId, Code, Message and Recommend (a URL of ours: no ``]]>`` in it), in order."""
    fields = "".join(_elements(key, value) for key, value in body.items() if key != "Recommend")
    return f"{_DECLARATION}<Error>{fields}<Recommend><![CDATA[{body['Recommend']}]]></Recommend></Error>".encode()

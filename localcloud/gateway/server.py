"""The Alibaba API endpoint: RPC over ``POST /`` and ``GET /``, one port for every product.

Order of checks, as on the real gateway: which product and action, who is calling (signature), faults set
through the control endpoint, then the action itself. Bodies are JSON unless the request says ``Format=XML``.
"""

from __future__ import annotations

import json
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from localcloud.cloud import Cloud
from localcloud.errors import ApiError, throttled
from localcloud.gateway import xml_body
from localcloud.gateway.auth import Authenticator
from localcloud.gateway.products import PRODUCTS_BY_VERSION, Product
from localcloud.gateway.request import ApiRequest
from localcloud.gateway.signing import RPC_COMMON_PARAMETERS
from localcloud.gateway.wire import unflatten
from localcloud.ids import new_request_id

_JSON = "application/json;charset=utf-8"


class DropConnection(Exception):
    """A fault: close the socket without answering."""


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], cloud: Cloud) -> None:
        self.cloud = cloud
        self.authenticator = Authenticator(cloud.access_keys)
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: GatewayServer
    protocol_version = "HTTP/1.1"
    # As on the control endpoint: headers and body go in two sends, and Nagle's delay meeting the client's delayed
    # ACK made a call that followed another wait about 40 ms.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
        pass  # the request line holds every parameter (env values, v1 signatures): the audit log is the record

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve()

    def do_POST(self) -> None:  # noqa: N802
        self._serve()

    def _serve(self) -> None:
        request_id = new_request_id()
        product: Product | None = None
        action = ""
        reached_action = False  # past this point ``Cloud.call`` audits the call itself
        self._xml_action: str | None = None  # the action an XML answer is named after; None answers JSON
        try:
            url = urlsplit(self.path)
            query = parse_qsl(url.query, keep_blank_values=True)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {name.lower(): value for name, value in self.headers.items()}
            params = query + self._form_params(headers, body)
            flat = dict(params)
            action = headers.get("x-acs-action") or flat.get("Action", "")
            if xml_body.wants_xml(flat):
                self._xml_action = action
            version = headers.get("x-acs-version") or flat.get("Version", "")
            product = self._product(url.path, action, version)
            access_key_id = self.server.authenticator.authenticate(self.command, params, headers, body)
            fault = self._apply_api_fault(product, action)
            if fault == "no_effect":  # recorded like the write it pretends to be
                self._audit(product, action, 200, "NoEffectFault", access_key_id, request_id)
                self._reply({"RequestId": request_id}, request_id)
                return
            business = unflatten({k: v for k, v in flat.items() if k not in RPC_COMMON_PARAMETERS})
            request = ApiRequest(action=action, params=business, access_key_id=access_key_id, request_id=request_id)
            reached_action = True
            answer = self.server.cloud.call(product, request)
            if fault == "lost_response":  # done, but the caller never hears of it
                raise DropConnection()
            self._reply(answer, request_id)
        except DropConnection:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        except ApiError as error:
            if not reached_action:
                self._audit_refusal(product, action, error, request_id)
            self._reply_error(error, product, request_id)

    @staticmethod
    def _form_params(headers: dict[str, str], body: bytes) -> list[tuple[str, str]]:
        if body and headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        return []

    @staticmethod
    def _product(path: str, action: str, version: str) -> Product:
        if path != "/":
            raise ApiError(
                404, "InvalidAction.NotFound", f"RPC calls go to '/', not {path!r}: check the endpoint setting."
            )
        if not action:
            raise ApiError(
                400,
                "MissingParameter",
                'The input parameter "Action" (or header x-acs-action) that is mandatory for processing '
                "this request is not supplied.",
            )
        product = PRODUCTS_BY_VERSION.get(version)
        if product is None:
            served = ", ".join(f"{v} ({p.name})" for v, p in PRODUCTS_BY_VERSION.items())
            raise ApiError(400, "NoSuchVersion", f"The specified version {version!r} does not exist; served: {served}.")
        return product

    def _apply_api_fault(self, product: Product, action: str) -> str | None:
        """Raise the fault that refuses this call, if any; returns the kind of a fault that acts on its answer."""
        fault = self.server.cloud.faults.api_fault(product.name, action)
        if fault is None:
            return None
        if fault.kind in ("lost_response", "no_effect"):
            return fault.kind
        if fault.kind == "drop_connection":
            raise DropConnection()
        if fault.kind == "throttle":
            raise throttled(fault.retry_after_ms)
        if fault.status == 500:
            raise ApiError(
                500,
                "InternalError",
                "The request processing has failed due to some unknown error, exception or failure.",
            )
        raise ApiError(503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server.")

    def _audit_refusal(self, product: Product | None, action: str, error: ApiError, request_id: str) -> None:
        # refused before (or while) the signature was checked: no key to name
        self._audit(product, action, error.status, error.code, "", request_id)

    def _audit(
        self, product: Product | None, action: str, status: int, code: str, access_key_id: str, request_id: str
    ) -> None:
        self.server.cloud.audit.record(
            product=product.name if product else "unknown",
            action=action or "?",
            params={},
            status=status,
            code=code,
            caller="api",
            access_key_id=access_key_id,
            mutating=status == 200 and product is not None and action in product.mutating,
            request_id=request_id,
        )

    def _reply(self, body: dict[str, Any], request_id: str) -> None:
        if self._xml_action is None:
            self._send(200, json.dumps(body).encode(), _JSON, request_id)
        else:
            self._send(200, xml_body.response(self._xml_action, body), xml_body.CONTENT_TYPE, request_id)

    def _reply_error(self, error: ApiError, product: Product | None, request_id: str) -> None:
        host = product.host if product else "localcloud"
        body = {
            "RequestId": request_id,
            "HostId": host,
            "Code": error.code,
            "Message": error.message,
            "Recommend": f"https://api.aliyun.com/troubleshoot?q={error.code}&product="
            f"{product.name.upper() if product else ''}&requestId={request_id}",
        }
        if self._xml_action is None:
            self._send(error.status, json.dumps(body).encode(), _JSON, request_id, error.headers)
        else:
            self._send(error.status, xml_body.error(body), xml_body.CONTENT_TYPE, request_id, error.headers)

    def _send(
        self, status: int, payload: bytes, content_type: str, request_id: str, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-acs-request-id", request_id)
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

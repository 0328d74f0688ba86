"""The one way an action runs: find its product's handler and model, run it under the cloud's lock (once per
ClientToken), audit it, and turn a localcloud bug into the gateway's InternalError. The HTTP gateway calls it for
the user; OOS calls it on the user's behalf, as the real service does."""

from __future__ import annotations

import logging
from typing import Any

from localcloud.audit import AuditLog
from localcloud.errors import ApiError
from localcloud.gateway.products import Handler, Product
from localcloud.gateway.request import ApiRequest
from localcloud.ids import new_request_id
from localcloud.kernel import Kernel

log = logging.getLogger("localcloud")


class Dispatch:
    def __init__(self, kernel: Kernel, audit: AuditLog) -> None:
        self._kernel = kernel
        self._audit = audit
        self._models: dict[str, Any] = {}  # product name -> the model its handlers take
        self._answered_tokens: dict[str, dict[str, Any]] = {}

    def serve(self, product: Product, model: Any) -> None:
        """Answer ``product``'s actions with its handlers, each given ``model``."""
        self._models[product.name] = model

    def call(self, product: Product, request: ApiRequest) -> dict[str, Any]:
        """Run one action and audit it. Raises ``ApiError``; returns the body with ``RequestId``."""
        request.request_id = request.request_id or new_request_id()
        handler = product.actions.get(request.action)
        status, code = 200, None
        try:
            if handler is None:
                raise ApiError(
                    404,
                    "InvalidAction.NotFound",
                    f"Specified api is not found, please check your url and method. "
                    f"{product.name.upper()} {product.version} has no action {request.action!r}.",
                )
            with self._kernel.lock:
                body = self._run_once(product, request, handler)
            if request.action in product.mutating:
                self._kernel.changed()
            return {"RequestId": request.request_id, **body}
        except ApiError as exc:
            status, code = exc.status, exc.code
            raise
        except Exception as exc:  # a bug in localcloud: answer like the gateway does, and say what broke
            log.exception("%s %s failed", product.name, request.action)
            status, code = 500, "InternalError"
            raise ApiError(500, "InternalError", f"localcloud failed to handle {request.action}: {exc!r}") from exc
        finally:
            self._audit.record(
                product=product.name,
                action=request.action,
                params=request.params,
                status=status,
                code=code,
                caller=request.caller,
                access_key_id=request.access_key_id,
                mutating=request.action in product.mutating,
                request_id=request.request_id,
            )

    def invoke(self, product: Product, action: str, params: dict[str, Any], *, caller: str) -> dict[str, Any]:
        """A call made inside the cloud on the user's behalf (``caller`` is the service making it)."""
        return self.call(product, ApiRequest(action=action, params=params, caller=caller))

    def _run_once(self, product: Product, request: ApiRequest, handler: Handler) -> dict[str, Any]:
        """Mutating calls carrying a ClientToken are idempotent: the same token (from the same caller) gets the
        first call's answer instead of doing the work again, as the real APIs promise."""
        model = self._models[product.name]
        token = request.params.get("ClientToken") if request.action in product.mutating else None
        if not token:
            return handler(model, request)
        key = f"{product.name}:{request.action}:{request.access_key_id}:{token}"
        if key not in self._answered_tokens:
            self._answered_tokens[key] = handler(model, request)
        return dict(self._answered_tokens[key])

    # -- persistence: the answers given to ClientTokens --------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        return dict(self._answered_tokens)

    def from_state(self, state: dict[str, Any]) -> None:
        self._answered_tokens = dict(state)

    def clear(self) -> None:
        self._answered_tokens.clear()

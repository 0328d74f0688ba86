"""The cloud's state and the one entry point every call goes through.

``Cloud`` holds the products' models, the container runtime, the registry, faults, latencies and the audit
log. ``Cloud.call`` runs one action under the cloud's lock and records it; the HTTP gateway and the OOS engine
(which calls ESS and ECI on the user's behalf, as the real service does) both use it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from localcloud.audit import AuditLog
from localcloud.errors import ApiError
from localcloud.faults import Faults
from localcloud.gateway.products import Product
from localcloud.gateway.request import ApiRequest
from localcloud.ids import new_request_id
from localcloud.keys import AccessKey
from localcloud.timing import Latencies

if TYPE_CHECKING:
    from localcloud.registry.service import Registry
    from localcloud.runtime.base import ContainerRuntime

log = logging.getLogger("localcloud")


class Cloud:
    def __init__(
        self,
        *,
        region_id: str,
        access_keys: list[AccessKey],
        runtime: "ContainerRuntime",
        registry: "Registry | None",
        latencies: Latencies | None = None,
        state_dir: Path | None = None,
    ) -> None:
        from localcloud.acr.model import AcrModel
        from localcloud.eci.model import EciModel
        from localcloud.ess.model import EssModel
        from localcloud.oos.model import OosModel
        from localcloud.sts.model import StsModel

        self.region_id = region_id
        self.access_keys = {k.access_key_id: k for k in access_keys}
        self.runtime = runtime
        self.registry = registry
        self.latencies = latencies or Latencies()
        self.faults = Faults()
        self.audit = AuditLog()
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self.state_dir = state_dir
        self._threads: list[threading.Thread] = []
        self._dirty = threading.Event()
        self.answered_tokens: dict[str, dict[str, Any]] = {}
        self.eci = EciModel(self)
        self.ess = EssModel(self)
        self.oos = OosModel(self)
        self.acr = AcrModel(self)
        self.sts = StsModel(self.access_keys)

    # -- calls ---------------------------------------------------------------------------------------------

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
            with self.lock:
                body = self._run_once(product, request, handler)
            if request.action in product.mutating:
                self.changed()
            return {"RequestId": request.request_id, **body}
        except ApiError as exc:
            status, code = exc.status, exc.code
            raise
        except Exception as exc:  # a bug in localcloud: answer like the gateway does, and say what broke
            log.exception("%s %s failed", product.name, request.action)
            status, code = 500, "InternalError"
            raise ApiError(500, "InternalError", f"localcloud failed to handle {request.action}: {exc!r}") from exc
        finally:
            self.audit.record(
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

    def _run_once(self, product: Product, request: ApiRequest, handler) -> dict[str, Any]:
        """Mutating calls carrying a ClientToken are idempotent: the same token (from the same caller) gets the
        first call's answer instead of doing the work again, as the real APIs promise."""
        token = request.params.get("ClientToken") if request.action in product.mutating else None
        if not token:
            return handler(self, request)
        key = f"{product.name}:{request.action}:{request.access_key_id}:{token}"
        if key not in self.answered_tokens:
            self.answered_tokens[key] = handler(self, request)
        return dict(self.answered_tokens[key])

    def invoke(self, product: Product, action: str, params: dict[str, Any], *, caller: str) -> dict[str, Any]:
        """A call made inside the cloud on the user's behalf (OOS running a template)."""
        return self.call(product, ApiRequest(action=action, params=params, caller=caller))

    # -- background work ------------------------------------------------------------------------------------

    def spawn(self, name: str, target: Callable[..., None], *args: Any) -> threading.Thread:
        """Run ``target`` in a daemon thread; exceptions are logged, never lost silently."""

        def run() -> None:
            try:
                target(*args)
            except Exception:
                log.exception("background task %s failed", name)

        thread = threading.Thread(target=run, name=f"localcloud-{name}", daemon=True)
        with self.lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()
        return thread

    def sleep(self, seconds: float) -> bool:
        """Wait, unless the cloud is stopping. Returns False when it is."""
        return not self.stopping.wait(max(0.0, seconds))

    def reset_compute(self) -> None:
        """Forget every scaling group, container group and execution, removing their containers now."""
        from localcloud.ess.model import EssModel
        from localcloud.oos.model import OosModel

        with self.lock:
            handles = [g.handle() for g in self.eci.groups.values() if g.intranet_ip]
            self.eci.groups.clear()
            self.ess = EssModel(self)
            self.oos = OosModel(self)
            self.answered_tokens.clear()
        for handle in handles:
            self.runtime.destroy(handle)
        self.changed()

    # -- persistence -------------------------------------------------------------------------------------------

    def changed(self) -> None:
        self._dirty.set()

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "region_id": self.region_id,
                "ess": self.ess.to_state(),
                "eci": self.eci.to_state(),
                "oos": self.oos.to_state(),
                "acr": self.acr.to_state(),
                "answered_tokens": dict(self.answered_tokens),
            }

    def restore(self, state: dict[str, Any]) -> None:
        with self.lock:
            self.eci.from_state(state.get("eci", {}))
            self.ess.from_state(state.get("ess", {}))
            self.oos.from_state(state.get("oos", {}))
            self.acr.from_state(state.get("acr", {}))
            self.answered_tokens = dict(state.get("answered_tokens", {}))

    def state_file(self) -> Path | None:
        return self.state_dir / "state.json" if self.state_dir else None

    def save(self) -> None:
        path = self.state_file()
        if path is None:
            return
        self._dirty.clear()
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.snapshot(), indent=1, sort_keys=True))
        os.replace(tmp, path)

    def start_persisting(self, interval: float = 0.5) -> None:
        def loop() -> None:
            while not self.stopping.is_set():
                if self._dirty.wait(interval) and not self.stopping.is_set():
                    self.save()

        if self.state_file() is not None:
            self.spawn("persist", loop)

    # -- shutdown ----------------------------------------------------------------------------------------------

    def stop(self) -> None:
        self.stopping.set()
        for thread in list(self._threads):
            if thread is not threading.current_thread():
                thread.join(timeout=10)
        self.save()

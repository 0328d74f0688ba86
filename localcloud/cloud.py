"""``Cloud``: the pieces of the local cloud wired together.

The kernel the models share, the products' models (each given the siblings it works with: ESS the ECI model,
ECI the container runtime, ACR the registry, OOS a way to call the products on the user's behalf), the dispatch
every call goes through, the audit log and the state file.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

# The handler modules register their actions on the products as they are imported.
import localcloud.acr.api  # noqa: F401
import localcloud.eci.api  # noqa: F401
import localcloud.ess.api  # noqa: F401
import localcloud.oos.api  # noqa: F401
import localcloud.sts.api  # noqa: F401
from localcloud.acr.model import AcrModel
from localcloud.audit import AuditLog
from localcloud.dispatch import Dispatch
from localcloud.eci.model import EciModel
from localcloud.ess.model import EssModel
from localcloud.gateway.products import CR, ECI, ESS, OOS, STS, Product
from localcloud.gateway.request import ApiRequest
from localcloud.kernel import Kernel
from localcloud.keys import AccessKey
from localcloud.oos.model import OosModel
from localcloud.registry.service import Registry
from localcloud.runtime.base import ContainerRuntime
from localcloud.state_file import StateFile
from localcloud.sts.model import StsModel


class Cloud:
    def __init__(
        self,
        kernel: Kernel,
        *,
        access_keys: list[AccessKey],
        runtime: ContainerRuntime,
        registry: Registry | None,
        state_dir: Path | None = None,
    ) -> None:
        self.kernel = kernel
        self.faults = kernel.faults
        self.latencies = kernel.latencies
        self.access_keys = {k.access_key_id: k for k in access_keys}
        self.runtime = runtime
        self.registry = registry
        self.audit = AuditLog()
        self.dispatch = Dispatch(kernel, self.audit)
        self.eci = EciModel(kernel, runtime)
        self.ess = EssModel(kernel, self.eci)
        self.oos = OosModel(kernel, invoke=partial(self.dispatch.invoke, caller="oos"))
        self.acr = AcrModel(kernel, registry)
        self.sts = StsModel(self.access_keys)
        for product, model in ((ESS, self.ess), (ECI, self.eci), (OOS, self.oos), (CR, self.acr), (STS, self.sts)):
            self.dispatch.serve(product, model)
        self._state_file = StateFile(state_dir / "state.json", kernel, self.snapshot) if state_dir else None

    def call(self, product: Product, request: ApiRequest) -> dict[str, Any]:
        """Run one action and audit it. Raises ``ApiError``; returns the body with ``RequestId``."""
        return self.dispatch.call(product, request)

    def reset_compute(self) -> None:
        """Forget every scaling group, container group and execution, removing their containers now."""
        with self.kernel.lock:
            self.ess.clear()
            self.oos.clear()
            self.dispatch.clear()
        self.eci.clear()
        self.kernel.changed()

    # -- persistence -------------------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        with self.kernel.lock:
            return {
                "region_id": self.kernel.region_id,
                "ess": self.ess.to_state(),
                "eci": self.eci.to_state(),
                "oos": self.oos.to_state(),
                "acr": self.acr.to_state(),
                "answered_tokens": self.dispatch.to_state(),
            }

    def restore(self, state: dict[str, Any]) -> None:
        with self.kernel.lock:
            self.eci.from_state(state.get("eci", {}))
            self.ess.from_state(state.get("ess", {}))
            self.oos.from_state(state.get("oos", {}))
            self.acr.from_state(state.get("acr", {}))
            self.dispatch.from_state(state.get("answered_tokens", {}))

    def resume_saved(self) -> bool:
        """Come back as the state file left things and finish interrupted work; False when there is no file."""
        state = self._state_file.load() if self._state_file else None
        if state is None:
            return False
        self.restore(state)
        self.eci.resume()
        self.ess.resume()
        return True

    def keep_saved(self) -> None:
        """Save the state file soon after each change (when the cloud has a state directory)."""
        if self._state_file is not None:
            self._state_file.keep_saved()

    def save(self) -> None:
        if self._state_file is not None:
            self._state_file.save()

    def stop(self) -> None:
        self.kernel.stop()
        self.save()

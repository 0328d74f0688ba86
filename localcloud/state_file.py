"""The cloud's state on disk, rewritten soon after each change, so that a restarted localcloud comes back as it
was."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

from localcloud.kernel import Kernel


class StateFile:
    def __init__(self, path: Path, kernel: Kernel, snapshot: Callable[[], dict[str, Any]]) -> None:
        self.path = path
        self._kernel = kernel
        self._snapshot = snapshot

    def load(self) -> dict[str, Any] | None:
        return json.loads(self.path.read_text()) if self.path.exists() else None

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._snapshot(), indent=1, sort_keys=True))
        os.replace(tmp, self.path)

    def keep_saved(self, interval: float = 0.5) -> None:
        """Save in the background whenever state changed, until the cloud stops."""

        def loop() -> None:
            while not self._kernel.stopping.is_set():
                if self._kernel.wait_for_change(interval) and not self._kernel.stopping.is_set():
                    self.save()

        self._kernel.spawn("persist", loop)

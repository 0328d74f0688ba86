"""What every product model shares: the one lock their state changes happen under, change notification (for
the state file), background work and its sleeping and stopping, latencies, faults and the default region."""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from localcloud.faults import Faults
from localcloud.timing import Latencies

log = logging.getLogger("localcloud")


class Kernel:
    def __init__(self, *, region_id: str, latencies: Latencies | None = None) -> None:
        self.region_id = region_id
        self.latencies = latencies or Latencies()
        self.faults = Faults()
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self._changes = threading.Event()
        self._threads: list[threading.Thread] = []

    def changed(self) -> None:
        """Note that state changed, so it is saved soon."""
        self._changes.set()

    def wait_for_change(self, timeout: float) -> bool:
        """Whether state changed since the last time this said so, waiting up to ``timeout`` seconds."""
        if not self._changes.wait(timeout):
            return False
        self._changes.clear()
        return True

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

    def stop(self) -> None:
        """Tell background work to stop, and wait for it."""
        self.stopping.set()
        for thread in list(self._threads):
            if thread is not threading.current_thread():
                thread.join(timeout=10)

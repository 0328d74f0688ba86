"""The zygote: one long-lived process per worker machine that has imported Prefect's engine and the flows once, and
forks a child per flow run that ``deployments/launch.py`` hands it, so a run starts in milliseconds instead of
spending seconds of CPU on imports (on a machine of few cores, a fan-out's runs mostly wait for each other's imports).

Each run is still its own process: the child becomes a fresh engine process (``deployments/zygote_child.py``), the
launcher relays its signals and exits with its status, and a launcher that dies (SIGKILL after the worker's grace)
takes its child with it. The zygote stays single-threaded so that forking is safe, and declines a run it could not
start as a fresh interpreter would (another interpreter or PYTHON* settings, a thread started at import, a module
file changed since it was imported): the launcher then starts the engine itself.

    python -m deployments.zygote --socket PATH
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import selectors
import signal
import socket
import sys
import threading
import time
import traceback
from pathlib import Path

from deployments.launch import HEADER, RELAYED_SIGNALS, peer_uid
from deployments.zygote_child import become_engine

# What a run imports: the engine's modules (not prefect.engine itself: a run executes it as __main__) and every
# deployment's flow module (prefect.yaml's entrypoints).
PRELOADED = ("prefect.flow_engine", "prefect._internal.metrics", "prefect.deployments.steps", "flows.release")
PRELOADED += ("flows.fan_out", "flows.rollback")
IMPORT_TIME_VARIABLES = ("PYTHON", "PREFECT_PLUGINS")
STOP_GRACE_SECONDS = 30
MAX_REQUEST = 1 << 22


def loaded_files() -> dict[str, float]:
    """Each imported module's file and its modification time."""
    files = {}
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path:
            try:
                files[path] = os.stat(path).st_mtime
            except OSError:
                pass
    return files


def changed_file(imported: dict[str, float]) -> str | None:
    """A module file changed since it was imported (a fresh engine would run the new code), or None."""
    for path, mtime in imported.items():
        try:
            if os.stat(path).st_mtime != mtime:
                return path
        except OSError:
            return path
    return None


def interpreter_differs(request: dict) -> str | None:
    """Why a run cannot be forked from here, or None: a fresh engine would start another interpreter, or with other
    PYTHON* settings or Prefect plugins (run at ``import prefect``) than the ones this process imported under."""
    if request["executable"] != os.path.realpath(sys.executable):
        return f"the run's interpreter is {request['executable']}"
    if request.get("prefix") != sys.prefix:
        return f"the run's environment is {request.get('prefix')}, this one's {sys.prefix}"
    ours = {k: v for k, v in os.environ.items() if k.startswith(IMPORT_TIME_VARIABLES)}
    theirs = {k: v for k, v in request["env"].items() if k.startswith(IMPORT_TIME_VARIABLES)}
    if ours != theirs:
        differing = sorted({name for name, _ in set(ours.items()) ^ set(theirs.items())})
        return f"the run's import-time variables differ: {', '.join(differing)}"
    if threading.active_count() > 1:
        return f"threads running in the zygote: {[t.name for t in threading.enumerate()]}"
    return None


class Zygote:
    def __init__(self, path: Path):
        self.path = path
        self.selector = selectors.DefaultSelector()
        self.runs: dict[int, socket.socket] = {}  # child pid -> its launcher's connection
        self.relaying: set[socket.socket] = set()  # the connections still read for signals
        self.imported = loaded_files()
        self.stopping = False
        self.wakeup_read, self.wakeup_write = os.pipe()
        for fd in (self.wakeup_read, self.wakeup_write):
            os.set_blocking(fd, False)
        signal.set_wakeup_fd(self.wakeup_write)  # SIGCHLD, SIGTERM, SIGINT wake the loop
        for signum in (signal.SIGCHLD, *RELAYED_SIGNALS):
            signal.signal(signum, lambda *_: None)
        self.selector.register(self.wakeup_read, selectors.EVENT_READ, "signal")
        path.unlink(missing_ok=True)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)  # the socket is its owner's alone: whoever connects runs code as the zygote
        try:
            self.listener.bind(str(path))
        finally:
            os.umask(old_umask)
        self.listener.listen(64)
        self.selector.register(self.listener, selectors.EVENT_READ, "listener")

    def serve(self) -> None:
        deadline = None
        while self.runs or not self.stopping:
            for key, _ in self.selector.select(timeout=1):
                try:
                    if key.data == "signal":
                        self._on_signals()
                    elif key.data == "listener":
                        self._accept()
                    else:
                        self._relay(key.fileobj, key.data)
                except Exception:  # one event gone wrong must not end the zygote, and with it every run
                    traceback.print_exc()
            if self.stopping and deadline is None:
                deadline = time.monotonic() + STOP_GRACE_SECONDS
            if deadline and time.monotonic() > deadline:
                for pid in self.runs:
                    os.kill(pid, signal.SIGKILL)

    def _on_signals(self) -> None:
        received = os.read(self.wakeup_read, 512)
        if not self.stopping and {signal.SIGTERM, signal.SIGINT} & set(received):
            self.stopping = True  # as a worker stops: no new runs, the running ones told to stop
            self.selector.unregister(self.listener)
            self.listener.close()
            self.path.unlink(missing_ok=True)
            for pid in self.runs:
                os.kill(pid, signal.SIGTERM)
        while self.runs:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                return
            connection = self.runs.pop(pid, None)
            if connection is not None:
                self._reply(connection, {"status": status})
                if connection in self.relaying:
                    self.selector.unregister(connection)
                    self.relaying.discard(connection)
                connection.close()

    def _accept(self) -> None:
        connection, _ = self.listener.accept()
        try:
            asking = peer_uid(connection)
            if asking != os.getuid():
                raise PermissionError(f"a process of uid {asking} asked for a run")
            connection.settimeout(5)  # the launcher sends at once; a silent peer does not stall the others
            request, stdio = self._read_request(connection)
        except (OSError, ValueError) as error:
            print(f"zygote: a launcher's request was refused: {error}", file=sys.stderr, flush=True)
            connection.close()
            return
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            if why := interpreter_differs(request):
                raise ValueError(why)
            if changed := changed_file(self.imported):
                raise ValueError(f"{changed} changed since the zygote imported it: restart the zygote")
            zygote = os.getpid()
            pid = os.fork()
        except Exception as error:  # whatever it was, the launcher starts the engine itself; the zygote serves on
            self._reply(connection, {"fallback": str(error)})
            connection.close()
            for fd in stdio:
                os.close(fd)
            return
        if pid == 0:
            try:
                self._close_in_child(connection)
                become_engine(request["args"], request["env"], request["cwd"], stdio, zygote)
            except BaseException:
                traceback.print_exc()
            finally:  # never back into the zygote's loop, whatever went wrong
                os._exit(1)
        for fd in stdio:
            os.close(fd)
        connection.settimeout(None)
        self.runs[pid] = connection
        self.selector.register(connection, selectors.EVENT_READ, pid)
        self.relaying.add(connection)
        self._reply(connection, {"pid": pid})

    @staticmethod
    def _read_request(connection: socket.socket) -> tuple[dict, list[int]]:
        data, fds, _, _ = socket.recv_fds(connection, HEADER.size + MAX_REQUEST, 3)
        if len(fds) != 3:
            for fd in fds:
                os.close(fd)
            raise ValueError("a request without its stdin, stdout and stderr")
        (size,) = HEADER.unpack(data[: HEADER.size])
        body = data[HEADER.size :]
        while len(body) < size:
            chunk = connection.recv(size - len(body))
            if not chunk:
                raise ValueError("a request cut short")
            body += chunk
        return json.loads(body), fds

    def _relay(self, connection: socket.socket, pid: int) -> None:
        """A signal number from the launcher, for its run; or its end: it died, so its run ends too."""
        if self.runs.get(pid) is not connection:  # reaped in this same round: its connection is closed
            return
        try:
            received = connection.recv(64)
        except OSError:
            received = b""
        # Not reaped yet (the reaper closes the connection): ``pid`` is still this run's.
        if not received:
            self.selector.unregister(connection)
            self.relaying.discard(connection)
            os.kill(pid, signal.SIGKILL)
            return
        for signum in received:
            if signum in RELAYED_SIGNALS:  # nothing else is the launcher's to send
                os.kill(pid, signum)

    def _close_in_child(self, connection: socket.socket) -> None:
        signal.set_wakeup_fd(-1)
        for other in (connection, self.listener, *self.runs.values()):
            other.close()
        self.selector.close()
        os.close(self.wakeup_read)
        os.close(self.wakeup_write)

    @staticmethod
    def _reply(connection: socket.socket, message: dict) -> None:
        try:
            connection.sendall(json.dumps(message).encode() + b"\n")
        except OSError:
            pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", type=Path, required=True, help="the unix socket the launchers connect to")
    args = parser.parse_args(argv)
    started = time.monotonic()
    for module in PRELOADED:
        importlib.import_module(module)
    gc.freeze()  # what was imported stays shared with the children instead of being copied by the collector
    zygote = Zygote(args.socket)
    print(f"zygote: ready on {args.socket} ({time.monotonic() - started:.1f} s of imports)", flush=True)
    zygote.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())

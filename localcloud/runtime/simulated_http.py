"""What a simulated instance answers over HTTP, so health checks work without Docker: on the instance's loopback
address and each container's ports, ``GET /`` answers 200 with the image the container runs, any other path 404.
A container of a frozen image (the ``unresponsive`` fault) accepts connections and never answers, as a paused
container does. One thread serves the sockets of every instance."""

from __future__ import annotations

import logging
import selectors
import socket
import threading

log = logging.getLogger("localcloud")

REQUEST_LIMIT = 16 * 1024  # bytes of request line and headers read before the request is refused


def _response(status: str, body: str) -> bytes:
    payload = body.encode()
    head = f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n"
    return head.encode() + b"\r\n" + payload


def _answer(request: bytes, image: str) -> bytes:
    line = request.split(b"\r\n", 1)[0].decode("latin-1").split()
    if len(line) != 3:
        return _response("400 Bad Request", "bad request\n")
    method, path = line[0], line[1].split("?", 1)[0]
    if method != "GET":
        return _response("405 Method Not Allowed", "method not allowed\n")
    if path != "/":
        return _response("404 Not Found", f"{path} not found\n")
    return _response("200 OK", f"{image}\n")


class SimulatedHttp:
    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._listeners: dict[str, list[socket.socket]] = {}  # group id -> its listening sockets
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def serve(self, group_id: str, ip: str, ports: list[tuple[int, str, bool]]) -> None:
        """Listen on ``ip`` for each (port, image, frozen) of the group's containers."""
        listeners = []
        try:
            for port, image, frozen in ports:
                listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                listeners.append(listener)
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                listener.bind((ip, port))
                listener.listen(64)
                listener.setblocking(False)
                if not frozen:  # a frozen container's connections wait in the backlog, never accepted
                    self._selector.register(listener, selectors.EVENT_READ, ("listener", image))
        except BaseException:
            self._close(listeners)
            raise
        with self._lock:
            self._listeners[group_id] = listeners
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="localcloud-simulated-http", daemon=True)
                self._thread.start()

    def stop_serving(self, group_id: str) -> None:
        with self._lock:
            listeners = self._listeners.pop(group_id, [])
        self._close(listeners)

    def shutdown(self) -> None:
        with self._lock:
            groups = list(self._listeners)
        for group_id in groups:
            self.stop_serving(group_id)
        self._stopping.set()

    def _close(self, listeners: list[socket.socket]) -> None:
        for listener in listeners:
            try:
                self._selector.unregister(listener)
            except (KeyError, ValueError):
                pass  # never registered (frozen, or failed before it was)
            listener.close()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                ready = self._selector.select(timeout=0.2)
            except OSError:  # a socket closed by stop_serving while being selected
                continue
            for key, _ in ready:
                try:
                    self._handle(key)
                except OSError as error:
                    log.debug("simulated HTTP: %s", error)

    def _handle(self, key: selectors.SelectorKey) -> None:
        kind, state = key.data
        if kind == "listener":
            connection, _ = key.fileobj.accept()
            connection.setblocking(False)
            self._selector.register(connection, selectors.EVENT_READ, ("connection", [state, b""]))
            return
        image, received = state
        chunk = key.fileobj.recv(4096)
        received += chunk
        state[1] = received
        if chunk and b"\r\n\r\n" not in received and len(received) < REQUEST_LIMIT:
            return  # the rest of the request is still coming
        self._selector.unregister(key.fileobj)
        with key.fileobj as connection:
            if chunk:
                connection.setblocking(True)
                connection.settimeout(1.0)
                connection.sendall(_answer(received, image))

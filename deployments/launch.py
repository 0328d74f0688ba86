"""The work pool's job command: hands its flow run to the machine's zygote (``deployments/zygote.py``), which forks a
process that has already imported the flows, instead of starting ``python -m prefect.engine`` cold (seconds of CPU
a run). Standard library only, so it starts in milliseconds.

It sends the zygote its arguments, environment, working directory and stdin/stdout/stderr, relays SIGTERM and SIGINT
to the forked run and exits as the run exited, so the worker sees one process that behaves as the engine. Without a
zygote listening (none on this machine, or it refused the run) it becomes ``python -m prefect.engine`` itself.

    python -m deployments.launch [ENGINE ARGS...]      # socket path: $ECI_RELEASE_ZYGOTE_SOCKET
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import sys

SOCKET_VARIABLE = "ECI_RELEASE_ZYGOTE_SOCKET"
RELAYED_SIGNALS = (signal.SIGTERM, signal.SIGINT)
HEADER = struct.Struct("!I")  # the request's length, before the request


def engine_command(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "prefect.engine", *args]


def request(args: list[str]) -> bytes:
    body = json.dumps(
        {
            "args": args,
            "env": dict(os.environ),
            "cwd": os.getcwd(),
            "executable": os.path.realpath(sys.executable),
            "prefix": sys.prefix,  # the virtual environment: one interpreter serves several
        }
    ).encode()
    return HEADER.pack(len(body)) + body


def peer_uid(connection: socket.socket) -> int:
    """The user id of the process at the other end of a unix socket."""
    return struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1]


def _connect(path: str) -> socket.socket | None:
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(path)
        # The run's environment (credentials among it) goes to a zygote of this user only.
        owner = peer_uid(connection)
        if owner != os.getuid():
            print(f"launch: {path} is served by uid {owner}, not this user; starting the engine here", file=sys.stderr)
            connection.close()
            return None
        return connection
    except OSError:
        connection.close()
        return None


def _exit_as(status: int) -> None:
    """Exit as the run did: with its code, or killed by the same signal."""
    if os.WIFSIGNALED(status):
        signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
        os.kill(os.getpid(), os.WTERMSIG(status))
    sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)


def _forked_run(connection: socket.socket, args: list[str]) -> int | None:
    """The run's wait status once the zygote's child ended; None when the zygote declined it."""
    pending: list[int] = []
    # A signal that arrives before the child exists is sent as soon as it does.
    for signum in RELAYED_SIGNALS:
        signal.signal(signum, lambda signum, _: pending.append(signum))
    socket.send_fds(connection, [request(args)], [0, 1, 2])
    replies = connection.makefile("r")
    reply = json.loads(replies.readline() or '{"fallback": "the zygote closed the connection"}')
    if "fallback" in reply:
        print(f"launch: the zygote declined ({reply['fallback']}); starting the engine here", file=sys.stderr)
        for signum in pending:  # asked to stop before anything started: stop
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
        return None
    for signum in RELAYED_SIGNALS:
        signal.signal(signum, lambda signum, _: connection.send(bytes([signum])))
    for signum in pending:
        connection.send(bytes([signum]))
    line = replies.readline()
    if not line:  # the zygote died; its children were sent SIGTERM (deployments/zygote_child.py)
        print("launch: the zygote exited before the run did", file=sys.stderr)
        return 1 << 8
    return json.loads(line)["status"]


def main() -> None:
    args = sys.argv[1:]
    path = os.environ.get(SOCKET_VARIABLE)
    connection = _connect(path) if path else None
    if connection is not None:
        status = _forked_run(connection, args)
        if status is not None:
            _exit_as(status)
        for signum in RELAYED_SIGNALS:
            signal.signal(signum, signal.SIG_DFL)
    command = engine_command(args)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()

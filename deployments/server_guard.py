"""The temporary Prefect server of a command run from a shell ends with the command, however the command ends.

Without PREFECT_API_URL, Prefect starts a temporary server as a child process of the command and stops it at exit.
A SIGKILL skips that, and the server ran on with nobody to stop it. ``guard_temporary_server`` starts the server
before the command's flow and, beside it, this module as a guard: a process that waits for its parent's death
(PR_SET_PDEATHSIG) and then stops the server, as Prefect would have. It ignores the signals a terminal or a
process group gets (a Ctrl-C, a SIGTERM to the group): the command still needs its server to roll back then, and it
stops the server itself when it ends."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys

from deployments.parent_death import signal_when_the_parent_dies

PARENT_DIED = signal.SIGUSR1
GRACE_SECONDS = 5  # as Prefect's own stop: SIGTERM, then SIGKILL after 5 s

_guards: list[subprocess.Popen] = []  # referenced, so no warning says a guard still runs at the command's exit


def guard_temporary_server() -> None:
    """Start the temporary Prefect server now, if this command runs on one, with a guard that stops it when this
    process ends. With PREFECT_API_URL set, nothing: that server is not this command's to stop."""
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value() or _guards:
        return
    server = SubprocessASGIServer()  # Prefect's own instance: the flow's client finds it running
    server.start()
    _guards.append(
        subprocess.Popen(
            # -P: the guard is this package's, never a "deployments" in the directory the command runs in
            [sys.executable, "-P", "-m", "deployments.server_guard", str(server.server_process.pid), str(os.getpid())],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,  # never a pipe of the command's: a reader of its output would wait for it
            stderr=subprocess.DEVNULL,
        )
    )


class _ParentDied(Exception):
    pass


def main(argv: list[str]) -> int:
    server_pid, parent = int(argv[0]), int(argv[1])
    for ignored in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(ignored, signal.SIG_IGN)

    def parent_died(signum, frame) -> None:
        if os.getppid() != parent:  # not a SIGUSR1 someone else sent
            raise _ParentDied()

    signal.signal(PARENT_DIED, parent_died)
    try:
        server = os.pidfd_open(server_pid)  # that process exactly, even once its number is given to another
    except ProcessLookupError:
        return 0
    ended = select.poll()
    ended.register(server, select.POLLIN)  # a pidfd reads ready when its process ends
    try:
        signal_when_the_parent_dies(PARENT_DIED, parent)
        ended.poll()  # the server ended first: its command stopped it
        return 0
    except _ParentDied:
        pass
    try:
        signal.pidfd_send_signal(server, signal.SIGTERM)
        if not ended.poll(GRACE_SECONDS * 1000):
            signal.pidfd_send_signal(server, signal.SIGKILL)
    except ProcessLookupError:  # it ended meanwhile
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

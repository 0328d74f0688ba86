"""A forked child of the zygote becoming what ``python -m prefect.engine`` would be with the job's environment: its
stdio, working directory, environment, argv and sys.path; Prefect's settings and logging built again from that
environment (``prefect.context`` and ``prefect.main`` build both at import, in the zygote, from the zygote's); then the
engine's ``__main__``; then the interpreter's own exit steps (threads joined, atexit handlers, such as Prefect's log
and event workers' flush, streams flushed). It never returns to the zygote's code."""

from __future__ import annotations

import atexit
import os
import runpy
import signal
import sys
import threading
import traceback

from deployments.parent_death import signal_when_the_parent_dies

# What CPython sets before running any code; everything else starts at SIG_DFL.
_STARTUP_HANDLERS = {signal.SIGINT: signal.default_int_handler, signal.SIGPIPE: signal.SIG_IGN}


def become_engine(args: list[str], env: dict[str, str], cwd: str, stdio: list[int], zygote: int) -> None:
    os.setsid()  # out of the zygote's session: a Ctrl-C or group signal meant for the zygote is not the run's
    for signum in signal.valid_signals():
        try:
            signal.signal(signum, _STARTUP_HANDLERS.get(signum, signal.SIG_DFL))
        except (OSError, ValueError):  # SIGKILL, SIGSTOP and the like
            pass
    _stop_when_the_zygote_dies(zygote)
    for target, fd in enumerate(stdio):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    sys.argv = ["-m", *args]
    sys.path[0] = cwd  # as ``python -m`` puts it
    _rebuild_prefect_state()
    os._exit(_run_engine())


def _stop_when_the_zygote_dies(zygote: int) -> None:
    """SIGTERM (a stop: the release rolls back) if the zygote dies first, as its launcher then reports the run ended;
    at once if it died already, before this was set."""
    signal_when_the_parent_dies(signal.SIGTERM, zygote)


def _rebuild_prefect_state() -> None:
    import prefect.context
    import prefect.logging.configuration

    prefect.context.refresh_global_settings_context()
    prefect.logging.configuration.setup_logging(incremental=False)


def _run_engine() -> int:
    sys.modules.pop("prefect.engine", None)  # a fresh process runs it as __main__ before anything imports it
    try:
        runpy.run_module("prefect.engine", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exit:
        code = _exit_code(exit.code)
    except KeyboardInterrupt:
        _finish()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)  # as the interpreter ends on an uncaught KeyboardInterrupt
        code = 130
    except BaseException:
        traceback.print_exc()
        code = 1
    _finish()
    return code


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _finish() -> None:
    """The interpreter's exit steps, in its order: non-daemon threads joined, atexit handlers, streams flushed."""
    threading._shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass

"""How Prefect's console handlers print: one line per record, the traceback left to the run's logs.

An expected failure (bad input, refused credentials, an unreachable endpoint, a failed build) ends a command
with one ``eci-release: ...`` line. Prefect's console handler would print the same failure with a traceback,
up to four times (the task, the flow, their final states) before it. ``quiet_tracebacks()`` wraps the formatter
of each handler that writes to the terminal so that it renders a record without its exception and stack; the
record itself is left alone, because every handler shares it: the API log handler still sends the traceback to
the run's logs in the Prefect server. ``--debug`` skips all this.

Prefect configures its handlers from ``prefect/logging/logging.yml`` (``setup_logging``) when ``prefect.main``
is first imported, which ``import prefect`` alone does not do (its names are imported lazily): the first
``from prefect import flow`` does. Later calls (the server app's) are incremental and keep the handlers and
their formatters. So this imports ``prefect.main`` first, then wraps what that set up.
"""

from __future__ import annotations

import copy
import logging
import sys


class WithoutTraceback(logging.Formatter):
    """A formatter that renders a copy of each record without ``exc_info``, ``exc_text`` and ``stack_info``,
    through the formatter it wraps; the record the other handlers see is not touched."""

    def __init__(self, inner: logging.Formatter | None):
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        shown = copy.copy(record)
        shown.exc_info = None
        shown.exc_text = None
        shown.stack_info = None
        return self.inner.format(shown)


def _terminal_streams() -> tuple:
    return tuple(s for s in (sys.stderr, sys.stdout, sys.__stderr__, sys.__stdout__) if s is not None)


def console_handlers() -> list[logging.Handler]:
    """Every handler, on any logger, that writes to the terminal: Prefect's console and debug handlers, and
    the stream handlers the Alibaba SDK puts on its own loggers."""
    loggers = [logging.getLogger()] + [
        found for found in logging.Logger.manager.loggerDict.values() if isinstance(found, logging.Logger)
    ]
    streams = _terminal_streams()
    found: dict[int, logging.Handler] = {}
    for each in loggers:
        for handler in each.handlers:
            if (
                isinstance(handler, logging.StreamHandler)
                and not isinstance(handler, logging.FileHandler)
                and any(handler.stream is stream for stream in streams)
            ):
                found[id(handler)] = handler
    return list(found.values())


def quiet_tracebacks() -> list[logging.Handler]:
    """Make every console handler print records without their tracebacks; returns the handlers it changed.
    Idempotent: a handler already wrapped is left as it is."""
    # ``import prefect`` alone is lazy and configures nothing; ``prefect.main`` is what sets the handlers up.
    import prefect.main  # noqa: F401

    changed = []
    for handler in console_handlers():
        if not isinstance(handler.formatter, WithoutTraceback):
            handler.setFormatter(WithoutTraceback(handler.formatter))
            changed.append(handler)
    return changed


def configure(argv: list[str]) -> bool:
    """Set up the console for a command line: tracebacks only with ``--debug``. Returns whether quieted.
    Help runs nothing, and is left fast (Prefect takes a second to import)."""
    if "--debug" in argv or "--help" in argv or not argv:
        return False
    quiet_tracebacks()
    return True

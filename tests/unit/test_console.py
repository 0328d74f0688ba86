"""The terminal shows a failure's log line without its traceback; every other handler (the API log handler,
which sends the run's logs to the Prefect server) still gets the record whole."""

from __future__ import annotations

import io
import logging
import subprocess
import sys

import pytest

from deployments.console import WithoutTraceback, console_handlers, quiet_tracebacks


def _failure(logger: logging.Logger) -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        logger.error("Encountered exception during execution: %r", ValueError("boom"), exc_info=True, stack_info=True)


class Keep(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records, self.texts = [], []

    def emit(self, record):
        self.records.append(record)
        self.texts.append(logging.Formatter().format(record))


def test_the_console_renders_without_the_traceback_and_the_record_stays_whole():
    logger = logging.getLogger("test_console.shared")
    logger.propagate = False
    console = io.StringIO()
    terminal = logging.StreamHandler(console)
    terminal.setFormatter(WithoutTraceback(logging.Formatter("%(levelname)s | %(message)s")))
    api = Keep()
    logger.handlers = [terminal, api]  # the console formats first, as Prefect's root handler may
    try:
        _failure(logger)
    finally:
        logger.handlers = []
    assert console.getvalue() == "ERROR | Encountered exception during execution: ValueError('boom')\n"
    (record,) = api.records
    assert record.exc_info and record.stack_info  # not taken from the record the other handlers share
    assert "Traceback (most recent call last)" in api.texts[0] and "Stack (most recent call last)" in api.texts[0]


_LOG_A_FAILURE = """
import logging, sys
from deployments.console import configure
configure(sys.argv[1:])
try:
    raise ValueError("boom")
except ValueError:
    logging.getLogger("prefect.flow_engine_like").error("it failed: %r", ValueError("boom"), exc_info=True)
"""


@pytest.mark.parametrize("debug", [False, True], ids=["quiet", "debug"])
def test_prefect_s_own_console_handler_prints_the_traceback_only_with_debug(debug):
    """In a fresh interpreter, as the command line starts: Prefect sets its handlers up lazily."""
    done = subprocess.run(
        [sys.executable, "-c", _LOG_A_FAILURE, "release", *(["--debug"] if debug else [])],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "it failed: ValueError('boom')" in done.stderr
    assert ("Traceback (most recent call last)" in done.stderr) is debug, done.stderr
    if not debug:
        assert len(done.stderr.strip().splitlines()) == 1


def test_quieting_is_idempotent_and_leaves_other_handlers_alone():
    from prefect.logging.handlers import APILogHandler, PrefectConsoleHandler

    logger = logging.getLogger("test_console.prefect_like")
    terminal, api = PrefectConsoleHandler(stream=sys.stderr), APILogHandler()
    logger.handlers = [terminal, api]
    before = [(handler, handler.formatter) for handler in console_handlers()]  # the session's, put back after
    try:
        assert terminal in quiet_tracebacks()
        assert terminal not in quiet_tracebacks()  # wrapped once
        assert isinstance(terminal.formatter, WithoutTraceback)
        assert not isinstance(terminal.formatter.inner, WithoutTraceback)
        assert api.formatter is None
    finally:
        logger.handlers = []
        for handler, formatter in before:
            handler.setFormatter(formatter)

"""A failed build says why in one short line, the docker daemon's reason first."""

from __future__ import annotations

import pytest

from tasks.build import BuildFailed, build_image, failure_reason
from tests.support.requirements import require_docker


def test_a_dockerfile_parse_error_is_one_short_line_with_the_cause_first(tmp_path):
    require_docker()
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY a /a\nFORM scratch\n")
    (tmp_path / "a").write_text("a\n")
    with pytest.raises(BuildFailed) as failed:
        build_image.fn(context=tmp_path)
    message = str(failed.value)
    # The daemon's words (its "line 3" wording varies with the engine's version: "line 3", "on line 3").
    assert message.startswith("build failed: dockerfile parse error ")
    assert "line 3: unknown instruction: FORM" in message.partition("(")[0]
    assert message.endswith(f"(context {tmp_path})")
    assert "\n" not in message and len(message) < 200
    # Scrubbed as before: docker-py's error (which holds the request, and any registry login) is not kept.
    assert failed.value.__cause__ is None and failed.value.__suppress_context__


def test_docker_py_s_long_api_error_text_is_cut_down_to_the_daemon_s_reason():
    url = "http+docker://localhost/v1.41/build?q=False&dockerfile=Dockerfile&labels=%7B%22io.eci-release" + "x" * 500
    text = f'400 Client Error for {url}: Bad Request ("dockerfile parse error line 3: unknown instruction: FORM")'
    assert failure_reason(text) == "dockerfile parse error line 3: unknown instruction: FORM"
    assert failure_reason("The command '/bin/sh -c make all' returned a non-zero code: 2") == (
        "a RUN step exited with code 2: /bin/sh -c make all"
    )
    long = failure_reason("first line\n  second line " + "y" * 1000)
    assert long.startswith("first line second line y") and len(long) <= 240 and "\n" not in long

"""CODESEARCH_LOG: the jupyter_codesearch logger says nothing below warnings unless asked."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SCRIPT = """
import logging, jupyter_codesearch
log = logging.getLogger("jupyter_codesearch.probe")
log.debug("a debug line")
log.info("an info line")
log.warning("a warning line")
"""


def _run(level: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "CODESEARCH_LOG"}
    if level is not None:
        env["CODESEARCH_LOG"] = level
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env,
                          timeout=120, check=True)
    assert proc.stdout == ""
    return proc.stderr


def test_by_default_only_warnings_reach_stderr() -> None:
    assert _run(None).splitlines() == ["a warning line"]


@pytest.mark.parametrize("level", ["debug", "DEBUG", "10"])
def test_codesearch_log_debug_shows_everything_with_the_loggers_name(level: str) -> None:
    lines = _run(level).splitlines()
    assert [line.split(" ", 2)[2] for line in lines] == [
        "jupyter_codesearch.probe DEBUG: a debug line",
        "jupyter_codesearch.probe INFO: an info line",
        "jupyter_codesearch.probe WARNING: a warning line",
    ]


def test_codesearch_log_error_hides_warnings_too() -> None:
    assert _run("error") == ""


def test_an_unknown_level_is_said_and_warnings_still_show() -> None:
    lines = _run("loud").splitlines()
    assert len(lines) == 2
    assert "CODESEARCH_LOG='loud' is not a logging level: use debug, info, warning or error" in lines[0]
    assert lines[1].endswith("WARNING: a warning line")

"""What the hazard suites share: the honest candidate, the timed verify, the pool checks."""

from __future__ import annotations

import textwrap
import time

import pytest

from jupyter_codesearch.execute import Verdict, detect_isolation, verify
from tests.support.procs import wait_no_strays

TIMEOUT = 1.0
GOOD = "def f(x):\n    return x + 1\n"
PLUS_ONE = '''
def f(x):
    """Return x + 1."""

assert f(1) == 2
assert f(41) == 42
'''


def run(spec: str, source: str, timeout: float = TIMEOUT) -> Verdict:
    """One candidate's verdict, which must come within timeout + 2 s."""
    start = time.monotonic()
    [verdict] = verify(spec, [source], timeout=timeout, memory_mb=256)
    elapsed = time.monotonic() - start
    assert elapsed < timeout + 2, f"verdict took {elapsed:.2f} s"
    return verdict


def body(code: str) -> str:
    return textwrap.dedent(code).strip() + "\n"


def start_sandboxed_pool() -> None:
    """The suites need bubblewrap; the pool starts outside the timed cases."""
    if not detect_isolation().sandboxed:
        pytest.fail("bubblewrap is required for the hazard suite: apt-get install bubblewrap")
    verify(PLUS_ONE, [GOOD])


def assert_pool_survived() -> None:
    """Nothing the case started still runs, and the pool verifies an honest candidate."""
    left = wait_no_strays()
    assert not left, f"processes left running after the verdict: {left}"
    [after] = verify(PLUS_ONE, [GOOD], timeout=TIMEOUT)
    assert after.status == "passed", after

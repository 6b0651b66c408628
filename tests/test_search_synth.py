"""The offline synthesizer inside a search: the default with no model, and beside a model."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from jupyter_codesearch import ConfigError, search
from tests.conftest import REPO
from tests.support.fake_llm import FakeLLM, ScriptedResponder

INITIALS = (REPO / "examples" / "initials.py").read_text()


def test_with_no_model_the_synthesizer_finds_a_program_that_passes_hidden_tests_too() -> None:
    run = search(INITIALS, time_limit=60)
    assert run.error is None, run.error
    best = run.best
    assert best is not None and best.origin == "synth"
    assert best.verdict is not None and any(t.hidden and t.passed for t in best.verdict.tests)
    assert run.progress.explored > 0
    # Its programs are the synthesizer's samples: each cluster has exactly one vote from them.
    assert all(c.synth_samples == c.samples == 1 for c in run.candidates)
    assert all(c.cluster_size == 1 for c in run.ranked() if c.cluster is not None)
    namespace: dict[str, object] = {}
    exec(best.code, namespace)
    assert namespace["initials"]("barbara liskov") == "B.L."  # type: ignore[operator]


def test_no_model_and_no_usable_examples_is_one_clear_error() -> None:
    spec = "def f(x):\n    '''d'''\nassert f(1) > 0\n"
    run = search(spec)
    assert isinstance(run.error, ConfigError)
    assert "no model is configured" in str(run.error) and "--model" in str(run.error)
    assert run.progress.state == "failed"


def test_when_the_synthesizer_cannot_help_the_model_still_runs(tmp_path: Path) -> None:
    spec = "def f(x):\n    '''Double.'''\nassert f(2) > 3\n"
    with FakeLLM(ScriptedResponder(["```python\ndef f(x):\n    return 2 * x\n```"])) as fake:
        run = search(spec, model="openai/gpt-4o-mini", api_base=fake.url, generator="both", n=2,
                     cache=False, cluster=False)
    assert run.error is None
    assert any(n.startswith("offline synthesizer skipped") for n in run.notices), run.notices
    assert run.best is not None and run.best.origin == "llm"


def test_a_malformed_reply_body_is_retried(tmp_path: Path) -> None:
    spec = "def f(x):\n    '''Double.'''\nassert f(2) == 4\n"
    with FakeLLM(ScriptedResponder(["```python\ndef f(x):\n    return 2 * x\n```"])) as fake:
        fake.fail_next(1, "malformed")
        run = search(spec, model="openai/gpt-4o-mini", api_base=fake.url, n=1, cache=False, cluster=False)
        assert len(fake.completion_requests) == 2
    assert run.best is not None


def test_cli_run_without_a_model_says_it_uses_the_synthesizer_and_shows_the_program(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODESEARCH_MODEL")}
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter_codesearch.cli", "run", str(REPO / "examples" / "initials.py")],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "using the offline synthesizer" in proc.stderr
    assert "best (#" in proc.stdout and "def initials(full_name):" in proc.stdout
    assert "initials('')" in proc.stdout  # a disagreement the user may want to decide


def test_config_errors_name_the_setting() -> None:
    import pytest

    with pytest.raises(ConfigError, match="generator 'llm' needs a model"):
        search(INITIALS, generator="llm")
    with pytest.raises(ConfigError, match="n must be a positive number"):
        search(INITIALS, n=0)
    with pytest.raises(ConfigError, match="unknown setting 'modle'"):
        search(INITIALS, modle="x")


def test_the_synthesizers_quiet_spell_is_measured_in_its_own_work_not_in_wall_time() -> None:
    # On a busy machine the worker gets less of the CPU: a wall-clock quiet spell would stop it
    # before it had done the work that finds the next program.
    from jupyter_codesearch.generate._synth_client import worker_clock

    clock = worker_clock(os.getpid())
    start = clock()
    time.sleep(0.3)
    slept = clock() - start
    start, until = clock(), time.monotonic() + 0.3
    while time.monotonic() < until:
        pass
    worked = clock() - start
    assert slept < 0.1 and worked > 0.15, (slept, worked)

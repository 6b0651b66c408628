"""search() driving litellm for real, over HTTP, against the local fake server."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_codesearch import ModelError
from jupyter_codesearch.run import search
from tests.support.fake_llm import FakeLLM, MbppResponder, ScriptedResponder

MODEL = "openai/gpt-4o-mini"  # a model litellm knows the price of; served by the fake
HIDDEN_MARK = "HIDDEN-VALUE-0451"

MBPP_2 = '''
def similar_elements(test_tup1, test_tup2):
    """Write a function to find the similar elements from the given two tuple lists."""

assert similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5)
assert similar_elements((1, 2, 3, 4),(5, 4, 3, 7)) == (3, 4)
assert similar_elements((11, 12, 14, 13),(17, 15, 14, 13)) == (13, 14)
'''

ADD = f'''
def add(a, b):
    """Add two numbers."""

assert add(1, 2) == 3
assert add(-1, 1) == 0
assert str(add(2, 2)) != "{HIDDEN_MARK}"  # hidden
'''
GOOD = "```python\ndef add(a, b):\n    return a + b\n```"
WRONG = "```python\ndef add(a, b):\n    return a - b\n```"


def run(fake: FakeLLM, spec: str, tmp_path: Path, **options: object):  # type: ignore[no-untyped-def]
    """A search against the fake server. Clustering is off unless asked for: its one extra
    request (edge-case inputs) would shift scripted replies and request counts."""
    options.setdefault("cache_dir", str(tmp_path / "cache"))
    options.setdefault("cluster", False)
    return search(spec, model=MODEL, api_base=fake.url, timeout=5.0, **options)


@pytest.fixture
def mbpp() -> MbppResponder:
    return MbppResponder()


def test_a_run_turns_replies_into_verified_ranked_candidates(
    mbpp: MbppResponder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="jupyter_codesearch.generate"), FakeLLM(mbpp) as fake:
        result = run(fake, MBPP_2, tmp_path, n=14, concurrency=4)
    assert result.error is None, result.error
    assert result.progress.state == "done"
    # One request per sample; a request that failed in transit (the machine is loaded, a
    # connection dropped) is retried, and says so.
    retried = [r for r in caplog.records if "failed (" in r.getMessage()]
    assert len(fake.completion_requests) == 14 + len(retried), [r.getMessage() for r in retried]
    assert result.progress.requests == len(fake.completion_requests)
    by_status: dict[str, int] = {}
    for c in result.candidates:
        by_status[c.status] = by_status.get(c.status, 0) + 1
    # 7 variants twice: the three canonical spellings are one program (6 samples), and the
    # rest (wrong, prose, syntax error, other function) are separate candidates.
    best = result.best
    assert best is not None and best.passed and best.samples == 6
    assert best.tokens > 0 and best.cost is not None and best.cost > 0
    assert by_status["passed"] == 1
    assert by_status["invalid"] >= 3
    assert any(c.status in ("failed", "error") for c in result.candidates)
    assert result.ranked()[0] is not None and result.ranked()[0].id == best.id
    assert result.progress.generated == 14
    frame = result.to_frame()
    assert list(frame.columns[:5]) == ["id", "status", "passed", "tests_passed", "tests_total"]
    assert frame.iloc[0]["passed"]
    wanted = {"runtime_s", "size", "round", "samples", "tokens", "cost", "model", "cluster", "cluster_size"}
    assert wanted <= set(frame.columns)


def test_an_identical_second_run_makes_no_requests(mbpp: MbppResponder, tmp_path: Path) -> None:
    with FakeLLM(mbpp) as fake:
        first = run(fake, MBPP_2, tmp_path, n=7)
        sent = len(fake.completion_requests)
        second = run(fake, MBPP_2, tmp_path, n=7)
        assert len(fake.completion_requests) == sent == 7
    # The same programs (by normalised code: which spelling of a duplicate arrives first, and
    # so represents it, depends on reply order) and the same winner.
    assert sorted(c.key for c in first.candidates) == sorted(c.key for c in second.candidates)
    assert first.best is not None and second.best is not None and first.best.key == second.best.key
    assert second.progress.cost == 0


def test_rate_limits_and_server_errors_are_retried(tmp_path: Path) -> None:
    with FakeLLM(ScriptedResponder([GOOD])) as fake:
        fake.fail_next(2, "429")
        fake.fail_next(1, "500")
        result = run(fake, ADD, tmp_path, n=1, retries=3, cache=False)
        assert len(fake.completion_requests) == 4
    assert result.best is not None


def test_a_timeout_is_retried_within_the_request_timeout(tmp_path: Path) -> None:
    with FakeLLM(ScriptedResponder([GOOD])) as fake:
        fake.fail_next(1, "timeout")
        result = run(fake, ADD, tmp_path, n=1, retries=1, request_timeout=1.0, cache=False)
    assert result.best is not None


def test_budget_stops_generation_and_says_so(tmp_path: Path) -> None:
    with FakeLLM(ScriptedResponder([WRONG]), latency=0.05) as fake:
        result = run(fake, ADD, tmp_path, n=20, concurrency=1, max_tokens=120, cache=False)
        sent = len(fake.completion_requests)
    assert 1 <= sent < 20
    assert any(n.startswith("budget reached") for n in result.notices), result.notices
    assert result.progress.state == "done"


def test_hidden_asserts_are_in_no_request_body(tmp_path: Path) -> None:
    edge_cases = '[[0, 0], [-5, 5], [1000000, 1]]'
    tests = "```python\nassert add(7, 8) == 15\nassert add(3, 3) == 7\n```"
    code = iter([WRONG, WRONG, GOOD, GOOD, GOOD, GOOD])

    def reply(request):  # type: ignore[no-untyped-def]
        if "edge-case inputs" in request.user_text:
            return edge_cases
        return tests if "test cases" in request.user_text else next(code)

    with FakeLLM(reply) as fake:
        result = run(fake, ADD, tmp_path, n=2, rounds=2, cache=False, cluster=True, test_cases=2)
        bodies = [r.raw.decode() for r in fake.completion_requests]
    # samples, the repair round, the request for edge-case inputs and two for test cases
    assert len(bodies) >= 6
    assert all(HIDDEN_MARK not in b for b in bodies)
    assert all("add(1, 2) == 3" in json.loads(b)["messages"][-1]["content"] for b in bodies)
    asking = [json.loads(b) for b in bodies if "edge-case inputs" in b]
    assert len(asking) == 1 and "Do not include expected outputs" in asking[0]["messages"][-1]["content"]
    assert len([b for b in bodies if "test cases" in b]) == 2
    assert (0, 0) in result.probes and (-5, 5) in result.probes and (7, 8) in result.probes
    best = result.best
    assert best is not None
    assert "agrees with 1 of 2 model-written tests" in best.rank_reason  # add(3, 3) == 7 is the model's mistake


def test_repair_rounds_show_failures_and_record_round_and_parent(tmp_path: Path) -> None:
    with FakeLLM(ScriptedResponder([WRONG, WRONG, GOOD, GOOD])) as fake:
        result = run(fake, ADD, tmp_path, n=2, rounds=2, cache=False)
        repair = [r for r in fake.completion_requests if "This attempt is wrong" in r.user_text]
    wrong = next(c for c in result.candidates if c.round == 1)
    assert wrong.samples == 2 and not wrong.passed
    assert repair and "return a - b" in repair[0].user_text
    assert "got -1, expected 3" in repair[0].user_text
    fixed = result.best
    assert fixed is not None and fixed.round == 2 and fixed.parent == wrong.id


def test_until_pass_stops_after_the_first_passing_round(tmp_path: Path) -> None:
    with FakeLLM(ScriptedResponder([GOOD])) as fake:
        result = run(fake, ADD, tmp_path, n=2, rounds=3, until_pass=True, cache=False)
        assert len(fake.completion_requests) == 2
    assert result.progress.round == 1


def test_api_key_comes_from_the_named_variable_and_is_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    key = "sk-named-var-key-7f3a9c2e"
    monkeypatch.setenv("MY_PROVIDER_KEY", key)
    caplog.set_level(logging.DEBUG)
    with FakeLLM(ScriptedResponder([GOOD]), api_key=key) as fake:
        result = run(fake, ADD, tmp_path, n=2, api_key_env="MY_PROVIDER_KEY")
        assert all(r.headers["authorization"] == f"Bearer {key}" for r in fake.completion_requests)
    assert result.best is not None
    out, err = capfd.readouterr()
    shown = [out, err, caplog.text, repr(result.candidates), result.to_frame().to_string(), repr(result.config)]
    cached = [p.read_text() for p in (tmp_path / "cache").rglob("*.json")]
    assert cached
    assert all(key not in text for text in shown + cached)


def test_a_wrong_key_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_PROVIDER_KEY", "sk-wrong-key-000000")
    with FakeLLM(ScriptedResponder([GOOD]), api_key="sk-right") as fake:
        result = run(fake, ADD, tmp_path, n=8, api_key_env="MY_PROVIDER_KEY", cache=False)
    assert isinstance(result.error, ModelError)
    message = str(result.error)
    assert MODEL in message and "MY_PROVIDER_KEY" in message and "AuthenticationError" in message
    assert "sk-wrong-key-000000" not in message
    assert "\n" not in message and "Traceback" not in message
    assert result.progress.state == "failed"


def test_an_unknown_model_is_one_clear_error(tmp_path: Path) -> None:
    with FakeLLM(ScriptedResponder([GOOD])) as fake:
        fake.fail_next(100, "404_model")
        result = run(fake, ADD, tmp_path, n=4, cache=False)
    assert isinstance(result.error, ModelError)
    assert "NotFoundError" in str(result.error) and "check the model name" in str(result.error)


def test_an_unreachable_server_is_one_clear_error(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    result = search(ADD, model=MODEL, api_base=f"http://127.0.0.1:{port}/v1", n=4, retries=1, cache=False)
    assert isinstance(result.error, ModelError)
    assert f"127.0.0.1:{port}" in str(result.error) and "--api-base" in str(result.error)


def test_importing_the_package_does_not_import_litellm() -> None:
    code = "import sys, jupyter_codesearch; print('litellm' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_run_prints_a_ranked_json_line_per_candidate(mbpp: MbppResponder, tmp_path: Path) -> None:
    (tmp_path / "spec.py").write_text(MBPP_2)
    with FakeLLM(mbpp) as fake:
        env = {**os.environ, "CODESEARCH_CACHE_DIR": str(tmp_path / "cache")}
        proc = subprocess.run(
            [sys.executable, "-m", "jupyter_codesearch.cli", "run", "spec.py", "--model", MODEL,
             "--api-base", fake.url, "-n", "7", "--json"],  # with clustering (the default)
            capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300, check=False,
        )
    assert proc.returncode == 0, proc.stderr
    *rows, last = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0]["passed"] and rows[0]["samples"] == 3 and rows[0]["round"] == 1
    assert (rows[0]["cluster"], rows[0]["cluster_size"]) == (1, 3)
    assert {"code", "tokens", "cost", "status", "tests", "runtime_s", "index", "rank_reason"} <= set(rows[0])
    assert last == {"disagreements": []}  # one passing behaviour: nothing to disagree on
    assert "generated 7" in proc.stderr


def test_cli_run_with_a_broken_provider_prints_one_line(tmp_path: Path) -> None:
    (tmp_path / "spec.py").write_text(ADD)
    with FakeLLM(ScriptedResponder([GOOD])) as fake:
        fake.fail_next(100, "404_model")
        proc = subprocess.run(
            [sys.executable, "-m", "jupyter_codesearch.cli", "run", "spec.py", "--model", MODEL,
             "--api-base", fake.url, "-n", "3", "--no-cache"],
            capture_output=True, text=True, cwd=tmp_path, timeout=300, check=False,
        )
    assert proc.returncode == 3
    errors = [line for line in proc.stderr.splitlines() if "cannot be used" in line]
    assert len(errors) == 1 and "Traceback" not in proc.stderr


def test_a_failed_run_ends_its_edge_case_request_too(tmp_path: Path) -> None:
    with FakeLLM(ScriptedResponder([GOOD]), latency=lambda r: 30.0 if "edge-case" in r.user_text else 0.0) as fake:
        fake.fail_next(100, "404_model")
        result = run(fake, ADD, tmp_path, n=3, cache=False, cluster=True)
        assert isinstance(result.error, ModelError)
        probes = result._prober.ready
        assert probes is not None and probes.done()  # not still waiting on the 30 s reply


def test_stop_ends_a_run_promptly_and_keeps_what_was_verified(tmp_path: Path) -> None:
    import time

    with FakeLLM(ScriptedResponder([GOOD, WRONG]), latency=lambda r: 0.05 if r.index < 2 else 30) as fake:
        run_ = search(ADD, model=MODEL, api_base=fake.url, n=10, concurrency=10, cache=False, cluster=False,
                      wait=False)
        deadline = time.monotonic() + 60
        while run_.progress.verified < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        start = time.monotonic()
        run_.stop()
        run_.wait(30)
        stopped_in = time.monotonic() - start
    assert run_.done and run_.progress.state == "stopped"
    assert stopped_in < 5
    assert run_.best is not None and run_.progress.verified == 2
    assert "stopped by the user" in run_.notices


def test_a_second_stop_while_the_run_is_ending_still_lets_it_end(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    import time

    from jupyter_codesearch.run import SearchRun

    ending = SearchRun._end_side_tasks

    async def slow_to_end(self: SearchRun) -> None:  # a side task that takes a while to cancel
        await asyncio.sleep(1.0)
        await ending(self)

    monkeypatch.setattr(SearchRun, "_end_side_tasks", slow_to_end)
    with FakeLLM(ScriptedResponder([GOOD]), latency=30) as fake:
        run_ = search(ADD, model=MODEL, api_base=fake.url, n=2, cache=False, wait=False)
        time.sleep(0.5)
        run_.stop()
        time.sleep(0.3)
        run_.stop()  # lands while the run is ending (the button pressed twice, a re-run cell)
        run_.wait(10)
    assert run_.done and run_.progress.state == "stopped"


def test_the_time_limit_stops_the_run_and_says_so(tmp_path: Path) -> None:
    with FakeLLM(ScriptedResponder([GOOD]), latency=lambda r: 0.05 if r.index == 0 else 30) as fake:
        result = run(fake, ADD, tmp_path, n=4, concurrency=4, cache=False, time_limit=3)
    assert result.progress.state == "stopped"
    assert result.progress.elapsed < 15
    assert result.best is not None
    assert any("time limit of 3 s reached" in n for n in result.notices)


def test_long_provider_messages_are_cut_at_a_word_and_marked() -> None:
    from jupyter_codesearch.generate._llm import _clip

    text = "Missing credentials. Please pass an api_key or set the OPENAI_ADMIN_KEY variable"
    assert _clip(text, 200) == text
    cut = _clip(text, 70)
    assert cut == "Missing credentials. Please pass an api_key or set the ..." and len(cut) <= 74


def test_a_request_cancelled_inside_litellm_leaves_nothing_in_red() -> None:
    # litellm builds its provider coroutine in an executor thread; cancelled meanwhile, the
    # coroutine is dropped unstarted. Here that drop is made on purpose, as in a user's process.
    code = (
        "import gc\n"
        "from jupyter_codesearch.generate._llm import import_litellm\n"
        "import_litellm()\n"
        "class OpenAIChatCompletion:\n"
        "    async def acompletion(self):\n"
        "        pass\n"
        "dropped = OpenAIChatCompletion().acompletion()\n"
        "del dropped\n"
        "gc.collect()\n"
        "async def other():\n"
        "    pass\n"
        "mine = other()\n"  # any other unawaited coroutine is still reported
        "del mine\n"
        "gc.collect()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert "acompletion" not in proc.stderr, proc.stderr
    assert "coroutine 'other' was never awaited" in proc.stderr, proc.stderr

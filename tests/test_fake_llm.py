"""The local OpenAI-compatible server every LLM test and benchmark runs against.

Driven over real HTTP: plain ``http.client``/``urllib`` for the wire format and each fault, and
litellm (the client the product uses) for end-to-end behaviour.
"""

from __future__ import annotations

import ast
import asyncio
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from tests.support.fake_llm import (
    DEFAULT_MIX,
    FAULT_KINDS,
    FakeLLM,
    Fault,
    MbppResponder,
    Request,
    ScriptedResponder,
    load_mbpp,
    variants,
)

STUB = 'def min_cost(cost, m, n):\n    """Minimum cost path to (m, n)."""\n'


def _fake_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("FakeLLM-")]


@pytest.fixture(autouse=True)
def _no_server_threads_left() -> Iterator[None]:
    """Every test must leave no server thread behind (serving loop or connection handler)."""
    yield
    assert _fake_threads() == []


@pytest.fixture(scope="module")
def mbpp() -> MbppResponder:
    return MbppResponder()


def _post(
    fake: FakeLLM,
    body: dict[str, Any] | bytes,
    *,
    path: str = "/v1/chat/completions",
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=timeout)
    try:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        conn.request("POST", path, body=data, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def _get(fake: FakeLLM, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(f"http://127.0.0.1:{fake.port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _chat(content: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}], **extra}


# ---------------------------------------------------------------------------------------------
# Wire format
# ---------------------------------------------------------------------------------------------


def test_completion_has_openai_shape_and_rough_token_usage() -> None:
    with FakeLLM(ScriptedResponder(["x" * 40])) as fake:
        status, headers, raw = _post(fake, _chat("y" * 81))
    assert status == 200 and headers["content-type"] == "application/json"
    body = json.loads(raw)
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-") and isinstance(body["created"], int)
    assert body["model"] == "gpt-4o-mini"
    assert body["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "x" * 40, "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ]
    assert body["usage"] == {"prompt_tokens": 20, "completion_tokens": 10, "total_tokens": 30}


def test_token_counts_are_at_least_one() -> None:
    with FakeLLM(ScriptedResponder([""])) as fake:
        _, _, raw = _post(fake, _chat("a"))
    assert json.loads(raw)["usage"] == {
        "prompt_tokens": 1,
        "completion_tokens": 1,
        "total_tokens": 2,
    }


def test_path_without_v1_prefix_is_served_too() -> None:
    with FakeLLM(ScriptedResponder(["ok"])) as fake:
        status, _, raw = _post(fake, _chat(), path="/chat/completions")
    assert status == 200 and json.loads(raw)["choices"][0]["message"]["content"] == "ok"


def test_n_choices_come_from_a_list_reply_or_repeat_a_string_reply() -> None:
    with FakeLLM(ScriptedResponder([["a", "bb", "ccc"], "same"])) as fake:
        _, _, first = _post(fake, _chat(n=3))
        _, _, second = _post(fake, _chat(n=2))
    choices = json.loads(first)["choices"]
    assert [(c["index"], c["message"]["content"]) for c in choices] == [
        (0, "a"),
        (1, "bb"),
        (2, "ccc"),
    ]
    assert [c["message"]["content"] for c in json.loads(second)["choices"]] == ["same", "same"]


def test_max_tokens_cuts_the_reply_and_reports_length() -> None:
    with FakeLLM(ScriptedResponder(["z" * 100])) as fake:
        _, _, raw = _post(fake, _chat(max_tokens=5))
    choice = json.loads(raw)["choices"][0]
    assert choice["message"]["content"] == "z" * 20 and choice["finish_reason"] == "length"


def test_models_endpoint_lists_the_configured_models() -> None:
    with FakeLLM(ScriptedResponder(["-"]), models=["m1", "m2"]) as fake:
        status, body = _get(fake, "/v1/models")
        one_status, one = _get(fake, "/v1/models/m2")
        missing_status, missing = _get(fake, "/v1/models/nope")
    assert status == 200 and body["object"] == "list"
    assert [m["id"] for m in body["data"]] == ["m1", "m2"]
    assert one_status == 200 and one["id"] == "m2"
    assert missing_status == 404 and missing["error"]["code"] == "model_not_found"


def test_invalid_json_body_is_a_400_and_is_still_recorded() -> None:
    with FakeLLM(ScriptedResponder(["-"])) as fake:
        status, _, raw = _post(fake, b"{not json")
        reqs = fake.requests
    assert status == 400 and json.loads(raw)["error"]["type"] == "invalid_request_error"
    assert reqs[0].raw == b"{not json" and reqs[0].body == {}


def test_requests_are_recorded_in_arrival_order_with_lowercase_headers() -> None:
    with FakeLLM(ScriptedResponder(["-"])) as fake:
        _post(fake, _chat("first"), headers={"X-Trace": "abc"})
        _get(fake, "/v1/models")
        _post(fake, _chat("second"))
        reqs = fake.requests
    assert [r.index for r in reqs] == [0, 1, 2]
    assert [(r.method, r.path) for r in reqs] == [
        ("POST", "/v1/chat/completions"),
        ("GET", "/v1/models"),
        ("POST", "/v1/chat/completions"),
    ]
    assert reqs[0].headers["x-trace"] == "abc"
    assert reqs[0].body["messages"][0]["content"] == "first"
    assert json.loads(reqs[2].raw) == reqs[2].body


def test_concurrent_requests_each_get_a_distinct_index() -> None:
    with FakeLLM(ScriptedResponder(["-"]), latency=0.05) as fake:
        threads = [threading.Thread(target=_post, args=(fake, _chat(str(i)))) for i in range(24)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        reqs = fake.requests
    assert sorted(r.index for r in reqs) == list(range(24))
    assert sorted(r.body["messages"][0]["content"] for r in reqs) == sorted(map(str, range(24)))


def test_streaming_sends_sse_chunks_that_reassemble_per_choice() -> None:
    with FakeLLM(ScriptedResponder([["first answer " * 5, "second"]])) as fake:
        status, headers, raw = _post(
            fake, _chat(stream=True, n=2, stream_options={"include_usage": True})
        )
    assert status == 200 and headers["content-type"] == "text/event-stream"
    events = [e for e in raw.decode().split("\n\n") if e]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    chunks = [json.loads(e[len("data: ") :]) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    text: dict[int, str] = {0: "", 1: ""}
    finish: dict[int, str] = {}
    for c in chunks:
        for ch in c["choices"]:
            text[ch["index"]] += ch["delta"].get("content") or ""
            if ch["finish_reason"]:
                finish[ch["index"]] = ch["finish_reason"]
    assert text == {0: "first answer " * 5, 1: "second"}
    assert finish == {0: "stop", 1: "stop"}
    assert len([c for c in chunks if c["choices"] and c["choices"][0]["index"] == 0]) > 3
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0


# ---------------------------------------------------------------------------------------------
# Auth and faults
# ---------------------------------------------------------------------------------------------


def test_wrong_or_missing_api_key_gets_openai_401() -> None:
    with FakeLLM(ScriptedResponder(["ok"]), api_key="sk-good") as fake:
        fake.fail_next(1, "500")
        bad_status, _, bad = _post(fake, _chat(), headers={"Authorization": "Bearer sk-bad"})
        none_status, _, _ = _post(fake, _chat())
        models_status, _ = _get(fake, "/v1/models")
        # The queued fault was not used up by the rejected requests.
        fault_status, _, _ = _post(fake, _chat(), headers={"Authorization": "Bearer sk-good"})
        ok_status, _, ok = _post(fake, _chat(), headers={"Authorization": "Bearer sk-good"})
    assert bad_status == none_status == models_status == 401
    assert json.loads(bad) == {
        "error": {
            "message": "Incorrect API key provided",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
    }
    assert fault_status == 500
    assert ok_status == 200 and json.loads(ok)["choices"][0]["message"]["content"] == "ok"


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("429", 429, "rate_limit_exceeded"),
        ("500", 500, None),
        ("503", 503, None),
        ("401", 401, "invalid_api_key"),
        ("404_model", 404, "model_not_found"),
    ],
)
def test_error_faults_answer_with_status_and_openai_error_body(
    kind: str, status: int, code: str | None
) -> None:
    with FakeLLM(ScriptedResponder(["fine"])) as fake:
        fake.fail_next(2, kind)  # type: ignore[arg-type]
        first = _post(fake, _chat())
        second = _post(fake, _chat())
        third = _post(fake, _chat())
    for got_status, _, raw in (first, second):
        assert got_status == status
        error = json.loads(raw)["error"]
        assert error["code"] == code and error["message"] and error["type"]
    assert third[0] == 200, "faults last exactly n requests"
    if kind == "429":
        assert first[1]["retry-after"] == "0"
    if kind == "404_model":
        assert "gpt-4o-mini" in json.loads(first[2])["error"]["message"]


def test_malformed_fault_returns_200_with_unparseable_json() -> None:
    with FakeLLM(ScriptedResponder(["fine"])) as fake:
        fake.fail_next(1, "malformed")
        status, headers, raw = _post(fake, _chat())
    assert status == 200 and headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw)


def test_no_choices_fault_returns_valid_json_without_choices() -> None:
    with FakeLLM(ScriptedResponder(["fine"])) as fake:
        fake.fail_next(1, "no_choices")
        status, _, raw = _post(fake, _chat())
    assert status == 200 and "choices" not in json.loads(raw)


def test_timeout_fault_outlasts_a_client_timeout_then_service_resumes() -> None:
    with FakeLLM(ScriptedResponder(["back"])) as fake:
        fake.fail_next(1, "timeout")
        start = time.monotonic()
        with pytest.raises((TimeoutError, socket.timeout)):
            _post(fake, _chat(), timeout=0.3)
        assert time.monotonic() - start >= 0.3
        status, _, raw = _post(fake, _chat())
    assert status == 200 and json.loads(raw)["choices"][0]["message"]["content"] == "back"


def test_stop_is_prompt_while_a_timeout_fault_holds_a_connection() -> None:
    outcome: list[BaseException | int] = []

    def client(fake: FakeLLM) -> None:
        try:
            outcome.append(_post(fake, _chat(), timeout=30)[0])
        except BaseException as exc:
            outcome.append(exc)

    fake = FakeLLM(ScriptedResponder(["-"])).start()
    fake.fail_next(1, "timeout")
    t = threading.Thread(target=client, args=(fake,))
    t.start()
    while not fake.requests:
        time.sleep(0.01)
    start = time.monotonic()
    fake.stop()
    assert time.monotonic() - start < 1.0
    t.join(5)
    assert not t.is_alive()
    assert len(outcome) == 1 and isinstance(
        outcome[0], (ConnectionError, http.client.HTTPException)
    )
    assert fake.threads() == []


def test_stop_closes_idle_keepalive_connections() -> None:
    fake = FakeLLM(ScriptedResponder(["-"])).start()
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)
    conn.request("POST", "/v1/chat/completions", body=json.dumps(_chat()))
    conn.getresponse().read()  # the connection stays open (HTTP/1.1 keep-alive)
    assert len(fake.threads()) == 2  # serving loop + the idle connection's handler
    start = time.monotonic()
    fake.stop()
    conn.close()
    assert time.monotonic() - start < 1.0
    assert fake.threads() == []


def test_stop_interrupts_a_long_latency() -> None:
    def client(fake: FakeLLM) -> None:
        try:
            _post(fake, _chat(), timeout=30)
        except (OSError, http.client.HTTPException):
            pass  # the server hung up on us: that is the point

    fake = FakeLLM(ScriptedResponder(["-"]), latency=30.0).start()
    t = threading.Thread(target=client, args=(fake,))
    t.start()
    while not fake.requests:
        time.sleep(0.01)
    start = time.monotonic()
    fake.stop()
    t.join(5)
    assert time.monotonic() - start < 1.0 and not t.is_alive()


def test_latency_delays_responses_and_can_depend_on_the_request() -> None:
    def staggered(req: Request) -> float:
        return 0.3 if req.body["messages"][0]["content"] == "slow" else 0.0

    with FakeLLM(ScriptedResponder(["-"]), latency=staggered) as fake:
        start = time.monotonic()
        _post(fake, _chat("fast"))
        fast = time.monotonic() - start
        start = time.monotonic()
        _post(fake, _chat("slow"))
        slow = time.monotonic() - start
    assert fast < 0.25 <= 0.3 <= slow
    with FakeLLM(ScriptedResponder(["-"]), latency=0.2) as fake:
        start = time.monotonic()
        _post(fake, _chat())
        assert time.monotonic() - start >= 0.2


def test_responder_can_reply_with_a_fault() -> None:
    with FakeLLM(ScriptedResponder([Fault("503"), "after"])) as fake:
        first, _, _ = _post(fake, _chat())
        second, _, raw = _post(fake, _chat())
    assert first == 503
    assert second == 200 and json.loads(raw)["choices"][0]["message"]["content"] == "after"


def test_a_crashing_responder_gives_500_and_is_reported() -> None:
    def broken(req: Request) -> str:
        raise KeyError("oops")

    with FakeLLM(broken) as fake:
        status, _, _ = _post(fake, _chat())
        errors = fake.errors
    assert status == 500 and len(errors) == 1 and isinstance(errors[0], KeyError)


def test_unknown_fault_kinds_are_rejected() -> None:
    fake = FakeLLM(ScriptedResponder(["-"]))
    with pytest.raises(ValueError, match="unknown fault kind"):
        fake.fail_next(1, "418")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Fault("teapot")  # type: ignore[arg-type]
    assert set(FAULT_KINDS) >= {"429", "500", "503", "timeout", "malformed", "401", "404_model"}


def test_url_points_at_v1_on_loopback() -> None:
    with FakeLLM(ScriptedResponder(["-"])) as fake:
        assert fake.url == f"http://127.0.0.1:{fake.port}/v1"
    with pytest.raises(RuntimeError):
        _ = fake.url  # stopped: there is no port any more


# ---------------------------------------------------------------------------------------------
# MbppResponder
# ---------------------------------------------------------------------------------------------


def test_mbpp_seed_picks_the_variant_from_the_mix(mbpp: MbppResponder) -> None:
    task = mbpp.task_for("min_cost")
    assert task is not None and task.task_id == 1
    table = mbpp.variants(task)
    with FakeLLM(mbpp) as fake:
        got = [
            json.loads(_post(fake, _chat(STUB, seed=s))[2])["choices"][0]["message"]["content"]
            for s in range(len(DEFAULT_MIX) + 1)
        ]
    expected = [table[DEFAULT_MIX[s % len(DEFAULT_MIX)]] for s in range(len(DEFAULT_MIX) + 1)]
    assert got == expected
    assert "```python" in got[0] and task.code.strip() in got[0]


def test_mbpp_without_seed_cycles_over_identical_requests() -> None:
    responder = MbppResponder(mix=("canonical_bare", "wrong"))
    with FakeLLM(responder) as fake:
        got = [json.loads(_post(fake, _chat(STUB))[2]) for _ in range(3)]
        other = json.loads(_post(fake, _chat(STUB + "\n# another prompt"))[2])
    kinds = [s.variant for s in responder.served]
    assert kinds == ["canonical_bare", "wrong", "canonical_bare", "canonical_bare"]
    assert got[0]["choices"][0]["message"]["content"] == other["choices"][0]["message"]["content"]


def test_mbpp_n_choices_take_consecutive_variants(mbpp: MbppResponder) -> None:
    task = mbpp.task_for("min_cost")
    assert task is not None
    with FakeLLM(mbpp) as fake:
        body = json.loads(_post(fake, _chat(STUB, n=3, seed=2))[2])
    contents = [c["message"]["content"] for c in body["choices"]]
    assert contents == [mbpp.variants(task)[k] for k in DEFAULT_MIX[2:5]]


def test_mbpp_finds_the_task_from_assert_lines_without_a_stub(mbpp: MbppResponder) -> None:
    prompt = "Make these pass:\nassert similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5)\n"
    task = mbpp.match(prompt)
    assert task is not None and task.task_id == 2


def test_mbpp_tells_namesakes_apart_by_their_asserts(mbpp: MbppResponder) -> None:
    namesakes = [t for t in mbpp.tasks if t.name == "min_Swaps"]
    assert len(namesakes) >= 2
    for task in namesakes:
        prompt = f"def min_Swaps(a, b):\n    ...\n\n{task.test_list[0]}\n{task.test_list[1]}\n"
        assert mbpp.match(prompt) == task
        by_text = f"{task.text}\n\ndef min_Swaps(a, b):\n    ..."
        assert mbpp.task_for("min_Swaps", by_text) == task


def test_mbpp_unknown_task_gets_a_prose_apology_without_code(mbpp: MbppResponder) -> None:
    with FakeLLM(mbpp) as fake:
        body = json.loads(_post(fake, _chat("def no_such_function_here(x):\n    ...", seed=0))[2])
    content = body["choices"][0]["message"]["content"]
    assert "sorry" in content.lower() and "```" not in content and "def " not in content


def test_mbpp_mix_must_name_known_variants() -> None:
    with pytest.raises(ValueError, match="mix"):
        MbppResponder(mix=("canonical_bare", "nonsense"))
    with pytest.raises(ValueError):
        MbppResponder(mix=())


def test_mbpp_data_path_can_be_given_and_missing_data_is_a_clear_error(tmp_path: Any) -> None:
    line = {
        "text": "Write a function to add one.",
        "code": "def inc(x):\r\n  return x + 1",
        "task_id": 7,
        "test_setup_code": "",
        "test_list": ["assert inc(1) == 2"],
        "challenge_test_list": [],
    }
    path = tmp_path / "mini.jsonl"
    path.write_text(json.dumps(line) + "\n")
    responder = MbppResponder(mix=("canonical_bare",), path=path)
    task = responder.task_for("inc")
    assert task is not None and task.code == "def inc(x):\n  return x + 1"
    with pytest.raises(FileNotFoundError, match="MBPP data not found"):
        MbppResponder(path=tmp_path / "absent.jsonl")


def _parse_quiet(source: str) -> ast.Module:
    # MBPP code has regexes with invalid escapes ('\d' in a plain string); parsing warns.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", SyntaxWarning)
        return ast.parse(source)


def _fenced(reply: str) -> str:
    start = reply.index("```python\n") + len("```python\n")
    return reply[start : reply.index("```", start)]


def _defines(tree: ast.Module, name: str) -> bool:
    return any(isinstance(n, ast.FunctionDef) and n.name == name for n in tree.body)


def test_every_task_has_well_formed_variants() -> None:
    for task in load_mbpp():
        table = variants(task)
        assert set(table) == set(DEFAULT_MIX)
        canonical = ast.dump(_parse_quiet(task.code))
        assert task.code.strip() in table["canonical_fenced"]
        assert table["canonical_bare"].strip() == task.code.strip()
        reformatted = table["canonical_reformatted"]
        assert ast.dump(_parse_quiet(reformatted)) == canonical, task.task_id
        assert reformatted.strip() != task.code.strip()
        assert _defines(_parse_quiet(_fenced(table["wrong"])), task.name)
        with pytest.raises(SyntaxError):
            _parse_quiet(_fenced(table["syntax_error"]))
        other = _parse_quiet(_fenced(table["other_function"]))
        assert not _defines(other, task.name) and any(
            isinstance(n, ast.FunctionDef) for n in other.body
        )
        assert "```" not in table["prose_only"] and "def " not in table["prose_only"]


_RUN_ALL = r"""
import json, signal, sys, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, sys.argv[1])
from tests.support.fake_llm import load_mbpp, variants

def fenced(reply):
    start = reply.index("```python\n") + len("```python\n")
    return reply[start : reply.index("```", start)]

def passes(code, task):
    signal.alarm(5)
    env = {}
    try:
        exec(code, env)
        exec(task.test_setup_code, env)
        out = []
        for t in task.test_list:
            try:
                exec(t, env)
                out.append(True)
            except Exception:
                out.append(False)
        return out
    except BaseException:
        return None
    finally:
        signal.alarm(0)

report = {"checked": 0, "reformatted_differs": [], "wrong_passes": []}
for task in load_mbpp():
    table = variants(task)
    canonical = passes(task.code, task)
    if canonical is None or not all(canonical):
        continue  # a few MBPP solutions do not pass their own asserts
    report["checked"] += 1
    if passes(table["canonical_reformatted"], task) != canonical:
        report["reformatted_differs"].append(task.task_id)
    if passes(fenced(table["wrong"]), task) == canonical:
        report["wrong_passes"].append(task.task_id)
print(json.dumps(report))
"""


def test_reformatted_variants_pass_and_wrong_variants_fail_the_task_asserts() -> None:
    # MBPP code runs in a child process: it prints, recurses and sets globals, none of which
    # belongs in the pytest process.
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run(
        [sys.executable, "-c", _RUN_ALL, repo], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["checked"] > 400
    assert report["reformatted_differs"] == []
    assert report["wrong_passes"] == []


# ---------------------------------------------------------------------------------------------
# litellm, for real
# ---------------------------------------------------------------------------------------------


# Importing litellm installs process-wide warning ignores (litellm/_process_defaults.py); pytest's
# per-test filters (pyproject: filterwarnings = error) replace them, so they are repeated here.
# - pydantic warns that it cannot enforce `ReadOnly` TypedDict items; litellm imports such a
#   TypedDict (llms/github_copilot/authenticator.py) lazily on every completion call.
litellm_warnings = pytest.mark.filterwarnings(
    r"ignore:.*`ReadOnly` qualifier.*:UserWarning:pydantic._internal._generate_schema"
)


@pytest.fixture(scope="module")
def litellm() -> ModuleType:
    # Without this litellm fetches its model price list from GitHub at import time. Left set on
    # purpose: the module stays imported for the rest of the session anyway.
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    mod: ModuleType = pytest.importorskip("litellm")
    # No "Give Feedback / Get Help" banner printed on every error.
    mod.suppress_debug_info = True  # type: ignore[attr-defined]
    return mod


def _acomplete(litellm: ModuleType, fake: FakeLLM, **kwargs: Any) -> Any:
    params: dict[str, Any] = {
        "model": "openai/gpt-4o-mini",
        "api_base": fake.url,
        "api_key": "sk-test",
        "messages": [{"role": "user", "content": f"Complete this function:\n{STUB}"}],
        "timeout": 5,
        "num_retries": 0,
        **kwargs,
    }
    return asyncio.run(litellm.acompletion(**params))


@litellm_warnings
def test_litellm_gets_the_seeded_mbpp_variant_with_usage_and_cost(
    litellm: ModuleType, mbpp: MbppResponder
) -> None:
    task = mbpp.task_for("min_cost")
    assert task is not None
    with FakeLLM(mbpp, api_key="sk-test") as fake:
        resp = _acomplete(litellm, fake, seed=3)
        sent = fake.requests[-1]
    assert resp.choices[0].message.content == mbpp.variants(task)[DEFAULT_MIX[3]]
    assert sent.body["seed"] == 3 and sent.body["model"] == "gpt-4o-mini"
    assert sent.headers["authorization"] == "Bearer sk-test"
    content_tokens = len(resp.choices[0].message.content) // 4
    assert resp.usage.completion_tokens == content_tokens
    assert resp.usage.prompt_tokens == len(sent.body["messages"][0]["content"]) // 4
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + content_tokens
    cost = litellm.completion_cost(completion_response=resp)
    assert cost > 0
    expected = litellm.cost_per_token(
        model="gpt-4o-mini",
        prompt_tokens=resp.usage.prompt_tokens,
        completion_tokens=content_tokens,
    )
    assert cost == pytest.approx(sum(expected))


@litellm_warnings
def test_litellm_retries_past_a_rate_limit(litellm: ModuleType) -> None:
    with FakeLLM(ScriptedResponder(["recovered"])) as fake:
        fake.fail_next(1, "429")
        resp = _acomplete(litellm, fake, num_retries=2)
        statuses = len(fake.requests)
    assert resp.choices[0].message.content == "recovered"
    assert statuses == 2


@litellm_warnings
@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("429", "RateLimitError"),
        ("500", "InternalServerError"),
        ("503", "ServiceUnavailableError"),
        ("401", "AuthenticationError"),
        ("404_model", "NotFoundError"),
        ("malformed", "InternalServerError"),
        ("no_choices", "InternalServerError"),
        ("timeout", "Timeout"),
    ],
)
@litellm_warnings
def test_litellm_raises_its_mapped_exception_for_each_fault(
    litellm: ModuleType, kind: str, error: str
) -> None:
    with FakeLLM(ScriptedResponder(["-"])) as fake:
        fake.fail_next(1, kind)  # type: ignore[arg-type]
        start = time.monotonic()
        with pytest.raises(getattr(litellm, error)):
            _acomplete(litellm, fake, timeout=1)
        assert time.monotonic() - start < 3
        assert len(fake.requests) == 1, "num_retries=0 must mean one request"


@litellm_warnings
def test_litellm_wrong_key_is_an_authentication_error(litellm: ModuleType) -> None:
    with FakeLLM(ScriptedResponder(["-"]), api_key="sk-right") as fake:
        with pytest.raises(litellm.AuthenticationError, match="Incorrect API key"):
            _acomplete(litellm, fake, api_key="sk-wrong")


@litellm_warnings
def test_litellm_streams_n_choices(litellm: ModuleType) -> None:
    async def collect(fake: FakeLLM) -> dict[int, str]:
        stream = await litellm.acompletion(
            model="openai/gpt-4o-mini",
            api_base=fake.url,
            api_key="sk-test",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            n=2,
            num_retries=0,
            timeout=5,
        )
        out: dict[int, str] = {}
        async for chunk in stream:
            for ch in chunk.choices:
                out[ch.index] = out.get(ch.index, "") + (ch.delta.content or "")
        return out

    with FakeLLM(ScriptedResponder([["alpha " * 10, "beta"]])) as fake:
        got = asyncio.run(collect(fake))
    assert got == {0: "alpha " * 10, 1: "beta"}


@litellm_warnings
def test_litellm_sync_completion_with_n_choices(litellm: ModuleType, mbpp: MbppResponder) -> None:
    task = mbpp.task_for("min_cost")
    assert task is not None
    with FakeLLM(mbpp) as fake:
        resp = litellm.completion(
            model="openai/gpt-4o-mini",
            api_base=fake.url,
            api_key="sk-test",
            messages=[{"role": "user", "content": STUB}],
            n=2,
            seed=0,
            num_retries=0,
            timeout=5,
        )
    table = mbpp.variants(task)
    assert [c.message.content for c in resp.choices] == [table[k] for k in DEFAULT_MIX[:2]]

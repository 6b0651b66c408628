"""The %%search, %search_config and %search_insert magics and the live widget, in-process.

The magics run in a real IPython ``InteractiveShell`` (no kernel: the magic then prints a text
summary instead of the widget); the widget is driven directly, against the real ranker and the
real frozen ``Candidate``/``Verdict`` types, and through the magic with the widget path forced.
The browser side is in test_notebook_browser.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from jupyter_codesearch import Candidate, Progress, SearchConfig, SearchRun, Spec, Verdict, search
from jupyter_codesearch import TestResult as Check
from jupyter_codesearch.rank import ranked
from jupyter_codesearch.ui import _magic, _render
from jupyter_codesearch.ui._magic import CodeSearchMagics, magics_for, parse_search_options, session_imports
from jupyter_codesearch.ui._widget import PAGE_SIZE, SearchView
from tests.support.fake_llm import FakeLLM, ScriptedResponder

REPO = Path(__file__).resolve().parents[1]

GREETING = '''\
def greeting(name: str) -> str:
    """Say hello to someone, capitalising their name."""

assert greeting("ada") == "Hello, Ada!"
assert greeting("GRACE") == "Hello, Grace!"
assert greeting("alan") == "Hello, Alan!"  # hidden
'''
DOUBLE = '''\
def double(x: int) -> int:
    """Twice x."""

assert double(2) == 4
assert double(5) == 10
'''
NO_EXAMPLES = '''\
def is_even(n: int) -> bool:
    """True for even numbers."""

assert is_even(4)
assert not is_even(3)
'''


# ------------------------------------------------------------------------------------- fixtures


def magics(ip: InteractiveShell) -> CodeSearchMagics:
    m = magics_for(ip)
    assert m is not None
    return m


def run_magic(ip: InteractiveShell, line: str, cell: str) -> Any:
    """Run a %%search cell; returns the capture (stdout, stderr, rich outputs)."""
    with capture_output() as cap:
        ip.run_cell_magic("search", line, cell)
    return cap


def only_message(cap: Any) -> str:
    """The one output of a cell that failed: a rich message, nothing on stdout or stderr."""
    assert cap.stderr == "", cap.stderr
    assert cap.stdout == "", cap.stdout
    assert len(cap.outputs) == 1, [o.data for o in cap.outputs]
    data = cap.outputs[0].data
    assert 'class="cs-message cs-error"' in data["text/html"]
    text: str = data["text/plain"]
    assert "\n" not in text and "Traceback" not in text
    return text


# ----------------------------------------------------------------------------- loading is cheap


def test_load_ext_registers_the_magics_without_importing_litellm_or_starting_a_kernel() -> None:
    script = textwrap.dedent(
        """
        import json, sys, threading, time
        import psutil
        from IPython.core.interactiveshell import InteractiveShell
        ip = InteractiveShell.instance()
        start = time.perf_counter()
        ip.run_line_magic("load_ext", "jupyter_codesearch")
        took = time.perf_counter() - start
        from jupyter_codesearch import _engine
        print(json.dumps({
            "took": took,
            "litellm": "litellm" in sys.modules,
            "ipywidgets": "ipywidgets" in sys.modules,
            "engine": _engine._thread is not None,
            "children": len(psutil.Process().children(recursive=True)),
            "threads": sorted(t.name for t in threading.enumerate()),
            "cell": sorted(ip.magics_manager.magics["cell"]),
            "line": sorted(ip.magics_manager.magics["line"]),
        }))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         env=env, cwd=REPO, check=True)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["litellm"] is False
    assert report["ipywidgets"] is False
    assert report["engine"] is False  # no engine loop, so no kernel pool
    assert report["children"] == 0
    assert "search" in report["cell"]
    assert {"search_config", "search_insert"} <= set(report["line"])
    assert report["took"] < 2.0, report


def test_unload_ext_removes_the_magics(ip: InteractiveShell) -> None:
    ip.run_line_magic("unload_ext", "jupyter_codesearch")
    assert "search" not in ip.magics_manager.magics["cell"]
    assert "search_config" not in ip.magics_manager.magics["line"]
    ip.run_line_magic("load_ext", "jupyter_codesearch")
    assert "search" in ip.magics_manager.magics["cell"]


# ------------------------------------------------------------------------------------ options


def test_every_option_becomes_a_config_field() -> None:
    opts = parse_search_options(
        "-n 32 --model openai/gpt-4o-mini --api-base http://127.0.0.1:9/v1 --api-key-env MY_KEY "
        "--rounds 2 --until-pass --timeout 1.5 --memory 256 --workers 2 --concurrency 4 --time-limit 30 "
        "--generator both --seed 7 --no-cache --max-cost 0.5 --max-tokens 1000 --name res --use a,b --use c"
    )
    assert opts.explicit == {
        "n": 32, "model": "openai/gpt-4o-mini", "api_base": "http://127.0.0.1:9/v1", "api_key_env": "MY_KEY",
        "rounds": 2, "until_pass": True, "timeout": 1.5, "memory_mb": 256, "workers": 2, "concurrency": 4,
        "time_limit": 30.0, "generator": "both", "seed": 7, "cache": False, "max_cost": 0.5,
        "max_tokens": 1000, "name": "res",
    }
    assert opts.use == ("a", "b", "c")
    assert parse_search_options("").explicit == {}
    assert parse_search_options("--model 'openai/my model'").explicit == {"model": "openai/my model"}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("--bogus", "unknown option --bogus"),
        ("--mdel openai/gpt-4o-mini", "did you mean --model?"),
        ("-n abc", "-n: cannot read 'abc' as a whole number"),
        ("-n", "option -n needs a value"),
        ("-n 0", "n must be a positive number"),
        ("slugify", "unexpected 'slugify' on the %%search line"),
        ("--model 'unclosed", "cannot read the %%search line"),
        ("--until-pass=yes", "takes no value"),
        ("--generator llm", "needs a model"),
        ("--generator magic", "generator must be one of"),
        ("--name 2fast", "name must be a Python identifier"),
        ("--api-key-env sk-abc123-secret", "NAME of the environment variable"),
        ("--use no_such_variable", "no variable or function named 'no_such_variable'"),
        ("--use 'a b'", "not a variable name"),
    ],
)
def test_a_bad_option_is_one_readable_message_and_starts_nothing(ip: InteractiveShell, line: str,
                                                                  expected: str) -> None:
    cap = run_magic(ip, line, GREETING)
    text = only_message(cap)
    assert text.startswith("%%search: ")
    assert expected in text, text
    assert "_search" not in ip.user_ns


def test_help_lists_every_option(ip: InteractiveShell) -> None:
    cap = run_magic(ip, "--help", GREETING)
    text = cap.outputs[0].data["text/plain"]
    for flag in ("-n", "--model", "--api-base", "--api-key-env", "--rounds", "--until-pass", "--timeout",
                 "--memory", "--workers", "--concurrency", "--time-limit", "--generator", "--use", "--name",
                 "--seed", "--no-cache", "--max-cost", "--max-tokens", "%search_config", "%search_insert"):
        assert flag in text, flag
    assert "_search" not in ip.user_ns


# --------------------------------------------------------------------------- spec and run errors


def test_a_syntax_error_names_the_line_the_user_sees(ip: InteractiveShell) -> None:
    cell = 'def f(x):\n    """Add one."""\n    return x +\n\nassert f(1) == 2\n'
    text = only_message(run_magic(ip, "", cell))
    # Cell line 1 is `%%search`, so the broken third body line is line 4 on screen.
    assert text.startswith("%%search: line 4: syntax error"), text
    assert "return x +" in text


def test_a_cell_without_tests_is_one_message(ip: InteractiveShell) -> None:
    text = only_message(run_magic(ip, "", 'def f(x):\n    """Add one."""\n'))
    assert "no tests" in text


def test_no_model_and_no_usable_examples_is_one_message(ip: InteractiveShell) -> None:
    cap = run_magic(ip, "", NO_EXAMPLES)
    lines = cap.stdout.strip().splitlines()
    assert len(lines) == 1, cap.stdout
    assert lines[0].startswith("%%search: no model is configured and the offline synthesizer cannot use these tests")
    assert "--model" in lines[0]
    assert cap.stderr == ""
    run = ip.user_ns["_search"]
    assert run.progress.state == "failed"


# ------------------------------------------------------------------------------------ running


def test_a_search_binds_the_run_and_prints_the_best_without_a_widget_frontend(ip: InteractiveShell) -> None:
    cap = run_magic(ip, "-n 4", GREETING)
    run = ip.user_ns["_search"]
    assert isinstance(run, SearchRun)
    assert run.done and run.error is None
    assert run.config.n == 4
    best = run.best
    assert best is not None and best.passed
    assert best.code in cap.stdout
    assert f"%search_insert {best.id}" in cap.stdout
    assert "greeting: done" in cap.stdout

    run_magic(ip, "--name res -n 2", DOUBLE)
    assert isinstance(ip.user_ns["res"], SearchRun)
    assert ip.user_ns["res"].spec.name == "double"
    assert ip.user_ns["_search"] is run


def test_the_magic_and_the_api_find_the_same_programs(ip: InteractiveShell) -> None:
    run_magic(ip, "-n 3", DOUBLE)
    via_magic = ip.user_ns["_search"]
    via_api = search(DOUBLE, n=3)
    assert via_api.error is None and via_magic.error is None
    assert sorted(c.code for c in via_api.candidates) == sorted(c.code for c in via_magic.candidates)
    assert via_magic.config == via_api.config


def test_session_imports_are_forwarded_and_failed_ones_are_not(ip: InteractiveShell) -> None:
    with capture_output():
        ip.run_cell("import math\nfrom collections import Counter as C\nimport os.path", store_history=True)
        ip.run_cell("import math\nimport no_such_module_xyz", store_history=True)
        ip.run_cell("%load_ext jupyter_codesearch", store_history=True)
        ip.run_cell("if True:\n    import json\nfrom __future__ import annotations", store_history=True)
    preamble, notes = session_imports(ip)
    assert preamble.splitlines() == ["import math", "from collections import Counter as C", "import os.path"]
    assert notes == ()


def test_a_module_from_the_notebooks_folder_is_not_forwarded_and_the_user_is_told(
    ip: InteractiveShell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cs_local_helpers.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "cs_local_helpers", raising=False)
    with capture_output():
        ip.run_cell("import cs_local_helpers\nimport json", store_history=True)
    preamble, notes = session_imports(ip)
    assert preamble == "import json\n"
    assert len(notes) == 1 and "`import cs_local_helpers` was not passed" in notes[0]
    assert str(tmp_path) in notes[0] and "--use" in notes[0]
    monkeypatch.delitem(sys.modules, "cs_local_helpers", raising=False)


def test_imports_and_use_variables_reach_candidates_and_tests(ip: InteractiveShell, tmp_path: Path) -> None:
    with capture_output():
        ip.run_cell("import math\nSCALE = 3\ndef helper(v):\n    return v * 2\n", store_history=True)
    cell = (
        'def scaled(x: float) -> int:\n    """helper() of the floor of x, times SCALE."""\n\n'
        "assert scaled(2.5) == helper(2) * SCALE\nassert scaled(0.2) == 0\n"
    )
    code = "```python\ndef scaled(x):\n    return helper(math.floor(x)) * SCALE\n```"
    with FakeLLM(ScriptedResponder([code])) as fake:
        run_magic(ip, f"--model openai/gpt-4o-mini --api-base {fake.url} -n 1 --no-cache --use SCALE,helper", cell)
    run = ip.user_ns["_search"]
    assert run.error is None, run.error
    assert "import math" in run.spec.preamble
    assert dict(run.spec.objects).keys() == {"SCALE", "helper"}
    assert run.best is not None, [(c.status, c.error) for c in run.candidates]


# ------------------------------------------------------------------------------ %search_config


def show_config(ip: InteractiveShell) -> str:
    with capture_output() as cap:
        ip.run_line_magic("search_config", "")
    assert len(cap.outputs) == 1
    return str(cap.outputs[0].data["text/plain"])


def config_line(table: str, name: str) -> list[str]:
    return next(line.split() for line in table.splitlines() if line.split()[:1] == [name])


def test_search_config_shows_every_setting_and_where_it_comes_from(ip: InteractiveShell,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODESEARCH_TIMEOUT", "3.5")
    with capture_output():
        ip.run_line_magic("search_config", "n=6 model=openai/gpt-4o-mini")
    table = show_config(ip)
    assert config_line(table, "n") == ["n", "6", "session", "CODESEARCH_N"]
    assert config_line(table, "model") == ["model", "openai/gpt-4o-mini", "session", "CODESEARCH_MODEL"]
    assert config_line(table, "timeout") == ["timeout", "3.5", "environment", "CODESEARCH_TIMEOUT"]
    assert config_line(table, "rounds") == ["rounds", "1", "default", "CODESEARCH_ROUNDS"]
    for field in SearchConfig.__dataclass_fields__:
        assert config_line(table, field)


def test_arguments_beat_session_beats_environment_beats_default(ip: InteractiveShell,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODESEARCH_N", "4")
    run_magic(ip, "", DOUBLE)
    assert ip.user_ns["_search"].config.n == 4
    with capture_output():
        ip.run_line_magic("search_config", "n=3 name=res")
    run_magic(ip, "", DOUBLE)
    assert ip.user_ns["res"].config.n == 3
    run_magic(ip, "-n 2 --name _search", DOUBLE)
    assert ip.user_ns["_search"].config.n == 2
    with capture_output():
        ip.run_line_magic("search_config", "n=")
    assert magics(ip).session == {"name": "res"}
    with capture_output():
        ip.run_line_magic("search_config", "--reset")
    assert magics(ip).session == {}
    monkeypatch.delenv("CODESEARCH_N")
    assert config_line(show_config(ip), "n") == ["n", "16", "default", "CODESEARCH_N"]


def test_search_config_accepts_option_spellings(ip: InteractiveShell) -> None:
    with capture_output():
        ip.run_line_magic("search_config", "api-base=http://127.0.0.1:1/v1 memory=256 no-cache=true time_limit=9")
    assert magics(ip).session == {"api_base": "http://127.0.0.1:1/v1", "memory_mb": 256, "cache": False,
                                  "time_limit": 9.0}


def test_search_config_reads_a_whole_line_before_checking_it(ip: InteractiveShell) -> None:
    with capture_output() as cap:
        ip.run_line_magic("search_config", "generator=llm model=openai/gpt-4o-mini")
    assert cap.outputs == [] and cap.stderr == ""
    assert magics(ip).session == {"generator": "llm", "model": "openai/gpt-4o-mini"}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("modle=openai/gpt-4o-mini", "unknown setting 'modle' (did you mean model?)"),
        ("n=abc", "n: cannot read 'abc' as a whole number"),
        ("n=0", "n must be a positive number"),
        ("n", "write key=value"),
        ("generator=llm", "needs a model: set it on the same line or first, e.g. %search_config model="),
        ("api_key_env=sk-abc123-secret", "NAME of the environment variable"),
    ],
)
def test_a_bad_search_config_is_one_message_and_changes_nothing(ip: InteractiveShell, line: str,
                                                                 expected: str) -> None:
    with capture_output():
        ip.run_line_magic("search_config", "rounds=2")
    with capture_output() as cap:
        ip.run_line_magic("search_config", line)
    assert len(cap.outputs) == 1 and cap.stdout == "" and cap.stderr == ""
    text = cap.outputs[0].data["text/plain"]
    assert text.startswith("%search_config: ") and expected in text, text
    assert magics(ip).session == {"rounds": 2}


# ------------------------------------------------------------------------------ %search_insert


def test_search_insert_puts_the_candidate_in_the_next_cell(ip: InteractiveShell,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    inserted: list[tuple[str, bool]] = []
    monkeypatch.setattr(ip, "set_next_input", lambda text, replace=False: inserted.append((text, replace)))
    run_magic(ip, "-n 3", DOUBLE)
    run = ip.user_ns["_search"]
    ip.run_line_magic("search_insert", "")
    assert run.best is not None
    assert inserted[-1] == (run.best.code, False)
    last = run.candidates[-1]
    ip.run_line_magic("search_insert", f"#{last.id}")
    assert inserted[-1] == (last.code, False)

    run_magic(ip, "--name res -n 2", GREETING)
    ip.run_line_magic("search_insert", "0 --name _search")
    assert inserted[-1][0] == run.candidates[0].code
    ip.run_line_magic("search_insert", "0")  # the last run by default
    assert inserted[-1][0] == ip.user_ns["res"].candidates[0].code

    count = len(inserted)
    for line, expected in [("999", "has no candidate #999"), ("x", "not a candidate number"),
                           ("0 --name nothing", "no search run in 'nothing'")]:
        with capture_output() as cap:
            ip.run_line_magic("search_insert", line)
        text = cap.outputs[0].data["text/plain"]
        assert text.startswith("%search_insert: ") and expected in text, text
    assert len(inserted) == count


# ------------------------------------------------------------------------------------- widget


class FakeRun:
    """Just the SearchRun surface the widget reads, fed by hand (real Candidate/Verdict/ranker)."""

    def __init__(self, spec: str = GREETING, config: SearchConfig | None = None) -> None:
        self.spec = Spec.parse(spec)
        self.config = config or SearchConfig(model="openai/gpt-4o-mini")
        self._lock = threading.Lock()
        self._cands: list[Candidate] = []
        self._listeners: list[Callable[[str, Any], None]] = []
        self._done = threading.Event()
        self.state = "running"
        self.error: Exception | None = None
        self.notices: list[str] = []
        self.stopped = False
        self.generated = 0

    @property
    def candidates(self) -> list[Candidate]:
        with self._lock:
            return list(self._cands)

    def ranked(self) -> list[Candidate]:
        return ranked(self.candidates)

    def recorded(self, timeout: float | None = 10.0) -> bool:
        return True  # no history here

    def disagreements(self, top: int = 3, limit: int = 10) -> list[Any]:
        return []  # nothing is probed here (tests/test_widget_disagreements.py clusters for real)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def progress(self) -> Progress:
        cands = self.candidates
        return Progress(state=self.state, round=1, generated=self.generated, candidates=len(cands),
                        verified=sum(c.verified for c in cands), passing=sum(c.passed for c in cands),
                        tokens=100 * len(cands), cost=0.0001 * len(cands), requests=len(cands), elapsed=1.5)

    def subscribe(self, listener: Callable[[str, Any], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def emit(self, event: str, payload: Any = None) -> None:
        for listener in list(self._listeners):
            listener(event, payload)

    def add(self, c: Candidate) -> None:
        with self._lock:
            self._cands.append(c)
            self.generated += 1
        self.emit("candidate", c)

    def finish(self, state: str = "done") -> None:
        self.state = state
        self._done.set()
        self.emit("done")

    def stop(self) -> None:
        self.stopped = True
        self.finish("stopped")


def candidate(i: int, kind: str | None = None) -> Candidate:
    """Candidate ``i``: passes, fails (got vs expected), or is pending / invalid."""
    kind = kind or ("passed", "failed", "passed", "error", "pending")[i % 5]
    code = f'def greeting(name):\n    return "Hello, " + name.title() + "!"  # {i}\n'
    tests = (
        Check(True, 'assert greeting("ada") == "Hello, Ada!"', 2),
        Check(kind == "passed", 'assert greeting("GRACE") == "Hello, Grace!"', 3,
                   got=None if kind == "passed" else "'Hello, GRACE!'", expected="'Hello, Grace!'"),
        Check(kind == "passed", 'assert greeting("alan") == "Hello, Alan!"', 4, hidden=True,
                   error=None if kind != "error" else "NameError: name 'x' is not defined"),
    )
    verdict = None
    if kind != "pending":
        verdict = Verdict(index=i, status="passed" if kind == "passed" else kind,  # type: ignore[arg-type]
                          passed=kind == "passed", tests=tests, runtime_s=1e-4 * (1 + i % 7))
    return Candidate(id=i, code=code, origin="llm", model="openai/gpt-4o-mini", round=1 + i % 3,
                     samples=1 + i % 4, tokens=100, cost=0.0001, size=10 + i % 9, verdict=verdict)


def live_models() -> int:
    from ipywidgets.widgets import widget

    return len(widget._instances)


def rows(view: SearchView) -> list[str]:
    return [b.description for b in view.rows if b.layout.display != "none"]


def test_widget_models_stay_bounded_whatever_the_number_of_candidates(view_of: Callable[..., SearchView]) -> None:
    before = live_models()
    run = FakeRun()
    view = view_of(run)
    built = live_models() - before
    assert built == len(view.model_ids()) <= 200
    for i in range(300):
        run.add(candidate(i))
    view.render()
    for key in ("status", "tests", "runtime", "samples", "model"):
        view.sort_by(key)
    view.goto(7)
    view.passing.value = True
    view.select(299)
    run.finish()
    view.render()
    assert live_models() - before == built, "the view made widgets after it was built"
    view.close()
    assert live_models() == before


def test_pages_show_every_candidate_exactly_once(view_of: Callable[..., SearchView]) -> None:
    run = FakeRun()
    for i in range(47):
        run.add(candidate(i))
    view = view_of(run)
    seen: list[str] = []
    pages = -(-47 // PAGE_SIZE)
    for page in range(pages):
        view.goto(page)
        assert view.page == page
        assert f"page {page + 1} / {pages}" in view.page_label.value
        seen += [r.split()[1] for r in rows(view)]
    assert sorted(seen) == sorted(f"#{i}" for i in range(47))
    view.goto(99)
    assert view.page == pages - 1 and view.next.disabled and not view.prev.disabled
    view.first.click()
    assert view.page == 0 and view.prev.disabled


@pytest.mark.parametrize("column", [c.key for c in _render.COLUMNS])
def test_clicking_a_column_header_sorts_by_it_and_again_reverses(view_of: Callable[..., SearchView],
                                                                  column: str) -> None:
    run = FakeRun()
    for i in range(40):
        run.add(candidate(i))
    view = view_of(run, page_size=40)
    col = next(c for c in _render.COLUMNS if c.key == column)
    index = _render.COLUMNS.index(col)
    order = {r: c for r, c in enumerate(run.ranked(), 1)}

    def keys() -> list[Any]:
        out = []
        for text in rows(view):
            rank = int(text.split()[0])
            out.append(col.sort(rank, order[rank]))
        return [k for k in out if k is not None]

    header = view.headers[index]
    header.click()
    first = keys()
    if column != "rank":  # rank starts ascending, so the first click on it reverses
        assert first == sorted(first, reverse=col.descending_first)
    assert "▲" in header.description or "▼" in header.description
    header.click()
    assert keys() == sorted(keys(), reverse=not col.descending_first if column != "rank" else False)


def test_passing_only_filters_and_keeps_the_global_rank(view_of: Callable[..., SearchView]) -> None:
    run = FakeRun()
    for i in range(30):
        run.add(candidate(i))
    view = view_of(run, page_size=30)
    view.passing.value = True
    shown = rows(view)
    assert len(shown) == sum(c.passed for c in run.candidates) == 12
    assert all(" passed " in r for r in shown)
    assert [int(r.split()[0]) for r in shown] == list(range(1, 13))  # passing ones rank first
    view.passing.value = False
    assert len(rows(view)) == 30


def test_selecting_a_row_shows_its_code_test_results_and_diff(view_of: Callable[..., SearchView]) -> None:
    run = FakeRun()
    for i in range(8):
        run.add(candidate(i))
    view = view_of(run)
    top = run.ranked()[0]
    assert view.selected == top.id  # follows the top until the user picks a row
    assert "This is the top-ranked candidate" in view.diff.value
    row = next(i for i, text in enumerate(rows(view)) if text.split()[1] == "#1")
    view.rows[row].click()
    assert view.selected == 1
    assert view.rows[row].style.button_color != view.rows[(row + 1) % 8].style.button_color
    assert "# 1</span>" in view.code.value  # highlighted: the comment is a span of its own
    tests = view.tests.value
    assert "got <code>&#x27;Hello, GRACE!&#x27;</code>, expected <code>&#x27;Hello, Grace!&#x27;</code>" in tests
    assert 'class="cs-tag">hidden' in tests
    assert view.tabs.titles[1] == "Tests 1/3"
    assert "-" in view.diff.value and "+" in view.diff.value and f"#{top.id} (rank 1)" in view.diff.value
    run.add(candidate(8, "passed"))
    view.render()
    assert view.selected == 1  # stays on the user's choice
    assert "<textarea" in view.copy.value and "# 1\n</textarea>" in view.copy.value


def test_a_hidden_failure_shows_got_and_error(view_of: Callable[..., SearchView]) -> None:
    run = FakeRun()
    run.add(candidate(3, "error"))
    view = view_of(run)
    assert "NameError: name &#x27;x&#x27; is not defined" in view.tests.value


def test_define_now_defines_the_function_with_the_cells_context(view_of: Callable[..., SearchView]) -> None:
    run = FakeRun("import re\n\n" + GREETING)
    run.add(Candidate(id=0, code="def greeting(name):\n    return re.sub('^', 'Hello, ', name.title()) + '!'\n",
                      origin="llm", model="m", round=1, verdict=Verdict(0, "passed", True)))
    namespace: dict[str, Any] = {}
    view = view_of(run, namespace=namespace)
    view.define_button.click()
    assert namespace["greeting"]("ada") == "Hello, Ada!"
    assert "Defined" in view.action_status.value


def test_define_now_reports_an_error_instead_of_raising(view_of: Callable[..., SearchView]) -> None:
    run = FakeRun()
    run.add(Candidate(id=0, code="def greeting(name):\n    return name\nraise ValueError('boom')\n", origin="llm",
                      model="m", round=1, verdict=Verdict(0, "failed", False)))
    view = view_of(run)
    view.define_button.click()
    assert "Could not define #0: ValueError: boom" in view.action_status.value


class FakeBridge:
    def __init__(self, reply: dict[str, Any] | None, alive: bool = True) -> None:
        self.reply, self.alive = reply, alive
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def ping(self, timeout: float) -> bool:
        return self.alive

    def request(self, action: str, timeout: float, **fields: Any) -> dict[str, Any] | None:
        self.requests.append((action, fields))
        return self.reply


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_insert_below_asks_the_extension_with_the_search_cells_id(view_of: Callable[..., SearchView]) -> None:
    run = FakeRun()
    run.add(candidate(0))
    bridge = FakeBridge({"ok": True, "cell_id": "new"})
    view = view_of(run, cell_id="cell-42", bridge=bridge)
    view.start()
    wait_for(lambda: view.insert_mode == "comm")
    view.insert_button.click()
    wait_for(lambda: "Inserted" in view.action_status.value)
    assert bridge.requests == [("insert_below", {"cell_id": "cell-42", "code": run.candidates[0].code})]
    assert view.insert_button.description == "Insert below"


def test_without_the_extension_the_insert_button_says_to_run_search_insert(view_of: Callable[..., SearchView]) -> None:
    run = FakeRun()
    run.add(candidate(0))
    run.add(candidate(2))
    silent = FakeBridge(None, alive=False)
    view = view_of(run, cell_id="cell-42", bridge=silent, name="res")
    view.start()
    wait_for(lambda: view.insert_mode == "fallback")
    assert view.insert_button.description == f"run %search_insert {view.selected} --name res"
    view.insert_button.click()
    assert "%search_insert" in view.action_status.value
    assert silent.requests == []
    # No cell id (not JupyterLab): no comm at all.
    plain = view_of(FakeRun(), cell_id=None)
    assert plain.insert_mode == "fallback"


def test_an_extension_that_stops_answering_falls_back(view_of: Callable[..., SearchView]) -> None:
    run = FakeRun()
    run.add(candidate(0))
    bridge = FakeBridge(None, alive=True)
    view = view_of(run, cell_id="c", bridge=bridge)
    view.start()
    wait_for(lambda: view.insert_mode == "comm")
    view.insert_button.click()
    wait_for(lambda: view.insert_mode == "fallback")
    assert "did not answer" in view.action_status.value and "%search_insert 0" in view.action_status.value


def test_the_view_follows_the_run_from_a_worker_thread_with_few_redraws(view_of: Callable[..., SearchView]) -> None:
    run = FakeRun()
    view = view_of(run).start()
    assert "Waiting for candidates" in view.empty.value

    def produce() -> None:
        for i in range(300):
            run.add(candidate(i))
            run.emit("progress", run.progress)
            time.sleep(0.002)
        run.finish()

    start = time.monotonic()
    producer = threading.Thread(target=produce)
    producer.start()
    wait_for(lambda: "generated " in view.progress.value and "generated 0 " not in view.progress.value, 5)
    producer.join()
    assert view.wait_idle(10)
    took = time.monotonic() - start
    assert "generated 300" in view.progress.value and "done" in view.progress.value
    assert "300 passing" not in view.page_label.value and "of 300" in view.page_label.value
    # 600 events: redraws are throttled to a few per second, not one per event.
    assert view.redraws <= 3 + took / 0.2, (view.redraws, took)
    assert view.stop_button.disabled
    assert run._listeners == []  # unsubscribed once the run ended


def test_stop_button_stops_the_run(view_of: Callable[..., SearchView]) -> None:
    run = FakeRun()
    view = view_of(run).start()
    view.stop_button.click()
    assert run.stopped
    assert view.wait_idle(5)
    assert "stopped" in view.progress.value


def test_a_failed_run_shows_one_message_instead_of_the_table(view_of: Callable[..., SearchView]) -> None:
    run = FakeRun()
    run.error = RuntimeError("model openai/x cannot be used: AuthenticationError. Fix: check the key")
    run.finish("failed")
    view = view_of(run).start()
    assert view.wait_idle(5)
    assert view.message.value.count("cs-message cs-error") == 1
    assert "AuthenticationError" in view.message.value
    assert view.message.layout.display is None
    assert view.table.layout.display == "none"
    assert view.detail.layout.display == "none"


def test_spec_warnings_and_run_notices_are_listed(view_of: Callable[..., SearchView]) -> None:
    run = FakeRun()
    run.notices.append("budget reached: 120 of 100 tokens spent")
    view = view_of(run, notes=("line 5: this test never calls `greeting`",))
    assert "budget reached" in view.notices.value and "never calls" in view.notices.value


def test_the_magic_shows_the_widget_when_a_kernel_frontend_is_there(ip: InteractiveShell,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_magic, "_use_widget", lambda shell: True)
    cap = run_magic(ip, "-n 2", DOUBLE + "assert True\n")
    assert cap.stdout == "" and cap.stderr == ""
    assert len(cap.outputs) == 1
    data = cap.outputs[0].data
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["text/plain"].startswith("%%search double: live view")
    view = magics(ip).views["_search"]
    assert view.run is ip.user_ns["_search"]
    assert view.insert_mode == "fallback"  # no cell id outside JupyterLab
    assert view.wait_idle(60)
    assert "done" in view.progress.value
    assert "never calls" in view.notices.value  # the spec's warning, not a stderr line
    assert rows(view)


# --------------------------------------------------------------------------------- demo.ipynb

SLUGIFY_REPLY = (
    "```python\nimport re\nimport unicodedata\n\ndef slugify(title):\n"
    "    t = unicodedata.normalize('NFKD', title).encode('ascii', 'ignore').decode()\n"
    "    return '-'.join(re.findall(r'[a-z0-9]+', t.lower()))\n```"
)


def outputs_text(cell: Any) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out["text"])
        elif out.get("output_type") == "error":
            parts.append(f"ERROR {out['ename']}: {out['evalue']}")
        else:
            parts.append(str(out.get("data", {}).get("text/plain", "")))
    return "".join(parts)


@pytest.mark.slow
@pytest.mark.parametrize("api_key", [False, True], ids=["no-key", "with-key"])
def test_the_demo_notebook_runs_start_to_end(api_key: bool, monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(REPO / "demo.ipynb", as_version=4)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code_cells), "commit demo.ipynb cleared"
    with FakeLLM(ScriptedResponder([SLUGIFY_REPLY])) as fake:
        if api_key:  # litellm's openai provider honours OPENAI_BASE_URL: the demo talks to the fake
            monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
        else:
            monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        started = time.monotonic()
        NotebookClient(nb, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
        took = time.monotonic() - started
        requests = len(fake.completion_requests)
    text = {i: outputs_text(c) for i, c in enumerate(code_cells)}
    assert not [t for t in text.values() if "ERROR" in t or "Traceback" in t], text
    # Nothing in red: e.g. asyncio's "Unknown child process pid ..." once raced our synthesizer.
    stderr = [o["text"] for c in code_cells for o in c.outputs if o.get("name") == "stderr"]
    assert stderr == [], stderr
    everything = "\n".join(text.values())
    assert "<SearchRun greeting: done" in everything
    assert "'Hello, Grace Hopper!'" in everything
    assert "%%search greeting: live view" in everything
    # The forgotten-asserts step: the initials of an empty name are up to the user.
    assert "initials('') -> cluster 1: " in everything and "assert initials('') == '.'" in everything
    if api_key:
        assert requests >= 16
        assert "state='done'" in everything and "passed" in everything
    else:
        assert requests == 0
        assert "No OPENAI_API_KEY set: skipping the LLM search" in everything
        assert took < 120


def test_running_a_search_cell_again_stops_its_previous_run(ip: InteractiveShell,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_magic, "_use_widget", lambda shell: True)
    monkeypatch.setattr(_magic, "_cell_id", lambda shell: "cell-1")
    wrong = "```python\ndef add(a, b):\n    return a - b\n```"
    cell = '''def add(a, b):\n    """Add."""\n\nassert add(1, 2) == 3\n'''
    with FakeLLM(ScriptedResponder([wrong]), latency=0.5) as fake:
        line = f"--model openai/gpt-4o-mini --api-base {fake.url} -n 40 --concurrency 1 --no-cache"
        run_magic(ip, line, cell)
        first, first_view = ip.user_ns["_search"], magics(ip).views["_search"]
        run_magic(ip, line + " -n 1", cell)
        second = ip.user_ns["_search"]
        assert first.wait(20).progress.state == "stopped"
        assert first_view.root.comm is None  # its widgets are closed
        assert second.wait(30).progress.state == "done"
        assert magics(ip).views["_search"].run is second

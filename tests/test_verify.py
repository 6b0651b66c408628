"""verify() against real sandboxed kernels: what verdicts say."""

from __future__ import annotations

import pytest

from jupyter_codesearch import ConfigError, InputError, Spec, Verdict, search, verify

ADD = '''
def add(a, b):
    """Add two numbers."""

assert add(1, 2) == 3
assert add(-1, 1) == 0
assert add(10, 5) == 15  # hidden
'''


def test_verdicts_come_back_in_input_order_with_statuses() -> None:
    sources = [
        "def add(a, b):\n    return a + b\n",
        "def add(a, b):\n    return a - b\n",
        "def add(a, b):\n    raise ValueError('nope')\n",
        "def add(a, b) return a",
        "def plus(a, b):\n    return a + b\n",
        "add = 3\n",
        "raise RuntimeError('at import')\ndef add(a, b):\n    return a + b\n",
    ]
    verdicts = verify(ADD, sources)
    assert [v.index for v in verdicts] == list(range(len(sources)))
    assert [v.status for v in verdicts] == ["passed", "failed", "error", "invalid", "invalid", "invalid", "error"]
    assert verdicts[0].passed and not any(v.passed for v in verdicts[1:])
    assert "does not define a function `add`" in (verdicts[4].error or "")
    assert "RuntimeError: at import" in (verdicts[6].error or "")
    assert all(v.tests_total == 3 for v in verdicts)


def test_failed_tests_show_got_expected_and_the_call() -> None:
    [v] = verify(ADD, ["def add(a, b):\n    return a * b\n"])
    first, second, third = v.tests
    assert (first.passed, first.got, first.expected) == (False, "2", "3")
    assert first.calls == ({"call": "add(1, 2)", "got": "2"},)
    assert first.line == 5 and first.source == "assert add(1, 2) == 3"
    assert (second.passed, second.got, second.expected) == (False, "-1", "0")
    assert third.hidden and not third.passed
    assert v.tests_passed == 0
    assert v.error == "line 5: assertion failed"


def test_an_exception_from_the_candidate_is_named_with_its_line() -> None:
    [v] = verify(ADD, ["def add(a, b):\n    x = 1\n    return a / 0\n"])
    assert v.status == "error"
    assert v.tests[0].error == "the candidate raised ZeroDivisionError: division by zero (line 3)"
    assert v.tests[0].calls[0]["raised"] == "ZeroDivisionError: division by zero"


def test_tests_can_expect_exceptions_from_the_candidate() -> None:
    spec = '''
def root(x):
    """Square root; ValueError for negatives."""

assert root(4) == 2
try:
    root(-1)
    assert False, "no error"
except ValueError:
    pass
'''
    good = "def root(x):\n    if x < 0:\n        raise ValueError('neg')\n    return int(x ** 0.5)\n"
    lax = "def root(x):\n    return int(abs(x) ** 0.5)\n"
    wrong_type = "def root(x):\n    if x < 0:\n        raise TypeError('neg')\n    return int(x ** 0.5)\n"
    assert [v.status for v in verify(spec, [good, lax, wrong_type])] == ["passed", "failed", "error"]


def test_in_place_mutation_of_arguments_is_copied_back() -> None:
    spec = '''
def sort_in_place(xs, d):
    """Sort xs in place, record its length in d."""

data = [3, 1, 2]
meta = {}
sort_in_place(data, meta)
assert data == [1, 2, 3]
assert meta == {"n": 3}
'''
    good = "def sort_in_place(xs, d):\n    xs.sort()\n    d['n'] = len(xs)\n"
    copy = "def sort_in_place(xs, d):\n    xs = sorted(xs)\n    d = {'n': 3}\n"
    assert [v.status for v in verify(spec, [good, copy])] == ["passed", "failed"]


def test_context_classes_and_imports_reach_both_sides() -> None:
    spec = '''
import math

class Node:
    def __init__(self, value, children=()):
        self.value = value
        self.children = list(children)

def depth(node):
    """Depth of a tree of Nodes."""

tree = Node(1, [Node(2, [Node(3)]), Node(4)])
assert depth(tree) == 3
assert depth(Node(0)) == math.floor(1.5)
'''
    good = "def depth(node):\n    return 1 + max((depth(c) for c in node.children), default=0)\n"
    assert verify(spec, [good, "def depth(node):\n    return 2\n"])[0].status == "passed"


def test_results_must_be_plain_data() -> None:
    spec = "def f(x):\n    '''d'''\nassert f(1) == [1]\n"
    sources = [
        "def f(x):\n    return [x]\n",
        "def f(x):\n    return (y for y in [x])\n",
        "class L(list):\n    pass\ndef f(x):\n    return L([x])\n",
        "def f(x):\n    return {x: object()}\n",
    ]
    statuses = [v.status for v in verify(spec, sources)]
    assert statuses == ["passed", "unserializable", "unserializable", "unserializable"]


def test_setup_that_fails_is_reported_on_the_tests_after_it() -> None:
    spec = "def f(x):\n    '''d'''\nassert f(1) == 1\ny = f(0) / 0\nassert f(y) == 2\n"
    [v] = verify(spec, ["def f(x):\n    return x\n"])
    assert v.status == "failed"
    assert v.tests[0].passed and not v.tests[1].passed
    assert v.tests[1].error == "setup at line 4 raised ZeroDivisionError: division by zero"


def test_output_and_runtime_are_reported() -> None:
    [v] = verify(ADD, ["def add(a, b):\n    print('adding', a, b)\n    return a + b\n"])
    assert v.status == "passed"
    assert "adding 1 2" in v.stdout
    assert v.runtime_s is not None and 0 < v.runtime_s < 1


def test_keyword_arguments_and_big_values_cross_the_boundary() -> None:
    spec = (
        "def f(x, *, scale=1):\n    '''d'''\n"
        "assert f(2**100, scale=2) == 2**101\nassert f(b'ab', scale=2) == b'abab'\n"
    )
    [v] = verify(spec, ["def f(x, *, scale=1):\n    return x * scale\n"])
    assert v.status == "passed", v


def test_many_candidates_across_batches_keep_their_order() -> None:
    sources = [f"def add(a, b):\n    return a + b + {i % 2}\n" for i in range(70)]
    verdicts = verify(ADD, sources, timeout=5)
    assert [v.status for v in verdicts] == ["passed" if i % 2 == 0 else "failed" for i in range(70)]


def test_a_spec_object_and_its_text_give_the_same_verdicts() -> None:
    src = "def add(a, b):\n    return a * b\n"

    def summary(v: Verdict) -> tuple[object, ...]:
        return v.status, v.error, [(t.passed, t.got, t.expected, t.line) for t in v.tests]

    assert summary(verify(Spec.parse(ADD), [src])[0]) == summary(verify(ADD, [src])[0])


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [({"timeout": 0}, "timeout"), ({"memory_mb": 1}, "memory_mb"), ({"workers": 0}, "workers")],
)
def test_bad_limits_are_config_errors(kwargs: dict[str, float], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        verify(ADD, ["def add(a, b): return a + b"], **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("candidates", "words"), [
    ([123], "candidate 0 is a int, not source code"),
    ("def add(a, b): return a + b", "pass a list of sources"),
])
def test_candidates_that_are_not_source_strings_are_input_errors(candidates: object, words: str) -> None:
    with pytest.raises(InputError, match=words):
        verify(ADD, candidates)  # type: ignore[arg-type]


def test_a_search_asks_for_as_much_memory_as_verify_does() -> None:
    with pytest.raises(ConfigError, match=r"memory_mb \(--memory\) must be at least 16 MB"):
        search(ADD, memory_mb=1)


def test_session_preamble_and_used_objects_reach_tests_and_candidates() -> None:
    import cloudpickle

    def scale(x: int) -> int:
        return 10 * x

    spec = Spec.parse("def f(x):\n    '''d'''\nassert f(2) == scale(2) + OFFSET\nassert f(0) == math.floor(7.5)\n")
    spec = spec.using("import math", {"scale": cloudpickle.dumps(scale), "OFFSET": cloudpickle.dumps(7)})
    good = "def f(x):\n    return scale(x) + OFFSET + int(math.sqrt(0))\n"
    [v] = verify(spec, [good])
    assert v.status == "passed", v.error
    assert spec.key != Spec.parse(spec.text).key


def test_concurrent_verifications_of_one_spec_keep_their_own_verdicts() -> None:
    import threading

    results: dict[str, set[str]] = {}

    def run(label: str, source: str) -> None:
        results[label] = {v.status for v in verify(ADD, [source] * 20)}

    threads = [
        threading.Thread(target=run, args=("good", "def add(a, b):\n    return a + b\n")),
        threading.Thread(target=run, args=("bad", "def add(a, b):\n    return 0\n")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert results == {"good": {"passed"}, "bad": {"failed"}}


def test_stop_iteration_from_the_candidate_cannot_end_a_tests_own_loop() -> None:
    spec = (
        "def is_prime(n):\n    '''d'''\n"
        "assert all(map(is_prime, [2, 3, 5]))\nassert not any(map(is_prime, [4, 6]))\n"
    )
    [v] = verify(spec, ["def is_prime(n):\n    raise StopIteration\n"])
    assert not v.passed and v.status == "error"


def test_text_a_candidate_sends_is_made_safe_to_report() -> None:
    sources = ["def add(a, b):\n    return a + b\n", "def add(a, b):\n    raise ValueError('\\ud800')\n"] * 2
    verdicts = verify(ADD, sources)
    assert [v.status for v in verdicts] == ["passed", "error"] * 2

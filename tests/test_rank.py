"""Ranking, probes, behavioural clusters and disagreements."""

from __future__ import annotations

import builtins
import time
from dataclasses import replace

from jupyter_codesearch import Spec, search
from jupyter_codesearch._model import Behaviour, Candidate, TestResult, Verdict
from jupyter_codesearch.execute._codec import from_tree
from jupyter_codesearch.execute._protocol import BehaviourReport
from jupyter_codesearch.execute._verdict import behaviour_from_report
from jupyter_codesearch.rank import clusters, disagreements, probe_inputs, ranked
from jupyter_codesearch.rank._probes import from_hints, from_model_reply, mutations
from tests.support.fake_llm import FakeLLM, Request, ScriptedResponder

SPEC = '''
def double(xs: list[int]) -> list[int]:
    """Each item doubled."""

assert double([1, 2]) == [2, 4]
assert double([5]) == [10]
'''


def test_probes_mutate_test_arguments_by_type_and_exclude_the_tests_own_inputs() -> None:
    probes = [tuple(from_tree(p)) for p in probe_inputs(Spec.parse(SPEC)).trees]  # type: ignore[arg-type]
    assert ([],) in probes and ([2, 1],) in probes and ([1, 2, 1, 2],) in probes
    assert ([1, 2],) not in probes and ([5],) not in probes
    assert len(probes) == len(set(map(repr, probes)))
    assert probes == [tuple(from_tree(p)) for p in probe_inputs(Spec.parse(SPEC)).trees]  # type: ignore[arg-type]


def test_mutations_cover_every_example_before_the_cap() -> None:
    found = mutations([("abc", 1), ("xy", 7)])
    assert found[0][1] == 1 and found[1][1] == 7  # interleaved
    assert ("", 1) in found and ("ABC", 1) in found and ("abc", 0) in found and ("abc", -1) in found


def test_type_hints_give_bounded_deterministic_probes() -> None:
    spec = Spec.parse(SPEC)
    drawn = from_hints(spec)
    assert drawn and drawn == from_hints(spec)
    assert all(isinstance(args[0], list) and all(isinstance(x, int) and abs(x) <= 1000 for x in args[0])
               for args in drawn)
    assert from_hints(Spec.parse("def f(x):\n    '''d'''\nassert f(1) == 1\n")) == []


def test_model_inputs_are_shaped_like_the_examples_and_outputs_are_ignored() -> None:
    reply = 'Sure: [[[1, 2], 3], [[4], 5], ["too", "many", "args"], "junk"] hope this helps'
    assert from_model_reply(reply, [((1, 2), 3)]) == [((1, 2), 3), ((4,), 5)]
    assert from_model_reply("no json here", [(1,)]) == []


def B(*outputs: str) -> tuple[Behaviour, ...]:
    """Behaviours written as the tests read them: ``v:<value>``, ``e:<exception>``, or a status."""
    kinds = {"v:": "value", "e:": "raised"}

    def report(o: str) -> BehaviourReport:
        if o[:2] in kinds:
            return {"kind": kinds[o[:2]], "detail": o[2:], "shown": o[2:]}
        return {"kind": o, "detail": "", "shown": o}

    return tuple(behaviour_from_report(report(o)) for o in outputs)


def C(id: int, passed: bool = True, samples: int = 1, size: int = 10, runtime_s: float | None = 0.001,
      behaviours: tuple[Behaviour, ...] | None = None, tests_passed: int = 2, tests_total: int = 2,
      verified: bool = True, origin: str = "llm", synth_samples: int = 0) -> Candidate:
    """A candidate with a verdict of ``tests_passed`` of ``tests_total`` (none when not verified)."""
    tests = tuple(TestResult(passed or i < tests_passed, f"assert t{i}", i + 1) for i in range(tests_total))
    verdict = Verdict(id, "passed" if passed else "failed", passed, tests, runtime_s) if verified else None
    return Candidate(id=id, code=f"def f(x):\n    return {id}\n", origin=origin, model=None, round=1,
                     samples=samples, synth_samples=synth_samples, size=size, verdict=verdict, behaviours=behaviours)


def test_clusters_weigh_votes_and_prefer_behaviour_that_does_not_raise() -> None:
    right = B("v:1", "v:2")
    memoriser = B("e:KeyError", "e:KeyError")
    cands = [C(0, behaviours=memoriser, samples=2, size=5), C(1, behaviours=right),
             C(2, behaviours=right), C(3, passed=False, tests_passed=1), C(4)]
    found = clusters(cands)
    # Two votes each; the behaviour that raises on every probe loses the tie.
    assert [(c.members, c.weight, c.failures) for c in found] == [((1, 2), 2, 0), ((0,), 2, 2)]
    order = [c.id for c in ranked(cands, found)]
    assert order == [1, 2, 0, 4, 3]  # clustered, then passing-but-unprobed, then failing
    top = ranked(cands, found)[0]
    assert (top.cluster, top.cluster_size) == (1, 2)


def test_the_synthesizer_votes_once_per_behaviour_so_the_simplest_program_wins() -> None:
    # Four variants of one odd program (an unused constant changes) against plain `return x`:
    # enumeration artefacts are not four independent samples.
    odd = tuple(C(i, origin="synth", synth_samples=1, size=14, behaviours=B("v:0", "v:5")) for i in range(4))
    plain = C(4, origin="synth", synth_samples=1, size=3, behaviours=B("v:-1", "v:5"))
    found = clusters([*odd, plain])
    assert [(c.members, c.weight) for c in found] == [((4,), 1), ((0, 1, 2, 3), 1)]
    assert ranked([*odd, plain], found)[0].id == 4
    # A model's samples still count one each, and the synthesizer adds one vote where it agrees.
    sampled = [C(5, behaviours=B("v:0", "v:5"), samples=2)]
    found = clusters([*odd, plain, *sampled])
    assert [(c.members, c.weight) for c in found] == [((0, 1, 2, 3, 5), 3), ((4,), 1)]
    # A synthesized program a model also proposed twice has the model's votes too, whichever
    # came first (the merged candidate keeps the first one's origin).
    for first in ("synth", "llm"):
        found = clusters([*odd, replace(plain, origin=first, samples=3)])
        assert [(c.members, c.weight) for c in found] == [((4,), 3), ((0, 1, 2, 3), 1)]


def test_runtimes_of_a_few_milliseconds_do_not_decide_the_ranking() -> None:
    slower_but_smaller = C(0, size=5, runtime_s=0.004)
    faster_but_bigger = C(1, size=9, runtime_s=0.0001)
    assert [c.id for c in ranked([faster_but_bigger, slower_but_smaller])] == [0, 1]
    # Real differences (twice as fast or more, above 5 ms) still do.
    assert [c.id for c in ranked([C(0, size=5, runtime_s=0.05), C(1, size=9, runtime_s=0.01)])] == [1, 0]
    assert [c.id for c in ranked([C(0, size=5, runtime_s=0.055), C(1, size=9, runtime_s=0.050)])] == [0, 1]


def test_disagreements_list_probes_where_top_clusters_differ() -> None:
    a = C(0, behaviours=B("v:1", "v:5"), samples=3)
    b = C(1, behaviours=(B("v:1")[0], Behaviour("raised", "ValueError", "raises ValueError")))
    found = clusters([a, b])
    [d] = disagreements(found, [(0,), (9,)], "f")
    assert d.call == "f(9)" and tuple((cid, o.text) for cid, o in d.outputs) == ((1, "5"), (2, "raises ValueError"))
    assert d.assert_line(1) == "assert f(9) == 5" and d.assert_line(2) is None


def test_probing_runs_candidates_only_in_the_sandbox_and_respects_timeouts() -> None:
    spec = "def f(x):\n    '''d'''\nassert f(1) == 2\nassert f(2) == 3\n"
    sneaky = (
        "import builtins\nbuiltins.__cs_ran_here__ = True\n"
        "def f(x):\n    while x not in (1, 2):\n        pass\n    return x + 1\n"
    )
    good = "def f(x):\n    return x + 1\n"
    memo = "def f(x):\n    return {1: 2, 2: 3}[x]\n"
    scripted = ScriptedResponder([f"```python\n{src}```" for src in (sneaky, good, good, memo)])
    def reply(r: Request) -> str:
        if "edge-case" in r.user_text:
            return "[[0], [7], [-1]]"
        return "I have no tests." if "test cases" in r.user_text else scripted(r)

    with FakeLLM(reply) as fake:
        start = time.monotonic()
        run = search(spec, model="openai/gpt-4o-mini", api_base=fake.url, n=4, concurrency=1,
                     timeout=1.0, cache=False)
        elapsed = time.monotonic() - start
    assert run.error is None, run.error
    assert not hasattr(builtins, "__cs_ran_here__")
    by_code = {c.code: c for c in run.ranked()}
    hanging = by_code[sneaky]
    assert hanging.passed and hanging.behaviours is not None
    assert "timeout" in [b.kind for b in hanging.behaviours]
    assert by_code[good].cluster == 1 and by_code[good].cluster_size == 2
    assert by_code[memo].behaviours is not None
    assert by_code[memo].behaviours[0] == Behaviour("raised", "KeyError")
    assert run.ranked()[0].code == good
    assert elapsed < 30


def test_model_written_tests_are_read_from_replies_and_deduplicated_by_input() -> None:
    from jupyter_codesearch.rank._model_tests import parse_model_tests, test_case_prompt

    spec = Spec.parse(SPEC)
    replies = [
        "Here you go:\n```python\nassert double([3]) == [6]\nassert double([]) == []\n```",
        "assert double([3]) == [7]\nassert [2, 2] == double([1, 1])\nassert double(xs) == [0]\nprint('hi')",
        "assert \tdouble([4, 5]) == \t[8, 10]\nassert double([9]) == [18], 'nine'\nassert double(",
    ]
    found = [(t.args, t.expected) for t in parse_model_tests(replies, spec)]
    assert found == [(([3],), [6]), (([],), []), (([1, 1],), [2, 2]), (([4, 5],), [8, 10]), (([9],), [18])]
    prompt = test_case_prompt(Spec.parse(SPEC + "assert double([7]) == [14]  # hidden\n"))
    assert "double([1, 2]) == [2, 4]" in prompt and "[14]" not in prompt


def test_domain_draws_keep_to_the_examples_alphabet_types_and_ranges() -> None:
    from jupyter_codesearch.rank._domain import domain_draws

    parens = [("(()) ()",), ("((())) (()())",)]
    drawn = domain_draws(parens, 20, seed=3)
    assert len(drawn) == 20 and drawn == domain_draws(parens, 20, seed=3)
    assert all(set(s) <= set("() ") for (s,) in drawn)
    numbers = domain_draws([([1.5, 2.0], 3), ([4.0], 10)], 20)
    assert all(type(k) is int and 0 <= k <= 13 and all(type(x) is float for x in xs) for xs, k in numbers)
    assert domain_draws([(1,), ("a", 2)], 5) == []  # arities differ: nothing to draw like


def test_inputs_most_votes_fail_on_do_not_split_right_programs() -> None:
    # Two right programs fail differently on an input outside the domain, and agree elsewhere; a
    # wrong program with fewer votes differs on an in-domain input.
    right_a = C(0, samples=3, behaviours=(Behaviour("raised", "ValueError"), *B("v:1", "v:2")))
    right_b = C(1, samples=2, behaviours=(Behaviour("raised", "IndexError"), *B("v:1", "v:2")))
    wrong = C(2, samples=4, behaviours=(Behaviour("value", "0"), *B("v:1", "v:3")))
    found = clusters([right_a, right_b, wrong])
    assert [c.members for c in found] == [(0, 1), (2,)]
    assert found[0].weight == 5 and found[0].representative == 0


def test_agreement_with_model_tests_and_docstring_examples_outweighs_votes() -> None:
    from jupyter_codesearch._seams import ProbeSet

    probes = ProbeSet(trees=(["L", 1], ["L", 2], ["L", 3]), origins=("doc", "model", "model"),
                      expected=("d1", "m2", "m3"))
    popular = C(0, samples=9, behaviours=B("v:x", "v:y", "v:z"))
    agreeing = C(1, samples=2, behaviours=B("v:d1", "v:m2", "v:m3"))
    found = clusters([popular, agreeing], probes)
    assert found[0].members == (1,) and (found[0].doc_agreed, found[0].agreed, found[0].checked) == (1, 2, 2)
    top = ranked([popular, agreeing], found)[0]
    assert top.id == 1
    assert "gives 1 of 1 docstring examples; agrees with 2 of 2 model-written tests" in top.rank_reason
    # With no answers to agree with, votes decide.
    assert clusters([popular, agreeing])[0].members == (0,)


def test_the_leader_holds_only_when_the_remaining_samples_could_not_plausibly_overturn_it() -> None:
    from jupyter_codesearch._model import Cluster
    from jupyter_codesearch.rank._confidence import CONFIDENCE, leader_holds

    def cl(i: int, weight: int, agreed: int = 0) -> Cluster:
        return Cluster(i, (i,), weight, 0, (), agreed=agreed, score=0.0)

    assert leader_holds([cl(1, 30), cl(2, 1)], judged=31, remaining=10) >= CONFIDENCE
    assert leader_holds([cl(1, 3), cl(2, 2)], judged=5, remaining=95) < CONFIDENCE
    assert leader_holds([cl(1, 3), cl(2, 2)], judged=5, remaining=0) == 1.0
    # The same state decides the same way.
    assert leader_holds([cl(1, 6), cl(2, 3)], 9, 40, seed=5) == leader_holds([cl(1, 6), cl(2, 3)], 9, 40, seed=5)

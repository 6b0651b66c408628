"""Offline programming-by-example: enumerate small Python expressions until one fits the examples.

The search is bottom-up by weight with observational equivalence (BUSTLE / Probe style): every
expression is evaluated on all examples at once, and of several expressions with the same values
only the lightest is kept. The vocabulary (``_synth_ops``) covers BUSTLE's spreadsheet string DSL
(concatenation, left/right/mid slices, find with start, replace, strip and whitespace collapse, case
changes, repeat, str(n), +, -, len, comparisons, conditionals) in Python form, plus integer and list
basics and comprehensions over list values, number and date formats (``_synth_formats``), and
and/or/not for answers that are truth values.

What guides the search, without any trained model:

* constants mined from the examples (``_synth_problem``): punctuation that occurs in them,
  substrings that every output shares (``'Dr. '``, ``', USA'``) or several outputs share (``' PM'``),
  short delimiters every input of a parameter shares (``' Inc'``), and whole outputs that several
  examples share (a label such as ``'N/A'``);
* re-weighting (``Guide``): a string that is neither a piece of the expected output nor contains it,
  or an index beyond every string's length, joins bigger expressions only later;
* conditionals are not enumerated blindly (``_synth_cond``): a value that is right on some examples
  and a condition that separates exactly those are combined into ``if cond: return a / return b``,
  and two conditions into three branches when no single split does;
* concatenations are not enumerated either (``_synth_concat``): values that are pieces of every
  output are edges of a shortest path from the start of the outputs to their end (FlashFill);
* a simplicity prior (``_synth_prior``) holds back programs that ignore a parameter or split on a
  computed separator: they fit a few examples more often than they generalise.

What keeps it honest: mined literals are never an output seen once and never a coincidental
letter run, a program built from constants alone is never emitted when there are parameters, and
no mined literal is a whole example input (single characters aside), so a condition is an
ordinary predicate over the inputs and a lookup table cannot be expressed. Every emitted program
is re-checked by executing its source on the examples, so what comes out is exactly what was
verified.

Measured on the 89 SyGuS string tasks, with what each piece buys: ``benchmarks/bench_synth.py``.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from jupyter_codesearch.generate._synth_build import build
from jupyter_codesearch.generate._synth_cond import Branches
from jupyter_codesearch.generate._synth_nodes import NOT_CONST, Effort, Node, Stop
from jupyter_codesearch.generate._synth_ops import Names
from jupyter_codesearch.generate._synth_prior import Queue as _Queue
from jupyter_codesearch.generate._synth_problem import (
    Problem,
    SynthOptions,
    SynthProgress,
    SynthUnsupported,
    prepare,
)

__all__ = ["SynthOptions", "SynthProgress", "SynthUnsupported", "synthesize"]

_MAX_LEVEL = 60


# ---------------------------------------------------------------------------------------------
# rendering and checking


def _function(prob: Problem, names: Names, body: list[str], imports: set[str]) -> str:
    lines = [f"def {prob.func_name}({', '.join(prob.params)}):"]
    lines.extend(f"    import {m}" for m in sorted(imports))
    lines.extend("    " + b for b in body)
    return "\n".join(lines) + "\n"


def _wrap(prob: Problem, src: str) -> str:
    return f"tuple({src})" if prob.wrap_tuple else src


def _expr_source(prob: Problem, node: Node, names: Names) -> str:
    src, _ = node.render(names)
    return _function(prob, names, [f"return {_wrap(prob, src)}"], node.imports())


def _plan_source(prob: Problem, plan: Branches, names: Names) -> str:
    if not plan.arms:
        return _expr_source(prob, plan.default, names)
    body: list[str] = []
    imports = plan.default.imports()
    for cond, value in plan.arms:
        body.append(f"if {cond.render(names)[0]}:")
        body.append(f"    return {_wrap(prob, value.render(names)[0])}")
        imports |= cond.imports() | value.imports()
    body.append(f"return {_wrap(prob, plan.default.render(names)[0])}")
    return _function(prob, names, body, imports)


def _verify(prob: Problem, source: str) -> bool:
    """Run the generated source on every example (it is our own generated code)."""
    ns: dict[str, object] = {}
    try:
        exec(compile(source, "<synth>", "exec"), ns)
        fn: Any = ns[prob.func_name]
        for args, expected in prob.examples:
            got = fn(*copy.deepcopy(args))
            if got != expected or (type(got) is not type(expected) and not _num_ok(got, expected)):
                return False
    except Exception:
        return False
    return True


def _num_ok(got: object, expected: object) -> bool:
    # 3 for 3.0 is what a user's ``==`` assert accepts; True for 1 is not what anyone means
    return (
        isinstance(got, (int, float))
        and isinstance(expected, (int, float))
        and not isinstance(got, bool)
        and not isinstance(expected, bool)
        and math.isfinite(float(got))
    )


# ---------------------------------------------------------------------------------------------
# public entry point


def synthesize(
    examples: Sequence[tuple[tuple[object, ...], object]],
    params: Sequence[str],
    func_name: str,
    *,
    time_limit: float = 10.0,
    max_programs: int = 5,
    should_stop: Callable[[], bool] | None = None,
    on_progress: Callable[[SynthProgress], None] | None = None,
    options: SynthOptions | None = None,
) -> Iterator[str]:
    """Yield ordinary readable Python function sources (``def func_name(params): return ...``),
    smallest first, each consistent with ALL examples.

    Raises :class:`SynthUnsupported` (before yielding anything — in fact when called) when it
    cannot help. Stops after ``max_programs`` programs, after ``time_limit`` seconds (or a memory
    budget of about 800 MB), or as soon as ``should_stop()`` returns true. When time or memory runs
    out, conditional programs already found but heavier than what was enumerated are still
    emitted (a user stop emits nothing more). ``on_progress`` is called about every 0.2 s and once
    at the end. ``options`` switches guidance pieces off (for measurement); the defaults are the
    tuned configuration.
    """
    prob = prepare(examples, params, func_name)
    return _synthesize(prob, time_limit, max_programs, should_stop, on_progress, options or SynthOptions())


def _synthesize(
    prob: Problem,
    time_limit: float,
    max_programs: int,
    should_stop: Callable[[], bool] | None,
    on_progress: Callable[[SynthProgress], None] | None,
    opts: SynthOptions,
) -> Iterator[str]:
    emitted: dict[str, None] = {}

    def progress(explored: int, size: int) -> None:
        if on_progress is not None:
            on_progress(SynthProgress(explored, size, len(emitted)))

    budget = Effort(time_limit, should_stop, progress)
    if max_programs <= 0:
        return
    try:
        yield from itertools.islice(_search(prob, budget, opts, emitted), max_programs)
    finally:
        # a last report, so callers always see the final count
        progress(budget.explored, budget.size)


def _search(prob: Problem, budget: Effort, opts: SynthOptions, emitted: dict[str, None]) -> Iterator[str]:
    """Every verified program, in the prior's order (the caller takes as many as it wants)."""
    main, hits, names = build(prob, budget, opts)
    queue = _Queue(prob.params)

    def general(node: Node) -> bool:
        # an expression of constants alone ignores the inputs: with parameters around it is
        # the examples' output copied, not a rule (e.g. ' Kim'.strip() when every output is Kim)
        return not prob.params or node.const_value() is NOT_CONST

    def release(level: float) -> Iterator[str]:
        for plan in queue.due(level):
            if budget.should_stop is not None and budget.should_stop():
                return
            src = _plan_source(prob, plan, names)
            if src not in emitted and _verify(prob, src):
                emitted[src] = None
                yield src

    try:
        for level in range(0, _MAX_LEVEL + 1):
            found = hits if level == 0 else main.grow_to(level)
            # conditionals of this weight are all known before the level starts; on a tie they
            # go first, as a named test reads better than an index trick of the same size
            for weight, plan in main.take_pending(level):
                if plan.arms or general(plan.default):
                    queue.offer(weight, plan)
            yield from release(level)
            for node in found:
                if general(node) and queue.offer(level, Branches((), node)):
                    yield from release(level)
            budget.check()
            if level and main.exhausted() and not main.pending and not queue:
                break
    except Stop:
        if budget.user_stopped:
            return
    # out of time or space: conditionals (and programs held back by the prior) already found
    # are still valid answers
    for weight, plan in main.take_pending(None):
        queue.offer(weight, plan)
    yield from release(math.inf)

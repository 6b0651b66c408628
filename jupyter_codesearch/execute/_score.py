"""Scoring a candidate that passed every test: the cell's ``@score`` function, run here, on the
trusted side, with the candidate behind its proxy (as the tests see it).

Two modes (``ScorePayload.mode``): ``value`` calls the function once and takes the number it
returns; ``runtime`` calls it repeatedly and takes the median time its calls to the candidate
took (timed here, as for the tests), with a distribution-free 95% interval for that median.

Scoring is bounded like the tests: by the candidate's deadline (the alarm around the tests
covers it too), and by an address-space limit on this process while the trusted function runs
(``memory_mb`` more than it has now), so a score function that loops or eats memory ends as
that candidate's score error, never as the run's. Shipped into the kernel: standard library only.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import resource
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ._candidate import CandidateRaised, Proxy, Trial
from ._channel import Abort
from ._loaded import LoadedSpec, namespace
from ._protocol import LimitsPayload
from ._shown import short, text

__all__ = ["MAX_REPEATS", "ScoreOutcome", "median_interval", "score_candidate"]

MAX_REPEATS = 9
"""Timed repetitions of a runtime score (after one warm-up), time allowing: nine give a 96%
interval for the median from order statistics alone."""


@dataclass
class ScoreOutcome:
    """A score, its interval (equal bounds for a returned value), or why there is none."""

    score: float | None = None
    interval: tuple[float, float] | None = None
    runs: int = 0
    error: str | None = None


def score_candidate(spec: LoadedSpec, trial: Trial, limits: LimitsPayload) -> ScoreOutcome:
    """Score one candidate that passed; never raises (an abort is reported, and cleared from
    ``trial``: the candidate passed its tests whatever became of its scoring)."""
    assert spec.score is not None
    out = ScoreOutcome()
    try:
        fn = _score_function(spec, trial)
        with _address_space(int(limits["memory_mb"])):
            if spec.score.mode == "runtime":
                _timed(fn, trial, out)
            else:
                _valued(fn(Proxy(trial, spec.name)), out)
    except Abort as e:
        what = e.detail or ("timed out" if e.status == "timeout" else e.status)
        if e.status == "timeout" and not e.detail:
            what = f"timed out after {float(limits['timeout']):g} s"
        out.error = f"scoring stopped: {what}"
        trial.abort = None
    except MemoryError:
        out.error = f"the score function ran out of memory (more than {limits['memory_mb']} MB)"
    except CandidateRaised as e:
        out.error = f"the candidate raised {type(e).__name__}: {text(e, 200)} while being scored"
    except Exception as e:
        out.error = f"the score function raised {type(e).__name__}: {text(e, 200)}"
    if out.error is not None:
        out.score = out.interval = None
    return out


def _score_function(spec: LoadedSpec, trial: Trial) -> Callable[[Any], Any]:
    """The score function, defined in a namespace like the tests' (context, then setup)."""
    assert spec.score is not None
    ns = trial.namespace
    if spec.fast is not None:  # the tests ran as checks: no namespace was made for them
        ns = namespace(spec)
        ns[spec.name] = Proxy(trial, spec.name)
        for step in spec.steps:
            if step.kind == "setup":
                exec(step.code, ns)
    exec(spec.score.code, ns)
    fn = ns.get(spec.score.name)
    if not callable(fn):
        raise TypeError(f"`{spec.score.name}` is not a function")
    return fn  # type: ignore[no-any-return]


def _valued(result: Any, out: ScoreOutcome) -> None:
    if isinstance(result, bool) or not isinstance(result, numbers.Real) or not math.isfinite(float(result)):
        raise TypeError(f"it returned {short(result, 80)}, not a finite number")
    out.score = float(result)
    out.interval = (out.score, out.score)
    out.runs = 1


def _timed(fn: Callable[[Any], Any], trial: Trial, out: ScoreOutcome) -> None:
    """Median time of the candidate's calls per run of ``fn``; the first run is a warm-up (a
    freshly forked candidate pays copy-on-write faults on its first calls)."""
    proxy = Proxy(trial, trial.name)
    times: list[float] = []
    slowest = 0.0
    while len(times) < MAX_REPEATS + 1:
        if times and trial.deadline - time.monotonic() < 2 * slowest + 0.05:
            break  # another run could not end in time: what was measured is the score
        before, start = trial.call_time, time.monotonic()
        fn(proxy)
        slowest = max(slowest, time.monotonic() - start)
        times.append(trial.call_time - before)
    if len(times) > 2:
        times = times[1:]
    out.runs = len(times)
    out.score = float(sorted(times)[len(times) // 2]) if len(times) % 2 else _mid(sorted(times))
    out.interval = median_interval(times)


def _mid(xs: list[float]) -> float:
    k = len(xs) // 2
    return (xs[k - 1] + xs[k]) / 2


def median_interval(samples: list[float], coverage: float = 0.95) -> tuple[float, float]:
    """A distribution-free interval for the median: order statistics ``j`` and ``n+1-j`` with
    ``j`` the largest rank whose binomial tail keeps the coverage (min and max when too few)."""
    xs = sorted(samples)
    n = len(xs)
    j = 1
    for k in range(1, n // 2 + 1):
        tail = sum(math.comb(n, i) for i in range(k)) / 2**n
        if 1 - 2 * tail >= coverage:
            j = k
    return xs[j - 1], xs[n - j]


@contextlib.contextmanager
def _address_space(memory_mb: int) -> Iterator[None]:
    """This process may map ``memory_mb`` more than it has now while the block runs (the trusted
    score function is user code: a runaway allocation is its MemoryError, not this kernel's
    death); the old limit is back afterwards."""
    try:
        with open("/proc/self/statm") as f:
            size = int(f.read().split()[0]) * resource.getpagesize()
        old = resource.getrlimit(resource.RLIMIT_AS)
        cap = size + (memory_mb << 20)
        if old[0] != resource.RLIM_INFINITY:
            cap = min(cap, old[0])
        resource.setrlimit(resource.RLIMIT_AS, (cap, old[1]))
    except (OSError, ValueError):  # no /proc: unbounded, as the tests
        yield
        return
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, old)

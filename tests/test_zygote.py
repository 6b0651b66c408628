"""The kernel's zygote, without a sandbox: start, spawn, reap, discard (no kernel)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_codesearch.execute._channel import Abort
from jupyter_codesearch.execute._protocol import LimitsPayload, Size
from jupyter_codesearch.execute._zygote import NotStarted, Spawner, Started, proc_children, unique_kb, vm_size
from tests.support.kernel_side import config, context
from tests.support.procs import descendants

LIMITS: LimitsPayload = {"timeout": 5.0, "memory_mb": 256}
PLUS_ONE = "def f(x):\n    return x + 1\n"


@pytest.fixture
def spawner(tmp_path: Path) -> Iterator[Spawner]:
    s = Spawner(config(tmp_path))
    yield s
    s.discard()


def start(spawner: Spawner, source: str = PLUS_ONE, ctx: str = "") -> Started:
    started = spawner.start(context(ctx), "f", source, LIMITS)
    assert isinstance(started, Started), started
    return started


def gone(pid: int, within: float = 3.0) -> bool:
    end = time.monotonic() + within
    while time.monotonic() < end:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.02)
    return False


def test_a_spawned_candidate_answers_calls_and_is_swept_by_the_reap(spawner: Spawner) -> None:
    started = start(spawner)
    chan, deadline = started.chan, started.deadline
    assert chan.recv(deadline) == {"ready": True}
    chan.send({"op": "call", "args": ["L", 41], "kwargs": ["D"]}, deadline)
    answer = chan.recv(deadline)
    assert answer is not None and answer["value"] == 42
    zygote = spawner.zygote
    assert zygote is not None and not zygote.pidns  # no sandbox: swept by hand, as a subreaper
    [candidate] = proc_children(zygote.pid)
    status = spawner.reap(wait=True)
    chan.close()
    assert status is not None and os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    assert gone(candidate) and proc_children(zygote.pid) == []


def test_the_next_spawn_sweeps_the_candidate_before(spawner: Spawner) -> None:
    child = "import os, time\nif os.fork() == 0:\n    time.sleep(60)\ndef f(x):\n    return x\n"
    first = start(spawner, child)  # a candidate that started a process of its own
    first.chan.recv(first.deadline)
    assert spawner.zygote is not None
    before = {pid for pid, _, _ in descendants(spawner.zygote.pid)}
    assert len(before) == 2
    spawner.done_with()
    second = start(spawner)
    second.chan.recv(second.deadline)
    assert all(gone(pid) for pid in before)
    for s in (first, second):
        s.chan.close()


def test_a_source_that_does_not_compile_is_invalid_in_its_own_process(spawner: Spawner) -> None:
    # The zygote never compiles (nor holds) a candidate's source: the candidate's process does.
    started = start(spawner, "def f(:\n")
    first = started.chan.recv(started.deadline)
    assert first is not None and first["invalid"].startswith("does not parse: SyntaxError"), first
    started.chan.close()
    zygote = spawner.zygote
    spawner.done_with()
    again = start(spawner)
    assert spawner.zygote is zygote and again.chan.recv(again.deadline) == {"ready": True}
    again.chan.close()


def test_a_source_over_the_size_limit_starts_no_process(spawner: Spawner) -> None:
    started = spawner.start(context(), "f", "#" * (Size.SOURCE + 1), LIMITS)
    assert isinstance(started, NotStarted) and started.status == "invalid"
    assert started.error.startswith("does not parse: the source is over")
    assert spawner.zygote is None  # not even a zygote was needed


def test_a_context_that_fails_is_an_error_and_leaves_no_zygote(spawner: Spawner) -> None:
    started = spawner.start(context("raise ValueError('bad context')"), "f", PLUS_ONE, LIMITS)
    assert started == NotStarted("error", "the context failed in the sandbox: ValueError: bad context")
    assert spawner.zygote is None


def test_another_context_restarts_the_zygote_and_discard_kills_it(spawner: Spawner) -> None:
    start(spawner, ctx="A = 1").chan.close()
    old = spawner.zygote
    start(spawner, ctx="A = 1").chan.close()
    assert spawner.zygote is old  # the same context: the same zygote
    start(spawner, ctx="A = 2").chan.close()
    assert old is not None and spawner.zygote is not old and not old.alive()
    current = spawner.zygote
    spawner.discard()
    assert spawner.zygote is None and current is not None and not current.alive()


def test_a_zygote_that_died_is_discarded_at_the_reap_and_replaced_at_the_next_spawn(spawner: Spawner) -> None:
    start(spawner).chan.close()
    dead = spawner.zygote
    assert dead is not None
    dead.proc.kill()
    dead.proc.wait()
    assert spawner.reap(wait=True) is None and spawner.zygote is None
    start(spawner).chan.close()
    assert spawner.zygote is not None and spawner.zygote is not dead


def test_the_memory_watch_counts_the_candidates_processes(spawner: Spawner) -> None:
    started = start(spawner, "big = bytearray(64 << 20)\nbig[::4096] = b'x' * (16 << 10)\ndef f(x):\n    return x\n")
    started.chan.recv(started.deadline)
    zygote = spawner.zygote
    assert zygote is not None and zygote.as_base is not None and zygote.as_base == vm_size(zygote.pid)
    assert unique_kb(zygote.pid) > 60 << 10  # kB: the candidate's 64 MB, touched
    with pytest.raises(Abort) as e:
        spawner._memory_watch(zygote, 32)()
    assert e.value.status == "memory"
    spawner._memory_watch(zygote, 512)()  # within budget: nothing happens
    started.chan.close()

"""Hostile candidates between honest ones, against the real sandboxed pool (issue 18): false
passes, leaks from one candidate to the next, damage to the engine that later honest
candidates would pay for. Each attacker runs between two honest candidates on one kernel,
which must keep their verdicts.

Every case checks: the attacker's status, no false pass, the honest candidates' verdicts
before and after it, each verdict within timeout + 2 s of the last, nothing of one candidate
visible to the next, nothing left running, and the pool verifying a correct candidate after.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import time
from pathlib import Path

import pytest

from jupyter_codesearch import Spec
from jupyter_codesearch._model import Behaviour, Limits
from jupyter_codesearch.execute import Verdict, detect_isolation, verify
from jupyter_codesearch.execute._codec import to_tree
from tests.support.hazards import GOOD, PLUS_ONE, TIMEOUT, body

# Every case runs in the sandboxed pool, and leaves it working (fixtures in conftest).
pytestmark = pytest.mark.usefixtures("sandboxed_pool", "pool_survives")


def between(spec: str, honest: str, attacker: str, timeout: float = TIMEOUT, memory_mb: int = 256) -> list[Verdict]:
    """Verify honest, attacker, honest on one kernel; each verdict within timeout + 2 s of the last."""
    arrived: list[float] = []
    start = time.monotonic()
    verdicts = verify(spec, [honest, attacker, honest], timeout=timeout, memory_mb=memory_mb, workers=1,
                      on_verdict=lambda v: arrived.append(time.monotonic()))
    steps = [b - a for a, b in zip([start, *arrived], arrived, strict=False)]
    assert max(steps) < timeout + 2, f"verdicts took {steps}"
    return verdicts


def probed(
    spec: str, sources: list[str], probes: list[tuple[object, ...]], timeout: float = TIMEOUT
) -> list[tuple[Behaviour, ...]]:
    """Run sources on probe inputs on one kernel, as a run's probing does (one shared ProbeSet)."""
    from jupyter_codesearch._engine import run_sync, shared_pool

    parsed = Spec.parse(spec)
    trees = tuple(to_tree(list(p)) for p in probes)
    limits = Limits(timeout=timeout, memory_mb=256)

    async def go() -> list[tuple[Behaviour, ...]]:
        pool = await shared_pool(detect_isolation(), 1)
        futures = [pool.submit_probes(parsed, i, s, trees, limits) for i, s in enumerate(sources)]
        return list(await asyncio.gather(*futures))

    start = time.monotonic()
    found = run_sync(go())
    elapsed = time.monotonic() - start
    assert elapsed < len(sources) * (timeout + 2), f"probing took {elapsed:.2f} s"
    return found


EXPECTS_TYPE_ERROR = '''
def f(x):
    """Raise TypeError for a negative x, else return x."""

try:
    f(-1)
except TypeError:
    pass
else:
    assert False, "no TypeError"
assert f(2) == 2
'''
HONEST_TYPE_ERROR = "def f(x):\n    if x < 0:\n        raise TypeError('negative')\n    return x\n"


@pytest.mark.parametrize("raised", [
    "Exception('not a TypeError')",
    "Boom('mine')",
    "type('1 forged', (Exception,), {})('forged name')",
    "type('CandidateRaised', (Exception,), {})('our marker')",
    "Picky(1, 2, 3)",
])
def test_an_exception_rebuilt_on_the_trusted_side_is_never_a_false_pass(raised: str) -> None:
    attacker = body(f"""
        class Boom(Exception):
            pass
        class Picky(Exception):
            def __init__(self, a, b, c):
                super().__init__(a)
        def f(x):
            if x < 0:
                raise {raised}
            return x
        """)
    honest, bad, again = between(EXPECTS_TYPE_ERROR, HONEST_TYPE_ERROR, attacker)
    assert honest.passed and again.passed, (honest.error, again.error)
    assert bad.status == "error" and not bad.passed, (bad.status, bad.error)
    assert "the candidate raised" in (bad.error or "")


@pytest.mark.parametrize("as_written", [False, True])
def test_ordered_dicts_compare_in_order_as_in_the_kernel(as_written: bool) -> None:
    spec = body(f'''
        from collections import OrderedDict, Counter
        def f(x):
            """An OrderedDict of x then x + 1, and a Counter of x."""

        assert f(1)[0] == OrderedDict([(1, 'a'), (2, 'b')]){" and True" if as_written else ""}
        assert f(1)[1] == Counter({{1: 1}})
        ''')
    honest = ("from collections import OrderedDict, Counter\n"
              "def f(x):\n    return OrderedDict([(x, 'a'), (x + 1, 'b')]), Counter({x: 1, 'zero': 0})\n")
    attacker = ("from collections import OrderedDict\n"
                "def f(x):\n    return OrderedDict([(x + 1, 'b'), (x, 'a')]), {x: 1}\n")
    first, bad, again = between(spec, honest, attacker)
    assert first.passed and again.passed, (first.error, again.error)
    assert bad.status == "failed" and not bad.passed, (bad.status, bad.error)
    assert [t.passed for t in bad.tests] == [False, True]


PROBED = '''
def f(x):
    """Return x + 1."""

assert f(1) == 2
'''


FORGED_ANSWERS = {
    # An overflowing complex: the decoder must say "unserializable", not raise OverflowError.
    "overflowing_complex": "('{\"value\":[\"C\",' + '9' * 400 + ',0],\"t\":0}').encode()",
    # A set of 400k ints that all hash to 0: quadratic to build, so bounded by the deadline.
    "colliding_set": (
        "('{\"value\":[\"S\",' + ','.join('[\"I\",\"%x\"]' % (((1 << 61) - 1) * i) for i in range(3, 400_003))"
        " + '],\"t\":0}').encode()"
    ),
    # Data values forged by hand (issue 13): what the codec would never make.
    "array_buffer_too_short": "b'{\"value\":[\"nd\",\"<i8\",[4],\"AAAAAAAAAAA=\"],\"t\":0}'",
    "array_of_object_dtype": "b'{\"value\":[\"nd\",\"|O\",[1],\"AAAAAAAAAAA=\"],\"t\":0}'",
    "array_with_huge_shape": "b'{\"value\":[\"nd\",\"|b1\",[1099511627776,1099511627776],\"AA==\"],\"t\":0}'",
    "array_with_negative_shape": "b'{\"value\":[\"nd\",\"|b1\",[-1],\"\"],\"t\":0}'",
    "object_arrays_nested_deeply": "('{\"value\":' + '[\"ndo\",[1],' * 5000 + '1' + ']' * 5000 + ',\"t\":0}').encode()",
    "frame_whose_column_is_short": (
        "b'{\"value\":[\"pdf\",[\"prng\",0,3,1,null],[\"pidx\",[\"ndo\",[1],\"a\"],null,null],"
        "[\"nd\",\"<i8\",[1],\"AgAAAAAAAAA=\"]],\"t\":0}'"
    ),
}


@pytest.mark.parametrize("name", sorted(FORGED_ANSWERS))
def test_an_answer_that_breaks_the_decoder_is_charged_to_its_candidate(name: str) -> None:
    # Written on the call socket by hand: nothing the codec would make.
    attacker = body(f"""
        import os
        def f(x):
            frame = {FORGED_ANSWERS[name]}
            os.write(3, len(frame).to_bytes(4, "big") + frame)
            return x + 1
        """)
    honest = "def f(x):\n    return x + 1\n"
    before, bad, after = probed(PROBED, [honest, attacker, honest], [(1,), (2,), (3,)])
    assert [b.kind for b in before] == ["value"] * 3 and before == after, (before, after)
    assert bad[0].kind in {"unserializable", "timeout"}, bad  # later frames are out of step: its own
    honest_v, bad_v, again = between(PROBED, honest, attacker)
    assert honest_v.passed and again.passed, (honest_v.error, again.error)
    assert bad_v.status in {"unserializable", "timeout"} and not bad_v.passed, (bad_v.status, bad_v.error)


def cli_verify(tmp_path: Path, spec: str, *flags: str, timeout: float = TIMEOUT) -> tuple[int, list[str]]:
    """``jupyter-codesearch verify`` on an honest candidate: exit code and stderr lines."""
    import contextlib
    import io

    from jupyter_codesearch import cli

    (tmp_path / "spec.py").write_text(spec)
    (tmp_path / "c.jsonl").write_text(json.dumps(GOOD) + "\n")
    err = io.StringIO()
    start = time.monotonic()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(["verify", str(tmp_path / "spec.py"), str(tmp_path / "c.jsonl"), "--workers", "1", *flags])
    assert time.monotonic() - start < timeout + 2 + 1, "the spec's error took too long to say"
    return code, [line for line in err.getvalue().splitlines() if line.strip()]


BAD_SPECS = {
    # ast.parse accepts these; compile does not.
    "top_level_return": "return 1\n" + PLUS_ONE,
    "break_outside_loop": PLUS_ONE + "break\n",
    "top_level_await": PLUS_ONE + "await f(1)\n",
    "future_braces": "from __future__ import braces\n" + PLUS_ONE,
    # The spec's own code ending the kernel, or never finishing, on the trusted side.
    "expected_raises_systemexit": "def stop():\n    raise SystemExit(3)\n" + PLUS_ONE + "assert f(2) == stop()\n",
    "expected_raises_keyboardinterrupt": "def stop():\n    raise KeyboardInterrupt\n" + PLUS_ONE
    + "assert f(2) == stop()\n",
    "test_as_written_raises_systemexit": "def stop():\n    raise SystemExit(3)\n" + PLUS_ONE
    + "assert f(2) == 3 and stop()\n",
    "context_calls_os_exit": "import os\nos._exit(3)\n" + PLUS_ONE,
    "context_calls_os_exit_in_a_helper": "import os\ndef three():\n    os._exit(3)\n" + PLUS_ONE
    + "assert f(2) == three()\n",
    "expected_side_runs_forever": PLUS_ONE + "assert f(2) == sum(range(10**13))\n",
}


@pytest.mark.parametrize("name", sorted(BAD_SPECS))
def test_a_spec_that_cannot_run_is_one_line_and_exit_2(name: str, tmp_path: Path) -> None:
    code, lines = cli_verify(tmp_path, BAD_SPECS[name])
    assert code == 2 and len(lines) == 1, (code, lines)
    assert "Traceback" not in lines[0] and "kernel was lost" not in lines[0], lines
    # Honest work before and after on the same kernel is unaffected.
    honest, _, again = between(PLUS_ONE, GOOD, GOOD)
    assert honest.passed and again.passed


@pytest.mark.parametrize("value", ["inf", "1e300", "nan", "-1"])
def test_a_timeout_no_timer_can_hold_is_one_line_and_exit_2(value: str, tmp_path: Path) -> None:
    code, lines = cli_verify(tmp_path, PLUS_ONE, f"--timeout={value}")
    assert code == 2 and len(lines) == 1 and "timeout" in lines[0], (code, lines)


def test_a_drain_of_output_that_never_ends_stops_and_the_waits_still_watch_memory() -> None:
    from jupyter_codesearch.execute._channel import Abort, Channel

    # /dev/zero stands for writers on other cores that refill the pipe faster than it drains.
    ours, theirs = socket.socketpair()
    chan = Channel(ours.detach(), os.open("/dev/zero", os.O_RDONLY))
    watched: list[float] = []

    def watch() -> None:
        watched.append(time.monotonic())
        if len(watched) == 3:
            raise Abort("memory", "watched")

    chan.watch = watch
    try:
        start = time.monotonic()
        chan.drain_output()
        assert time.monotonic() - start < 1.0 and 0 < chan.output_bytes <= 4 << 20
        with pytest.raises(Abort) as e:  # never idle, yet the memory watch runs by the clock
            chan.recv(time.monotonic() + 5)
        assert e.value.status == "memory" and time.monotonic() - start < 2.0
    finally:
        chan.close()
        theirs.close()


def test_output_that_never_stops_is_drained_within_the_deadline() -> None:
    # Writers on every core keep the pipe full after the answer: the drain must stop anyway.
    attacker = body("""
        import os, threading
        def spin():
            os.sched_setaffinity(0, range(os.cpu_count()))
            chunk = b"y" * 65536
            while True:
                try:
                    os.write(1, chunk)
                except OSError:
                    pass
        def f(x):
            for _ in range(3):
                if os.fork() == 0:
                    spin()
            threading.Thread(target=spin, daemon=True).start()
            return x + 2
        """)
    honest, bad, again = between(PLUS_ONE, GOOD, attacker)
    assert honest.passed and again.passed, (honest.error, again.error)
    assert bad.status == "failed" and not bad.passed, (bad.status, bad.error)
    assert len(bad.stdout) <= 4096 and again.output_bytes == 0


HIDDEN_ARG = 777123


@pytest.mark.parametrize("as_written", [False, True])
def test_a_hidden_tests_arguments_never_reach_what_a_model_sees(as_written: bool) -> None:
    from jupyter_codesearch._model import Candidate
    from jupyter_codesearch.run._rounds import visible_failures

    tail = " and True" if as_written else ""
    spec = body(f'''
        def f(x):
            """Return x + 1."""

        assert f(1) == 2{tail}
        assert f({HIDDEN_ARG}) == {HIDDEN_ARG + 1}{tail}  # hidden
        assert f(41) == 42{tail}
        ''')
    # Remembers every argument it was given, and reads the trusted side's message out of its
    # caller's frame: both go into the error of every call.
    attacker = body("""
        import sys
        SEEN = []
        def f(x):
            SEEN.append(x)
            frame, found = sys._getframe(1), []
            while frame is not None:
                found.append(repr(frame.f_locals.get("msg", "")))
                frame = frame.f_back
            raise ValueError(f"seen {SEEN} in {found}")
        """)
    honest, bad, again = between(spec, GOOD, attacker)
    assert honest.passed and again.passed, (honest.error, again.error)
    assert bad.status == "error" and not bad.passed
    shown = [t for t in bad.tests if not t.hidden and not t.withheld]
    assert [t.line for t in shown] == ([4] if as_written else [4, 6])
    for t in shown:
        assert str(HIDDEN_ARG) not in f"{t.got} {t.error} {t.calls}", t
    # What a repair round would show a model (the same rule the run uses).
    seen_by_model = visible_failures(Candidate(0, attacker, "llm", None, 1, verdict=bad))
    assert seen_by_model and str(HIDDEN_ARG) not in " ".join(seen_by_model)


CLEAN_SPEC = 'def f(x):\n    """Nothing planted; scratch files work."""\n\nassert f(1) == "clean"\n'
CLEAN_READER = body("""
    import os, tempfile
    def f(x):
        seen = []
        for top in ("/", "/etc", "/dev", "/tmp", "/tmp/home", "/tmp/work", "/dev/shm"):
            try:
                seen += [top + "/" + n for n in os.listdir(top) if "cs-planted" in n]
            except OSError:
                pass
        for place in ("/tmp", "/dev/shm", "/tmp/work"):  # an honest candidate's scratch still works
            with tempfile.NamedTemporaryFile(dir=place) as fh:
                fh.write(b"x" * (4 << 20))
                fh.flush()
        return seen or "clean"
    """)
PLANTERS = {
    "locked_dirs": """
        for top in ("/tmp", "/dev/shm", "/tmp/home"):
            os.makedirs(top + "/cs-planted-locked/inner")
            with open(top + "/cs-planted-locked/inner/note", "w") as fh:
                fh.write("planted")
            os.chmod(top + "/cs-planted-locked/inner", 0)
            os.chmod(top + "/cs-planted-locked", 0)
        """,
    "deep_tree": """
        os.mkdir("/tmp/cs-planted-deep")
        os.chdir("/tmp/cs-planted-deep")
        for _ in range(1500):
            os.mkdir("d")
            os.chdir("d")
        os.chdir("/tmp/work")
        """,
    "symlink_loops": """
        for i in range(1000):
            os.symlink(f"/tmp/cs-planted-loop-{(i + 1) % 1000}", f"/tmp/cs-planted-loop-{i}")
            os.makedirs(f"/tmp/cs-planted-dir-{i}")
            os.symlink("..", f"/tmp/cs-planted-dir-{i}/up")
        """,
    "full_scratch": """
        for top in ("/tmp", "/dev/shm"):
            for i in range(40):
                try:
                    with open(f"{top}/cs-planted-fill-{i}", "wb") as fh:
                        fh.write(b"y" * (8 << 20))
                except OSError:
                    break
        """,
}


@pytest.mark.parametrize("name", sorted(PLANTERS))
def test_nothing_a_candidate_leaves_in_its_scratch_reaches_the_next(name: str) -> None:
    attacker = "import os\n" + body(PLANTERS[name]) + "def f(x):\n    return 'planted'\n"
    honest, bad, again = between(CLEAN_SPEC, CLEAN_READER, attacker, timeout=5.0)
    assert honest.passed and again.passed, (honest.status, honest.error, again.status, again.error, again.tests)
    # Filling the scratch is memory (tmpfs pages), counted with the candidate's processes.
    assert bad.status in ({"failed", "memory"} if name == "full_scratch" else {"failed"}), (bad.status, bad.error)


def test_everything_outside_the_scratch_is_read_only() -> None:
    attacker = body("""
        import os
        def f(x):
            wrote = []
            for path in ("/cs-planted", "/etc/cs-planted", "/etc/mime.types", "/root/cs-planted",
                         "/dev/cs-planted", "/usr/cs-planted", "/bin/cs-planted"):
                try:
                    with open(path, "a") as fh:
                        fh.write("text/x-planted  py\\n")
                    wrote.append(path)
                except OSError:
                    pass
            for path in ("/cs-planted-dir", "/etc/cs-planted-dir", "/root"):
                try:
                    os.mkdir(path)
                    wrote.append(path)
                except OSError:
                    pass
            return wrote
        """)
    honest, bad, again = between(CLEAN_SPEC, CLEAN_READER, attacker)
    assert honest.passed and again.passed
    assert bad.status == "failed" and bad.tests[0].got == "[]", bad.tests[0].got


def test_files_in_the_scratch_count_against_the_memory_limit() -> None:
    attacker = body("""
        import time
        def f(x):
            for i in range(12):
                with open(f"/tmp/cs-planted-big-{i}", "wb") as fh:
                    fh.write(b"y" * (10 << 20))
            time.sleep(30)
            return "clean"
        """)
    honest, bad, again = between(CLEAN_SPEC, CLEAN_READER, attacker, timeout=5.0, memory_mb=64)
    assert honest.passed and again.passed, (honest.error, again.error)
    assert bad.status == "memory", (bad.status, bad.error)


def test_a_fork_bomb_is_reaped_and_the_next_candidates_start() -> None:
    # 200 forks that keep forking: the process limit stops it; what it leaves dying must not
    # stop the next (honest) candidate from being forked.
    attacker = body("""
        import os, time
        def f(x):
            for _ in range(200):
                try:
                    os.fork()
                except OSError:
                    time.sleep(0.001)
            while True:
                try:
                    os.fork()
                except OSError:
                    pass
        """)
    for _ in range(2):
        honest, bad, again = between(PLUS_ONE, GOOD, attacker)
        assert honest.passed and again.passed, (honest.error, again.status, again.error)
        assert bad.status in {"timeout", "crashed", "error"} and not bad.passed, (bad.status, bad.error)


SCAN_SELF = "0123456789abcdef" * 2
SCAN_SPEC = f'def f(x):\n    """The marks in its own memory: only its own."""\n\nassert f(1) == [{SCAN_SELF!r}]\n'
MEMORY_SCANNER = body('''
    import ctypes, gc, os, re
    SELF = "cs-planted-mark:''' + SCAN_SELF + '''"  # proves the scan sees this process's own source
    def f(x):
        # Every readable page this process can find: /proc/self/maps where there is one (the
        # sandbox has no /proc), else the brk heap below sbrk(0) and the megabytes around every
        # live object (the allocator's arenas), read fault-free with process_vm_readv.
        libc = ctypes.CDLL(None, use_errno=True)
        class Iov(ctypes.Structure):
            _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
        readv = libc.process_vm_readv
        readv.restype = ctypes.c_ssize_t
        readv.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong,
                          ctypes.c_ulong]
        buf = ctypes.create_string_buffer(1 << 20)
        def read(addr, n):
            local, remote = Iov(ctypes.addressof(buf), n), Iov(addr, n)
            got = readv(os.getpid(), ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
            return ctypes.string_at(buf, got) if got > 0 else b""
        spans = []
        if os.path.exists("/proc/self/maps"):
            for line in open("/proc/self/maps"):
                lo, hi = (int(a, 16) for a in line.split()[0].split("-"))
                if line.split()[1].startswith("r"):
                    spans.append((lo, hi))
        else:
            libc.sbrk.restype = ctypes.c_void_p
            top = libc.sbrk(0) & ~4095
            lo = top
            while lo > (1 << 20) and len(read(lo - (1 << 20), 1 << 20)) == 1 << 20:
                lo -= 1 << 20
            spans.append((max(0, lo - (1 << 20)), top))
            for mb in sorted({id(o) >> 20 for o in gc.get_objects()}):
                spans.append(((mb - 1) << 20, (mb + 2) << 20))
        prefix = ("cs-planted-" + "mark:").encode()
        found = set()
        for lo, hi in spans:
            addr = lo
            while addr < hi:
                chunk = read(addr, min(hi - addr, 1 << 20))
                if not chunk:
                    addr += 4096
                    continue
                found.update(m.decode() for m in re.findall(re.escape(prefix) + b"([0-9a-f]{32})", chunk))
                addr += (len(chunk) + 4095) & ~4095
        return sorted(found)
    ''')


def test_no_candidate_can_read_an_earlier_candidates_source_in_its_memory() -> None:
    # The source and constants of a candidate never reach the zygote, so no later candidate
    # forked from it inherits them, not even in freed memory. The scanner passes only if it
    # finds its own mark (the scan works) and no other (it failed with the planter's before).
    mark = "cs-planted-mark:" + secrets.token_hex(16)
    lines = "\n".join(f"# {mark} {i}" for i in range(400))
    planter = f"{lines}\nMARK = {mark!r}\nMARKS = [{mark!r} + str(i) for i in range(9)]\n" \
              f"def f(x):\n    return [{mark!r}[16:], MARK]\n"
    honest, bad, again = between(SCAN_SPEC, MEMORY_SCANNER, planter, timeout=5.0)
    assert honest.passed, (honest.status, honest.error, honest.tests)
    assert bad.status == "failed" and not bad.passed, (bad.status, bad.error)
    assert again.passed, (again.status, again.error, again.tests[0].got)


DATA_SPEC = '''
import numpy as np
import pandas as pd

def f(n):
    """A frame with column a = 0..n-1, and that column as an array."""

assert f(2)[0].equals(pd.DataFrame({"a": [0, 1]}))
assert (f(2)[1] == np.array([0, 1])).all()
'''
DATA_HONEST = "import numpy as np, pandas as pd\ndef f(n):\n    return pd.DataFrame({'a': range(n)}), np.arange(n)\n"
DATA_CASES = {
    # Each would pass if the trusted side took the candidate's object (or its methods) for data.
    "frame_subclass_whose_equals_is_true": (
        body("""
        import numpy as np, pandas as pd
        class Yes(pd.DataFrame):
            def equals(self, other):
                return True
            def __eq__(self, other):
                return True
        def f(n):
            return Yes({'a': [9]}), np.arange(n)
        """),
        {"unserializable"},
    ),
    "array_subclass_whose_eq_is_true": (
        body("""
        import numpy as np, pandas as pd
        class Yes(np.ndarray):
            def __eq__(self, other):
                return np.ones(2, dtype=bool)
        def f(n):
            return pd.DataFrame({'a': range(n)}), np.zeros(2).view(Yes)
        """),
        {"unserializable"},
    ),
    "object_column_holding_a_yes": (
        body("""
        import numpy as np, pandas as pd
        class Yes:
            def __eq__(self, other):
                return True
        def f(n):
            return pd.DataFrame({'a': [Yes(), Yes()]}), np.arange(n)
        """),
        {"unserializable"},
    ),
    "masked_array": (
        "import numpy as np, pandas as pd\n"
        "def f(n):\n    return pd.DataFrame({'a': range(n)}), np.ma.masked_array([9, 9], mask=[1, 1])\n",
        {"unserializable"},
    ),
    "equals_patched_in_its_own_process": (
        "import numpy as np, pandas as pd\npd.DataFrame.equals = lambda self, other: True\n"
        "def f(n):\n    return pd.DataFrame({'a': [9, 9]}), np.arange(n)\n",
        {"failed"},
    ),
    "float_column_for_an_int_one": (
        "import numpy as np, pandas as pd\ndef f(n):\n    return pd.DataFrame({'a': [0.0, 1.0]}), np.arange(n)\n",
        {"failed"},
    ),
    "forged_frame_whose_buffer_is_short": (
        body("""
        import os
        def f(n):
            frame = (b'{"value":["T",["pdf",["prng",0,2,1,null],["pidx",["ndo",[1],"a"],null,null],'
                     b'["nd","<i8",[2],"AAAAAAAAAAA="]],["nd","<i8",[2],"AAAAAAAAAAABAAAAAAAAAA=="]],"t":0}')
            os.write(3, len(frame).to_bytes(4, "big") + frame)
            return None
        """),
        {"unserializable", "timeout"},
    ),
}


@pytest.mark.parametrize("name", sorted(DATA_CASES))
def test_a_data_answer_is_rebuilt_from_data_never_taken_as_sent(name: str) -> None:
    source, expected = DATA_CASES[name]
    honest, bad, again = between(DATA_SPEC, DATA_HONEST, source, timeout=5.0)
    assert honest.passed and again.passed, (honest.error, again.error)
    assert bad.status in expected and not bad.passed, (bad.status, bad.error)

"""Hostile candidates, each against the real sandboxed pool.

Every case checks: the status is the right one, it is not a pass, the verdict arrives within
timeout + 2 s, the pool verifies a correct candidate right afterwards, and nothing the hostile
candidate started is still running. Leak cases are built so that the candidate *would pass* if
the attack worked: the expected value is a secret only reachable through the leak.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_codesearch import Spec
from jupyter_codesearch._model import Behaviour, Limits
from jupyter_codesearch.execute import Verdict, detect_isolation, verify
from jupyter_codesearch.execute._codec import to_tree
from tests.conftest import SECRET
from tests.support.procs import wait_no_strays

TIMEOUT = 1.0
GOOD = "def f(x):\n    return x + 1\n"
PLUS_ONE = '''
def f(x):
    """Return x + 1."""

assert f(1) == 2
assert f(41) == 42
'''


def run(spec: str, source: str, timeout: float = TIMEOUT) -> Verdict:
    start = time.monotonic()
    [verdict] = verify(spec, [source], timeout=timeout, memory_mb=256)
    elapsed = time.monotonic() - start
    assert elapsed < timeout + 2, f"verdict took {elapsed:.2f} s"
    return verdict


@pytest.fixture(scope="module", autouse=True)
def sandboxed_pool() -> None:
    if not detect_isolation().sandboxed:
        pytest.fail("bubblewrap is required for the hazard suite: apt-get install bubblewrap")
    verify(PLUS_ONE, [GOOD])  # start the pool outside the timed cases


@pytest.fixture(autouse=True)
def pool_survives() -> Iterator[None]:
    yield
    left = wait_no_strays()
    assert not left, f"processes left running after the verdict: {left}"
    [after] = verify(PLUS_ONE, [GOOD], timeout=TIMEOUT)
    assert after.status == "passed", after


def body(code: str) -> str:
    return textwrap.dedent(code).strip() + "\n"


RESOURCE_CASES = {
    "infinite_loop": ("def f(x):\n    while True:\n        pass\n", {"timeout"}),
    "busy_c_loop": ("def f(x):\n    return sum(range(10**13))\n", {"timeout"}),
    "memory_bomb": ("def f(x):\n    return len(bytearray(10**11))\n", {"memory"}),
    "memory_bomb_list": ("def f(x):\n    a = []\n    while True:\n        a.append([0] * 10**6)\n", {"memory"}),
    "deep_recursion": ("def f(x):\n    return f(x + 1)\n", {"error"}),
    "deep_recursion_unlimited": (
        "import sys\nsys.setrecursionlimit(10**8)\ndef f(x):\n    return f(x + 1) + 1\n",
        # Python 3.11 keeps Python frames off the C stack: this ends by memory, time or a crash.
        {"crashed", "error", "memory", "timeout"},
    ),
    "segfault_ctypes": ("import ctypes\ndef f(x):\n    return ctypes.string_at(0)\n", {"crashed"}),
    "exit_at_import": ("import sys\nsys.exit(0)\ndef f(x):\n    return x + 1\n", {"crashed"}),
    "exit_in_function": ("import sys\ndef f(x):\n    sys.exit(0)\n", {"crashed"}),
    "os_exit_at_import": ("import os\nos._exit(0)\ndef f(x):\n    return x + 1\n", {"crashed"}),
    "os_exit_in_function": ("import os\ndef f(x):\n    os._exit(0)\n", {"crashed"}),
    "raise_systemexit_at_import": ("raise SystemExit\ndef f(x):\n    return x + 1\n", {"crashed"}),
    "raise_systemexit_in_function": ("def f(x):\n    raise SystemExit(0)\n", {"crashed"}),
    "keyboardinterrupt_at_import": ("raise KeyboardInterrupt\ndef f(x):\n    return x + 1\n", {"crashed"}),
    "keyboardinterrupt_in_function": ("def f(x):\n    raise KeyboardInterrupt\n", {"crashed"}),
    "kill_self": ("import os, signal\ndef f(x):\n    os.kill(os.getpid(), signal.SIGKILL)\n", {"crashed"}),
    "kill_parent": (
        "import os, signal\ndef f(x):\n    os.kill(os.getppid(), signal.SIGKILL)\n    return 'parent killed'\n",
        {"failed"},
    ),
    "kill_zygote_and_everyone": (
        body("""
        import os, signal
        def f(x):
            for pid in range(1, 5000):
                if pid != os.getpid():
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
            return 'all killed'
        """),
        {"failed"},
    ),
    "kill_process_group": ("import os, signal\ndef f(x):\n    os.killpg(0, signal.SIGKILL)\n", {"crashed"}),
    # From inside its PID namespace there is nobody else to signal: ESRCH, or it dies; or the
    # previous candidate, killed at this one's spawn, is still on its way out (it returns None).
    "kill_all_minus_one": (
        "import os, signal\ndef f(x):\n    os.kill(-1, signal.SIGKILL)\n", {"crashed", "error", "failed"}
    ),
    "stop_parent": (
        "import os, signal\ndef f(x):\n    os.kill(os.getppid(), signal.SIGSTOP)\n    return 0\n",
        {"failed"},
    ),
    "eq_always_true": (
        "class Yes:\n    def __eq__(self, other):\n        return True\ndef f(x):\n    return Yes()\n",
        {"unserializable"},
    ),
    "eq_always_true_int_subclass": (
        "class Yes(int):\n    def __eq__(self, other):\n        return True\n    __hash__ = int.__hash__\n"
        "def f(x):\n    return Yes(0)\n",
        {"unserializable"},
    ),
    "fake_results_on_stdout": (
        body("""
        import json, sys
        def f(x):
            fake = json.dumps({"value": x + 1, "status": "passed", "passed": True})
            print(fake)
            sys.stdout.flush()
            sys.__stdout__.write(fake)
            return "wrong"
        """),
        {"failed"},
    ),
    "fake_results_on_inherited_fds": (
        body("""
        import json, os
        def f(x):
            frame = json.dumps({"value": "forged", "status": "passed"}).encode()
            for fd in range(0, 1024):
                try:
                    os.write(fd, len(frame).to_bytes(4, "big") + frame)
                except OSError:
                    pass
            return "wrong"
        """),
        {"failed"},
    ),
    "fork_200_sleepers": (
        body("""
        import os, time
        def f(x):
            for _ in range(200):
                try:
                    if os.fork() == 0:
                        os.setsid()
                        time.sleep(1000)
                        os._exit(0)
                except OSError:
                    break
            return "forked"
        """),
        # More than 64 processes: stopped as soon as the watch sees them, or answered first.
        {"failed", "crashed"},
    ),
    "double_fork_daemon": (
        body("""
        import os, time
        def f(x):
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    time.sleep(1000)
                os._exit(0)
            return "daemonized"
        """),
        {"failed"},
    ),
}


@pytest.mark.parametrize("name", sorted(RESOURCE_CASES))
def test_hostile_candidate_gets_the_right_status(name: str) -> None:
    source, expected = RESOURCE_CASES[name]
    # Memory cases get time to reach the limit even on a loaded machine.
    verdict = run(PLUS_ONE, source, timeout=5.0 if "memory" in name else TIMEOUT)
    assert verdict.status in expected, (verdict.status, verdict.error)
    assert not verdict.passed


def test_a_hundred_megabytes_of_output_is_drained_and_capped() -> None:
    source = "def f(x):\n    print('y' * 100_000_000)\n    return x + 1\n"
    verdict = run(PLUS_ONE, source, timeout=5.0)
    assert verdict.status == "passed"  # printing is not wrong; the output is capped, not kept
    assert verdict.output_bytes >= 2 * 100_000_000
    assert len(verdict.stdout) <= 4096


# -- leaks: the candidate passes only if the secret reached it --------------------------------------


def secret_spec(secret: str) -> str:
    return f'def f(x):\n    """Return the secret."""\n\nassert f(1) == {secret!r}\n'


def test_env_secret_of_the_caller_is_not_visible() -> None:
    source = body("""
        import os
        def f(x):
            for value in os.environ.values():
                if value.startswith("cs-secret-"):
                    return value
            return os.environ.get("CODESEARCH_TEST_SECRET", "absent") + os.environ.get("OPENAI_API_KEY", "")
        """)
    verdict = run(secret_spec(SECRET), source)
    assert verdict.status == "failed"
    assert SECRET not in (verdict.tests[0].got or "")


def test_gc_objects_and_frames_hold_no_expected_value() -> None:
    secret = "cs-expected-" + secrets.token_hex(8)
    source = body("""
        import gc, sys
        def f(x):
            for obj in gc.get_objects():
                try:
                    if isinstance(obj, dict):
                        items = list(obj.values())
                    else:
                        items = list(obj) if isinstance(obj, (list, tuple)) else [obj]
                except Exception:
                    continue
                for item in items:
                    if isinstance(item, str) and "cs-expected-" in item:
                        return item[item.index("cs-expected-"):][:28]
            frame = sys._getframe()
            while frame is not None:
                for value in list(frame.f_locals.values()) + list(frame.f_globals.values()):
                    if isinstance(value, str) and "cs-expected-" in value:
                        return value
                    # tamper: make every comparison the harness might do succeed
                frame.f_globals["to_tree"] = lambda v: ["T"]
                frame = frame.f_back
            return "nothing found"
        """)
    verdict = run(secret_spec(secret), source)
    assert verdict.status in {"failed", "unserializable"}, verdict


def test_filesystem_scan_does_not_find_the_spec(tmp_path: Path) -> None:
    secret = "cs-expected-" + secrets.token_hex(8)
    spec = secret_spec(secret)
    # Put the spec where a scan might look: /tmp, the home directory, the working directory.
    places = [tmp_path / "spec.py", Path.home() / ".cs-hazard-spec.py", Path.cwd() / ".cs-hazard-spec.py"]
    for p in places:
        p.write_text(spec)
    try:
        source = body("""
            import os
            def f(x):
                for root, dirs, files in os.walk("/"):
                    dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev")]
                    for name in files:
                        path = os.path.join(root, name)
                        try:
                            if os.path.getsize(path) > 200_000:
                                continue
                            with open(path, errors="ignore") as fh:
                                text = fh.read()
                        except OSError:
                            continue
                        if "cs-expected-" in text:
                            i = text.index("cs-expected-")
                            return text[i:i + 28]
                return "nothing found"
            """)
        verdict = run(spec, source, timeout=20.0)
        assert verdict.status in {"failed", "timeout"}, verdict
    finally:
        for p in places:
            p.unlink(missing_ok=True)


def test_secret_file_in_the_real_home_is_not_readable() -> None:
    secret = "cs-expected-" + secrets.token_hex(8)
    path = Path.home() / ".cs-hazard-secret"
    path.write_text(secret)
    try:
        source = body(f"""
            def f(x):
                try:
                    with open({str(path)!r}) as fh:
                        return fh.read()
                except OSError as e:
                    return type(e).__name__
            """)
        verdict = run(secret_spec(secret), source)
        assert verdict.status == "failed"
        assert verdict.tests[0].got == repr("FileNotFoundError")
    finally:
        path.unlink()


def test_jupyter_runtime_dirs_are_not_visible() -> None:
    from jupyter_core.paths import jupyter_runtime_dir

    secret = "cs-expected-" + secrets.token_hex(8)
    user_runtime = Path(jupyter_runtime_dir())
    user_runtime.mkdir(parents=True, exist_ok=True)
    planted = user_runtime / "kernel-cs-hazard.json"
    planted.write_text(json.dumps({"key": secret}))
    try:
        source = body(f"""
            import glob, json
            def f(x):
                paths = glob.glob({str(user_runtime)!r} + "/*.json") + glob.glob("/tmp/codesearch-*/*.json")
                for path in paths:
                    try:
                        with open(path) as fh:
                            key = json.load(fh).get("key")
                        if key:
                            return key if key.startswith("cs-expected-") else "found a connection key"
                    except (OSError, ValueError):
                        pass
                return "nothing found: " + str(len(paths))
            """)
        verdict = run(secret_spec(secret), source)
        assert verdict.status == "failed"
        assert verdict.tests[0].got == repr("nothing found: 0")
    finally:
        planted.unlink()


def test_tcp_server_on_localhost_is_unreachable() -> None:
    secret = "cs-expected-" + secrets.token_hex(8)
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    accepted: list[object] = []
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, addr = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(addr)
            with conn:
                conn.sendall(secret.encode())

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        source = body(f"""
            import socket
            def f(x):
                try:
                    with socket.create_connection(("127.0.0.1", {port}), timeout=0.5) as s:
                        return s.recv(100).decode()
                except OSError as e:
                    return type(e).__name__
            """)
        verdict = run(secret_spec(secret), source)
        assert verdict.status == "failed"
        assert accepted == []
    finally:
        stop.set()
        server.close()
        thread.join()


def test_writing_into_the_callers_cwd_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "pwned.txt"
    source = body(f"""
        def f(x):
            try:
                with open({str(target)!r}, "w") as fh:
                    fh.write("pwned")
                return True
            except OSError:
                return False
        """)
    verdict = run("def f(x):\n    '''Write.'''\n\nassert f(1) == True\n", source)
    assert verdict.status == "failed"
    assert not target.exists()
    assert os.listdir(tmp_path) == []


def test_memory_is_bounded_across_all_of_a_candidates_processes() -> None:
    source = body("""
        import os, time
        def f(x):
            for _ in range(3):
                if os.fork() == 0:
                    hold = bytearray(200 * 1024 * 1024)
                    for i in range(0, len(hold), 4096):
                        hold[i] = 1
                    time.sleep(30)
                    os._exit(0)
            time.sleep(30)
            return x + 1
        """)
    [verdict] = verify(PLUS_ONE, [source], timeout=8.0, memory_mb=256)
    assert verdict.status == "memory", verdict.error


def test_nothing_passes_from_one_candidate_to_the_next_through_tmp_or_shm() -> None:
    secret = "cs-expected-" + secrets.token_hex(8)
    writer = body(f"""
        import os
        for place in ("/tmp", "/dev/shm", "/tmp/work", os.getcwd()):
            try:
                with open(os.path.join(place, "note.txt"), "w") as fh:
                    fh.write({secret!r})
            except OSError:
                pass
        def f(x):
            return "written"
        """)
    reader = body("""
        import os
        def f(x):
            for place in ("/tmp", "/dev/shm", "/tmp/work", os.getcwd()):
                try:
                    with open(os.path.join(place, "note.txt")) as fh:
                        return fh.read()
                except OSError:
                    pass
            return "nothing"
        """)
    verdicts = verify(secret_spec(secret), [writer, reader], workers=1)
    assert [v.status for v in verdicts] == ["failed", "failed"]
    assert verdicts[1].tests[0].got == repr("nothing")


def test_huge_answers_are_refused_not_carried() -> None:
    [verdict] = verify(PLUS_ONE, ["def f(x):\n    return 'y' * (40 * 1024 * 1024)\n"], timeout=5.0)
    assert verdict.status == "unserializable", verdict.error


def test_a_candidate_cannot_fake_its_speed() -> None:
    honest = "import time\ndef f(x):\n    time.sleep(0.2)\n    return x + 1\n"
    liar = "import time\ndef f(x):\n    time.sleep(0.2)\n    time.perf_counter = lambda: 0.0\n    return x + 1\n"
    for v in verify(PLUS_ONE, [honest, liar], timeout=5.0):
        assert v.passed and v.runtime_s is not None and v.runtime_s >= 0.15, v.runtime_s


def test_a_slow_context_is_not_charged_to_the_candidate() -> None:
    spec = "import time\ntime.sleep(1.2)\n" + PLUS_ONE
    [verdict] = verify(spec, [GOOD], timeout=1.0)
    assert verdict.passed, verdict.error


def test_a_candidate_holds_only_its_own_descriptors() -> None:
    source = body("""
        import os, stat
        def f(x):
            found = []
            for fd in range(1024):
                try:
                    mode = os.fstat(fd).st_mode
                except OSError:
                    continue
                kinds = [(stat.S_ISCHR, "chr"), (stat.S_ISFIFO, "fifo"), (stat.S_ISSOCK, "sock")]
                kind = next((name for test, name in kinds if test(mode)), "other")
                found.append((fd, kind))
            return found
        """)
    [verdict] = verify("def f(x):\n    '''d'''\n\nassert f(1) == []\n", [source], workers=1)
    # stdin is /dev/null, stdout and stderr the capture pipe, 3 the call socket: nothing of the
    # zygote's (its control socket above all), nothing of the kernel's.
    assert verdict.tests[0].got == repr([(0, "chr"), (1, "fifo"), (2, "fifo"), (3, "sock")])


# -- issue 18: an attacker between two honest candidates ---------------------------------------------


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
    # forked from it inherits them, not even in freed memory.
    mark = "cs-planted-mark:" + secrets.token_hex(16)
    lines = "\n".join(f"# {mark} {i}" for i in range(400))
    planter = f"{lines}\nMARK = {mark!r}\nMARKS = [{mark!r} + str(i) for i in range(9)]\n" \
              f"def f(x):\n    return [{mark!r}[16:], MARK]\n"
    honest, bad, again = between(SCAN_SPEC, MEMORY_SCANNER, planter, timeout=5.0)
    assert honest.passed, (honest.status, honest.error, honest.tests)
    assert bad.status == "failed" and not bad.passed, (bad.status, bad.error)
    assert again.passed, (again.status, again.error, again.tests[0].got)

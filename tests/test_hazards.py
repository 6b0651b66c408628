"""Hostile candidates, each alone against the real sandboxed pool: resources, and the walls
around it (environment, files, network, descriptors, the tests' values).

Every case checks: the status is the right one, it is not a pass, the verdict arrives within
timeout + 2 s, the pool verifies a correct candidate right afterwards, and nothing the hostile
candidate started is still running. Leak cases are built so that the candidate *would pass* if
the attack worked: the expected value is a secret only reachable through the leak.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import threading
from pathlib import Path

import pytest

from jupyter_codesearch.execute import verify
from tests.conftest import SECRET
from tests.support.hazards import GOOD, PLUS_ONE, TIMEOUT, body, run

# Every case runs in the sandboxed pool, and leaves it working (fixtures in conftest).
pytestmark = pytest.mark.usefixtures("sandboxed_pool", "pool_survives")


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

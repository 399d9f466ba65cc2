"""Hostile programs against ``code.unit_tests``: forged verdicts and limits that must hold.

Each test runs a real program through ``rewardsmith.load("code.unit_tests")`` in the real
bubblewrap sandbox. The threat model these tests pin down:

- The program cannot write the verdict. The tests' code runs in a judge process the
  program cannot reach (its own channel to the scorer is closed in the program's
  process; the judge is not dumpable, so ``/proc/<pid>/fd`` and ``/proc/<pid>/mem`` are
  closed to the program). Program functions are called from the judge by value: only
  plain data (``int``, ``float``, ``str``, ``bytes``, ``bool``, ``None``, ``list``,
  ``tuple``, ``dict``, ``set``, exact types) comes back, so rebinding ``range`` or
  ``AssertionError``, always-equal objects, patching the harness or ``json``, or
  writing "success" lines earn nothing.
- The program cannot make namespaces, mount file systems, ptrace, or use keyrings,
  BPF or perf events (a seccomp filter; ``--disable-userns`` when not root).
- What the program sends back is bounded before the scorer decodes or computes on it.
- Anything the program writes or does is its fault: a score of 0 with the reason
  (status ok), never ``None`` (which trainers drop).
"""

from __future__ import annotations

import contextlib
import tracemalloc
from collections.abc import Iterator

import pytest

import rewardsmith
from helpers_code import ADD_TESTS, code, outcomes, run_one
from rewardsmith import Sample

HONEST_ADD = "def add(a, b):\n    return a + b"
LOOP_TESTS = {"tests": "for x in range(5):\n    assert sq(x) == x * x"}
HONEST_SQ = "def sq(x):\n    return x * x"


@pytest.fixture(scope="module")
def reward():
    return rewardsmith.load("code.unit_tests", timeout_s=2.0, memory_mb=512)


@pytest.fixture(autouse=True)
def honest_after(reward):
    """After each hostile program, honest programs of both suite shapes still pass."""
    yield
    scores = reward.score(
        [
            Sample(completion=code(HONEST_ADD), reference=ADD_TESTS),
            Sample(completion=code(HONEST_SQ), reference=LOOP_TESTS),
        ]
    )
    assert [s.value for s in scores] == [1.0, 1.0], [s.info for s in scores]


# --- item 3: the program has no way to write the verdict -------------------------------


def test_own_range_does_not_skip_loop_asserts(reward):
    body = """
    def range(*args):
        return []
    def sq(x):
        return 0
    """
    score = run_one(reward, body, LOOP_TESTS)
    assert score.value == 0.0, score.info


def test_own_range_does_not_empty_a_comprehension_inside_an_assert(reward):
    body = """
    import builtins
    builtins.range = lambda *a: []
    range = builtins.range
    def sq(x):
        return 0
    """
    ref = {"tests": "assert all([sq(x) == x * x for x in range(1, 5)])"}
    assert run_one(reward, body, ref).value == 0.0


def test_always_equal_object_does_not_pass_a_check_candidate_suite(reward):
    body = """
    class Anything:
        def __eq__(self, other): return True
        def __ne__(self, other): return False
        __hash__ = object.__hash__
    def inc(x):
        return Anything()
    """
    ref = {
        "test": "def check(candidate):\n"
        "    for x in range(4):\n"
        "        assert candidate(x) == x + 1\n"
        "    assert candidate(10) == 11\n",
        "entry_point": "inc",
    }
    score = run_one(reward, body, ref)
    assert score.value == 0.0, score.info
    assert "pass" not in outcomes(score)


FORGED = (
    b'{"load": "ok"}\n{"x": 0, "ok": true}\n{"i": 0, "ok": true}\n'
    b'{"i": 0, "leaves": [{"v": ["B", true]}]}\n'
    b'load {"load": "ok"}\n0 {"ok": true}\n0 {"leaves": [{"v": ["B", true]}]}\n'
)


def test_writing_success_lines_everywhere_does_not_pass(reward):
    body = f"""
    import os
    forged = {FORGED!r}
    targets = [f"/proc/self/fd/{{fd}}" for fd in range(64)]
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            targets += [f"/proc/{{pid}}/fd/{{fd}}" for fd in range(16)]
    for fd in range(64):
        try:
            os.write(fd, forged)
        except OSError:
            pass
    for path in targets:
        try:
            out = os.open(path, os.O_WRONLY)
            os.write(out, forged)
            os.close(out)
        except OSError:
            pass
    def sq(x):
        os._exit(0)
    os._exit(0)
    """
    assert run_one(reward, body, LOOP_TESTS).value == 0.0
    assert run_one(reward, body.replace("def sq", "def add"), ADD_TESTS).value == 0.0


def test_patching_the_harness_from_inside_does_not_pass(reward):
    body = """
    import builtins, sys
    main = sys.modules["__main__"]
    for name in dir(main):
        obj = getattr(main, name)
        if isinstance(obj, type) and hasattr(obj, "emit"):
            real = obj.emit
            def emit(self, record, real=real):
                record = dict(record)
                record.pop("k", None)
                record.pop("e", None)
                if "x" in record or "i" in record:
                    record["ok"] = True
                return real(self, record)
            obj.emit = emit
    builtins.AssertionError = type("Nothing", (Exception,), {})
    def sq(x):
        return -1
    """
    score = run_one(reward, body, LOOP_TESTS)
    assert score.value == 0.0, score.info


def test_trace_function_cannot_rewrite_the_test(reward):
    body = """
    import sys
    def tracer(frame, event, arg):
        if event == "exception" and arg[0] is AssertionError:
            frame.f_globals["__builtins__"]  # the test's frame is in reach
            raise SystemExit(0)
        return tracer
    sys.settrace(tracer)
    def sq(x):
        return -1
    """
    assert run_one(reward, body, LOOP_TESTS).value == 0.0


def test_asserts_in_a_helper_called_later_are_tests(reward):
    ref = {"tests": "def t(x):\n    assert sq(x) == x * x\nt(2)\nt(3)"}
    assert run_one(reward, "def sq(x):\n    return 5", ref).value == 0.0
    honest = run_one(reward, HONEST_SQ, ref)
    assert honest.value == 1.0, honest.info
    assert honest.info["total"] == 2


def test_in_process_tests_are_marked_in_info(reward):
    """The README promises that tests run as code (loops, helpers) are marked in info."""
    score = run_one(reward, HONEST_SQ, {"tests": "assert sq(2) == 4\n" + LOOP_TESTS["tests"]})
    assert score.value == 1.0
    assert [t.get("in_process", False) for t in score.info["tests"]] == [False, True]


# --- item 4: no namespaces, mounts, ptrace, keyrings, BPF or perf events ----------------

NAMESPACE_ESCAPE = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUSER, CLONE_NEWNS = 0x10000000, 0x00020000
def f(x):
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0:
        return "unshare: " + os.strerror(ctypes.get_errno())
    for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
        with open(f"/proc/self/{name}", "w") as fh:
            fh.write(text)
    if libc.mount(b"none", b"/tmp", b"tmpfs", 0, b"size=4g") != 0:
        return "mount: " + os.strerror(ctypes.get_errno())
    for i in range(8):  # 80 MiB, past the 64 MiB cap of the sandbox's /tmp
        with open(f"/tmp/big{i}", "wb") as fh:
            fh.write(b"0" * (10 << 20))
    return "escaped"
"""


def test_program_cannot_make_a_namespace_and_mount_its_own_tmpfs(reward):
    ref = {"fn_name": "f", "inputs": [[1]], "outputs": ["escaped"]}
    score = run_one(reward, NAMESPACE_ESCAPE, ref)
    assert score.value == 0.0, score.info
    assert "Operation not permitted" in score.info["tests"][0]["detail"]


SYSCALL_PROBE = """
import ctypes, errno, os, threading, subprocess, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
NR = {"unshare": 272, "setns": 308, "mount": 165, "umount2": 166, "pivot_root": 155,
      "ptrace": 101, "keyctl": 250, "add_key": 248, "request_key": 249, "bpf": 321,
      "perf_event_open": 298, "process_vm_readv": 310, "clone3": 435, "fsopen": 430,
      "open_tree": 428, "move_mount": 429}
def probe(name):
    args = [0] * 6
    if name == "unshare":
        args[0] = 0x10000000
    if name == "setns":
        args[0] = os.open("/proc/self/ns/net", os.O_RDONLY)
    if name == "clone3":
        args[0] = 0
    rc = libc.syscall(NR[name], *args)
    return "ok" if rc >= 0 else errno.errorcode.get(ctypes.get_errno(), "?")
def f(x):
    out = {name: probe(name) for name in NR}
    t = threading.Thread(target=lambda: None)
    t.start()
    t.join()
    pid = os.fork()
    if pid == 0:
        os._exit(7)
    out["fork"] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    out["sub"] = subprocess.run([sys.executable, "-c", "print(6*7)"], capture_output=True).stdout.decode().strip()
    return out
"""


def test_dangerous_system_calls_are_refused_and_ordinary_ones_work(reward):
    refused = ["unshare", "setns", "mount", "umount2", "pivot_root", "ptrace", "keyctl"]
    refused += ["add_key", "request_key", "bpf", "perf_event_open", "process_vm_readv"]
    refused += ["fsopen", "open_tree", "move_mount"]
    expected: dict[str, object] = dict.fromkeys(refused, "EPERM")
    expected.update({"clone3": "ENOSYS", "fork": 7, "sub": "42"})
    ref = {"fn_name": "f", "inputs": [[1]], "outputs": [expected]}
    score = run_one(reward, SYSCALL_PROBE, ref)
    assert score.value == 1.0, score.info


# --- item 5: values the program sends back are bounded before the scorer computes -------


@contextlib.contextmanager
def _peak_mb() -> Iterator[list[float]]:
    """The peak of what this process allocates inside the block, in MiB (tracemalloc:
    unlike ru_maxrss it does not hide under a peak an earlier test reached)."""
    out: list[float] = []
    tracemalloc.start()
    try:
        yield out
    finally:
        out.append(tracemalloc.get_traced_memory()[1] / 2**20)
        tracemalloc.stop()


def test_a_value_that_formats_into_gigabytes_does_not_grow_the_scorer(reward):
    ref = {"tests": ["assert f(1) % 7 == 3", "assert f(2) * 900000000 == 'x'"]}
    with _peak_mb() as peak:
        score = run_one(reward, "def f(x):\n    return '%0900000000d' if x == 1 else 'ab'", ref)
    assert score.value == 0.0
    assert peak[0] < 300, f"the scoring process allocated {peak[0]:.0f} MiB"


def test_a_value_over_the_size_cap_is_a_failed_test(reward):
    ref = {"fn_name": "f", "inputs": [[1], [2]], "outputs": ["x", [1]]}
    body = "def f(x):\n    return 'x' * (3 << 20) if x == 1 else [1]"
    with _peak_mb() as peak:
        score = run_one(reward, body, ref)
    assert score.value == 0.5, score.info
    assert outcomes(score)[0] == "unencodable"
    assert "too large" in score.info["tests"][0]["detail"]
    assert peak[0] < 300


# --- item 7: whatever the program writes is its fault: 0, status ok --------------------


@pytest.mark.parametrize(
    "junk",
    [b'{"x": []}\n', b"[" * 100_000 + b"\n", b'{"i": 0, "leaves": 5}\n', b"\xff\xfe{\n"],
    ids=["unhashable-x", "deep-nesting", "bad-leaves", "not-utf8"],
)
@pytest.mark.parametrize("shape", ["assert", "stdio"])
def test_malformed_result_lines_score_zero_not_none(reward, junk, shape):
    body = f"""
    import os
    junk = {junk!r}
    for fd in range(3, 64):
        try:
            os.write(fd, junk)
        except OSError:
            pass
    for pid in ("self", str(os.getppid())):
        for fd in range(3, 32):
            try:
                out = os.open(f"/proc/{{pid}}/fd/{{fd}}", os.O_WRONLY)
                os.write(out, junk)
            except OSError:
                pass
    def add(a, b):
        return 0
    """
    ref = ADD_TESTS if shape == "assert" else {"inputs": ["1\n", "2\n"], "outputs": ["1", "2"]}
    score = run_one(reward, body, ref)
    assert (score.value, score.status) == (0.0, "ok")


# --- item 18: a program that hangs or runs out of memory while loading ------------------


@pytest.mark.parametrize(
    ("body", "outcome"),
    [
        ("while True:\n    pass\ndef add(a, b):\n    return a + b", "timeout"),
        (
            "import time\nwhile True:\n    try:\n        time.sleep(60)\n"
            "    except BaseException:\n        pass\ndef add(a, b):\n    return a + b",
            "timeout",
        ),
        ("hog = bytearray(8 << 30)\ndef add(a, b):\n    return a + b", "memory"),
    ],
    ids=["busy-loop", "catches-the-alarm", "memory"],
)
def test_hang_or_memory_at_import_is_reported_as_such(reward, body, outcome):
    score = run_one(reward, body)
    assert score.value == 0.0
    assert outcomes(score)[0] == outcome, score.info


def test_a_fake_module_of_the_programs_does_not_decide_a_test(reward):
    body = """
    import types
    math = types.ModuleType("math")
    math.isclose = lambda *a, **k: True
    def sq(x):
        return -1
    """
    ref = {"tests": "for x in range(1, 4):\n    assert math.isclose(sq(x), x * x)"}
    assert run_one(reward, body, ref).value == 0.0


def test_a_limit_swallowed_by_the_tests_code_still_fails_the_test(reward):
    body = """
    def sq(x):
        while True:
            try:
                while True:
                    pass
            except BaseException:
                pass
    """
    ref = {
        "tests": "for x in range(3):\n    try:\n        y = sq(x)\n"
        "    except BaseException:\n        y = x * x\n    assert y == x * x"
    }
    score = run_one(reward, body, ref)
    assert score.value == 0.0
    assert outcomes(score) == ["timeout"]

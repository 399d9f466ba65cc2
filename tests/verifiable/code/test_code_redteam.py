"""Hostile programs against ``code.unit_tests``: each test checks one property.

After every hostile program the host must be unharmed and an honest program must still
score 1 (the ``honest_after`` fixture checks that).
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

import rewardsmith
from helpers_code import ADD_TESTS, outcomes, run_one
from rewardsmith import Sample

HONEST = "```python\ndef add(a, b):\n    return a + b\n```"


@pytest.fixture(scope="module")
def reward():
    return rewardsmith.load("code.unit_tests", timeout_s=2.0, memory_mb=512)


@pytest.fixture(autouse=True)
def honest_after(reward):
    yield
    score = reward.score([Sample(completion=HONEST, reference=ADD_TESTS)])[0]
    assert score.value == 1.0, score.info


def test_exit_zero_with_os_exit_passes_nothing(reward):
    score = run_one(reward, "import os\ndef add(a, b):\n    os._exit(0)")
    assert score.value == 0.0
    assert outcomes(score) == ["not_run", "not_run"]


def test_sys_exit_zero_at_import_passes_nothing(reward):
    score = run_one(reward, "import sys\nsys.exit(0)\ndef add(a, b): return a + b")
    assert score.value == 0.0


def test_atexit_handler_cannot_report_success(reward):
    body = """
    import atexit, os, sys
    atexit.register(lambda: (print("All tests passed"), os._exit(0)))
    def add(a, b):
        sys.exit(0)
    """
    assert run_one(reward, body).value == 0.0


def test_sigkill_to_itself_is_a_failure(reward):
    score = run_one(
        reward, "import os, signal\ndef add(a, b):\n    os.kill(os.getpid(), signal.SIGKILL)"
    )
    assert score.value == 0.0
    assert outcomes(score)[0] == "signal"


def test_always_equal_object_does_not_pass(reward):
    body = """
    class Anything:
        def __eq__(self, other): return True
        def __ne__(self, other): return False
    def add(a, b): return Anything()
    """
    score = run_one(reward, body)
    assert score.value == 0.0
    assert outcomes(score) == ["unencodable", "unencodable"]


def test_int_subclass_with_rigged_eq_does_not_pass(reward):
    body = """
    class Int(int):
        def __eq__(self, other): return True
        __hash__ = int.__hash__
    def f(x): return Int(0)
    """
    ref = {"fn_name": "f", "inputs": [[1], [2]], "outputs": [7, 8]}
    score = run_one(reward, body, ref)
    assert score.value == 0.0
    assert outcomes(score) == ["unencodable", "unencodable"]


def test_overriding_builtins_and_assertion_error_does_not_pass(reward):
    body = """
    import builtins
    builtins.AssertionError = type("Nothing", (Exception,), {})
    builtins.abs = lambda x: 0
    builtins.isinstance = lambda *a: True
    def add(a, b): return a - b
    """
    ref = {"tests": "assert abs(add(1, 2) - 3) < 1e-9\nassert isinstance(add(1, 2), str)"}
    assert run_one(reward, body, ref).value == 0.0


def test_printing_all_tests_passed_does_not_pass(reward):
    body = 'print("All tests passed")\nprint("OK")\ndef add(a, b): print("PASSED")'
    assert run_one(reward, body).value == 0.0
    stdio = {"inputs": ["1 2\n"], "outputs": ["3\n"]}
    assert run_one(reward, 'print("All tests passed")', stdio).value == 0.0


def test_expected_outputs_are_nowhere_in_the_sandbox():
    reward = rewardsmith.load("code.unit_tests", timeout_s=30.0)
    secret = "expected-7f3a9c"
    body = f"""
    import gc, os, sys
    hits = []
    for root, dirs, files in os.walk("/"):
        if root.startswith(("/proc", "/sys", "/dev", "/usr", "/lib", sys.prefix, sys.base_prefix)):
            dirs[:] = []
            continue
        for name in files:
            try:
                with open(os.path.join(root, name), "rb") as fh:
                    if b"{secret[:8]}" + b"-7f3a9c" in fh.read(1 << 20):
                        hits.append(os.path.join(root, name))
            except OSError:
                pass
    for obj in gc.get_objects():
        if isinstance(obj, str) and "{secret[:8]}" + "-7f3a9c" in obj:
            hits.append("memory")
    def f(x):
        return hits[0] if hits else "not found"
    """
    ref = {"fn_name": "f", "inputs": [[1]], "outputs": [secret]}
    score = run_one(reward, body, ref)
    assert score.value == 0.0
    assert "not found" in score.info["tests"][0]["detail"]


def test_no_connection_to_a_loopback_server(reward):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    accepted: list[object] = []

    def accept() -> None:
        end = time.monotonic() + 5
        while time.monotonic() < end:
            try:
                accepted.append(server.accept())
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    body = f"""
    import socket
    def f(x):
        try:
            socket.create_connection(("127.0.0.1", {port}), timeout=1).close()
            return "connected"
        except OSError as exc:
            return type(exc).__name__
    """
    score = run_one(reward, body, {"fn_name": "f", "inputs": [[1]], "outputs": ["connected"]})
    thread.join()
    server.close()
    assert score.value == 0.0
    assert accepted == []


def test_writing_outside_the_sandbox_leaves_no_file(reward, tmp_path: Path):
    os.chmod(tmp_path, 0o777)
    target = tmp_path / "escaped.txt"
    body = f"""
    for path in ["{target}", "/tmp/../{target}", "/root/escaped.txt"]:
        try:
            open(path, "w").write("x")
        except OSError:
            pass
    def add(a, b): return a + b
    """
    assert run_one(reward, body).value == 1.0  # it ran, and scored honestly
    assert not target.exists()
    assert not Path("/root/escaped.txt").exists()


def test_parent_environment_secret_is_not_visible(reward, monkeypatch):
    monkeypatch.setenv("RS_TEST_SECRET", "hunter2-secret")
    body = """
    import os, glob
    def f(x):
        found = [v for v in os.environ.values() if "hunter2" in v]
        for path in glob.glob("/proc/*/environ"):
            try:
                if b"hunter2" in open(path, "rb").read():
                    found.append(path)
            except OSError:
                pass
        return found
    """
    ref = {"fn_name": "f", "inputs": [[1]], "outputs": [["hunter2-secret"]]}
    score = run_one(reward, body, ref)
    assert score.value == 0.0
    assert "got []" in score.info["tests"][0]["detail"]


def _host_processes_with(marker: str) -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(pid)
            except OSError:
                pass
    return found


def test_fork_bomb_is_contained(reward):
    body = """
    import os
    def add(a, b):
        while True:
            try:
                os.fork()
            except OSError:
                pass
    """
    score = run_one(reward, body)
    assert score.value == 0.0
    # Every fork runs the harness: none of them may outlive the run.
    assert _host_processes_with("/sandbox/harness.py") == []


def test_memory_bomb_is_stopped(reward):
    score = run_one(reward, "def add(a, b):\n    return bytearray(8 << 30)")
    assert score.value == 0.0
    assert outcomes(score)[0] == "memory"


def test_infinite_loop_is_killed_in_time(reward):
    start = time.monotonic()
    score = run_one(reward, "def add(a, b):\n    while True:\n        pass")
    assert score.value == 0.0
    assert outcomes(score)[0] == "timeout"
    assert time.monotonic() - start < 30  # hang guard, not a speed test


def test_gigabyte_of_output_is_cut_off(reward):
    stdio = {"inputs": [""], "outputs": ["x"]}
    start = time.monotonic()
    score = run_one(reward, "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)", stdio)
    assert score.value == 0.0
    assert outcomes(score) == ["output"]
    assert len(score.info["stdout"]) < 1000
    assert time.monotonic() - start < 30


def test_daemon_in_a_new_session_does_not_survive(reward):
    marker = "daemon-marker-9b77"
    body = f"""
    import subprocess, sys
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", "{marker}"],
                     start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    def add(a, b): return a + b
    """
    assert run_one(reward, body).value == 1.0
    time.sleep(0.2)
    assert _host_processes_with(marker) == []


def test_killing_the_parent_and_every_pid_harms_nothing(reward):
    bystander = subprocess.Popen(["sleep", "60"])
    body = """
    import os, signal
    for pid in [os.getppid(), 1, -1, *range(2, 65536)]:
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    def add(a, b): return a + b
    """
    try:
        score = run_one(reward, body)
        assert bystander.poll() is None  # a host process the program could not see
        # The program runs in its own process, apart from the judge that decides; killing
        # the judge (same uid) fails every test: its fault, a 0, never a pass or a None.
        assert score.value == 0.0
        assert set(outcomes(score)) == {"signal"}
    finally:
        bystander.kill()
        bystander.wait()


def test_forged_result_lines_do_not_pass(reward):
    body = """
    import os
    lines = b'{"load": "ok"}\\n{"i": 0, "leaves": [{"v": ["B", true]}]}\\n{"i": 1, "ok": true}\\n'
    for fd in range(3, 64):
        try:
            os.write(fd, lines)
        except OSError:
            pass
    os._exit(0)
    """
    assert run_one(reward, body).value == 0.0


STDIO3 = {"inputs": ["1\n", "2\n", "3\n"], "outputs": ["2", "4", "6"]}


def test_stdio_program_that_kills_the_test_runner_passes_nothing(reward):
    body = """
    import os, signal
    os.kill(os.getppid(), signal.SIGKILL)
    print(int(input()) * 2)
    """
    score = run_one(reward, body, STDIO3)
    assert score.value < 1.0
    assert "not_run" in outcomes(score) or score.value == 0.0


def test_stdio_forged_result_lines_do_not_pass(reward):
    body = """
    import os
    forged = b''.join(b'{"i": %d, "rc": 0, "out": "All tests passed", "err": "", "t": null}\\n' % i for i in range(3))
    for pid in ("self", str(os.getppid())):
        for fd in range(3, 32):
            try:
                out = os.open(f"/proc/{pid}/fd/{fd}", os.O_WRONLY)
                os.write(out, forged)
            except OSError:
                pass
    """
    assert run_one(reward, body, STDIO3).value == 0.0


def test_stdio_fork_bomb_is_contained(reward):
    body = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    score = run_one(reward, body, STDIO3)
    assert score.value == 0.0

"""The sandbox itself: what a program sees, and each limit doing its job."""

from __future__ import annotations

import socket

import pytest

from rewardsmith.errors import ConfigError
from rewardsmith.runtime import sandbox
from rewardsmith.runtime.sandbox import Limits, SandboxUnavailable, python, run


def py(code: str, **kwargs):
    return run([python(), "-I", "-c", code], **kwargs)


def test_program_runs_as_unprivileged_user_in_its_own_namespaces():
    r = py("import os, socket; print(os.getuid(), os.getpid(), socket.gethostname())")
    assert r.outcome == "ok", r.stderr
    uid, pid, host = r.stdout.split()
    assert int(uid) != 0
    assert int(pid) < 10  # a new PID namespace
    assert host == b"sandbox"


def test_stdin_files_and_channel_are_delivered():
    code = "import os, sys; data = sys.stdin.read(); os.write(int(os.environ['RS_CHANNEL_FD']), data.encode()); print(open('/sandbox/a.txt').read())"
    r = py(code, stdin=b"through stdin", files={"a.txt": "a file"}, channel=True)
    assert r.outcome == "ok", r.stderr
    assert r.channel == b"through stdin"
    assert r.stdout == b"a file\n"


def test_tmp_is_writable_and_private_to_one_run():
    first = py("open('/tmp/left.txt', 'w').write('x'); print('written')")
    assert first.stdout == b"written\n"
    second = py("import os; print(os.path.exists('/tmp/left.txt'))")
    assert second.stdout == b"False\n"


@pytest.mark.parametrize(
    ("code", "limits", "outcome"),
    [
        ("while True: pass", Limits(wall_s=10, cpu_s=1), "timeout"),
        ("import time; time.sleep(60)", Limits(wall_s=1), "timeout"),
        ("x = bytearray(900 << 20)", Limits(memory_mb=256), "memory"),
        ("print('y' * 5000)", Limits(output_bytes=1000), "output"),
        ("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)", Limits(), "signal"),
        ("raise SystemExit(3)", Limits(), "error"),
    ],
    ids=["cpu", "wall", "memory", "output", "signal", "exit-code"],
)
def test_limits_end_runs_with_the_named_outcome(code, limits, outcome):
    r = py(code, limits=limits)
    assert r.outcome == outcome, (r.detail, r.stderr[-300:])


def test_output_is_kept_up_to_the_cap():
    r = py("print('y' * 5000)", limits=Limits(output_bytes=1000))
    assert r.stdout == b"y" * 1000


def test_tmp_size_is_capped():
    r = py("open('/tmp/big', 'wb').write(b'0' * (20 << 20))", limits=Limits(tmp_mb=4))
    assert r.outcome == "error"
    assert b"No space left" in r.stderr


def test_file_size_is_capped():
    r = py("open('/tmp/big', 'wb').write(b'0' * (3 << 20))", limits=Limits(file_mb=1))
    assert r.outcome in ("signal", "error")
    assert r.outcome != "ok"


def test_process_count_is_capped():
    code = "import subprocess, sys\nps = [subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(5)']) for _ in range(12)]"
    r = py(code, limits=Limits(processes=4))
    assert r.outcome == "error"
    assert b"BlockingIOError" in r.stderr or b"Resource temporarily unavailable" in r.stderr


def test_host_files_outside_the_view_do_not_exist():
    r = py(
        "import os; print(os.path.exists('/etc/shadow'), os.path.exists('/root/.bashrc'), os.listdir('/sandbox'))"
    )
    assert r.stdout.split(b" ", 2)[:2] == [b"False", b"False"]


def test_without_isolation_the_loopback_is_reachable_but_not_with_it():
    """The red-team network check has teeth: the same program connects when not isolated."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    code = f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=1); print('yes')\nexcept OSError: print('no')"
    try:
        assert py(code, isolation="none").stdout == b"yes\n"
        assert py(code).stdout == b"no\n"
    finally:
        server.close()


def test_bad_limits_are_refused():
    with pytest.raises(ConfigError, match="wall_s"):
        Limits(wall_s=0)


def test_refuses_to_run_without_bubblewrap(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    sandbox.isolation_problem.cache_clear()
    try:
        with pytest.raises(
            SandboxUnavailable, match=r"bubblewrap is not installed.*isolation='none'"
        ):
            py("print(1)")
    finally:
        monkeypatch.undo()
        sandbox.isolation_problem.cache_clear()
    assert sandbox.isolation_problem() is None


def test_stdin_is_delivered_but_not_in_the_programs_view():
    r = py(
        "import os, sys; print(sys.stdin.read(), os.listdir('/sandbox'))",
        stdin=b"job",
        files={"a": "x"},
    )
    assert r.stdout == b"job ['a']\n"


def test_seccomp_filter_is_built_for_x86_64_and_aarch64_only():
    import struct

    for machine, arch in (("x86_64", 0xC000003E), ("aarch64", 0xC00000B7)):
        program = sandbox._seccomp_program(machine)
        assert program is not None and len(program) % 8 == 0
        assert struct.unpack("=HBBI", program[8:16])[3] == arch  # the architecture check
    assert sandbox._seccomp_program("riscv64") is None


def test_refuses_to_run_on_an_architecture_without_a_filter(monkeypatch):
    monkeypatch.setattr(sandbox, "_seccomp_filter", lambda: None)
    sandbox.isolation_problem.cache_clear()
    try:
        with pytest.raises(SandboxUnavailable, match="no seccomp filter"):
            py("print(1)")
    finally:
        monkeypatch.undo()
        sandbox.isolation_problem.cache_clear()

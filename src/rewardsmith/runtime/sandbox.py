"""Run untrusted programs under kernel isolation (bubblewrap) and resource limits.

Model-written code runs only through ``run``. Each run gets, through bubblewrap
(Debian package ``bubblewrap``) and ``prlimit``/``setpriv`` (util-linux):

What is isolated:

- **Network**: a new network namespace with only its own loopback. Nothing on the host
  (loopback servers included) or beyond can be reached.
- **File system**: a private mount view holding only the system directories
  (``/usr``, ``/bin``, ``/lib*``, a few ``/etc`` files) and the Python installation,
  all read-only; the program's files read-only under ``/sandbox``; a fresh size-capped
  ``tmpfs`` at ``/tmp`` as the only writable place, gone when the run ends. Home
  directories, the project, test files and expected outputs are not in the view.
- **Processes**: a new PID namespace. The program sees only its own processes, cannot
  signal anything outside, and everything in it (daemons, ``setsid`` children) is
  killed when the run ends or is killed. IPC and UTS namespaces are new too.
- **Identity**: the program runs as an unprivileged user with no capabilities and
  ``no_new_privs``. Started as root, each run gets its own random uid, so runs cannot
  signal each other and the process limit counts that run alone.
- **System calls**: a seccomp filter (x86-64 and arm64) refuses with ``EPERM`` new
  namespaces (``unshare`` and ``clone`` with ``CLONE_NEW*`` flags, ``setns``), mounts
  (``mount``, ``umount2``, ``pivot_root``, ``chroot`` and the new mount API), ``ptrace``
  and ``process_vm_readv/writev``, keyrings (``keyctl``, ``add_key``, ``request_key``),
  ``bpf``, ``perf_event_open``, ``userfaultfd``, ``io_uring``, module and ``kexec``
  loading, ``open_by_handle_at``; ``clone3`` gets ``ENOSYS`` (its flags cannot be
  inspected; the C library falls back to ``clone``); a system call of another ABI
  (i386, x32) kills the process. So a program cannot build a user namespace with its
  own ``tmpfs`` past the ``/tmp`` cap, or ptrace its neighbours. Not started as root,
  bubblewrap's ``--disable-userns`` (0.8 and later) forbids user namespaces as well.
  On other architectures ``isolation="bwrap"`` refuses to run.
- **Limits** (``Limits``): wall-clock time (the whole tree is killed), CPU seconds,
  address space, process count, file size, open files, ``/tmp`` size, and captured
  output (a run that writes past ``output_bytes`` is killed).
- **Environment**: scrubbed; only ``PATH``, ``HOME=/tmp``, ``LANG`` and single-thread
  settings for numeric libraries are set. Standard input is an unlinked file outside
  the program's view (a harness may read there what the program must not see).

What is not isolated:

- The kernel is shared: a kernel exploit escapes. This is not a VM or gVisor.
- CPU and memory bandwidth are shared: a busy program slows its neighbours (limits cap
  how long and how much, not how hard). Memory is capped per process by address space,
  not per run by a cgroup: a run may hold up to ``processes × memory_mb``.
- The readable system directories and Python installation are visible (read-only),
  including any secrets a user stores there.
- Started as an ordinary user (not root), the process limit counts every process of
  that user, so it is set relative to the user's current count.

``isolation="none"`` runs the program with the same limits and scrubbed environment but
no namespaces: nothing above about network, file system or processes holds. It exists
for hosts without bubblewrap and must be asked for explicitly; ``isolation="bwrap"``
(the default) refuses to run when bubblewrap cannot start, and says why.

Example:
    >>> result = run([python(), "-c", "print(6 * 7)"])
    >>> result.outcome, result.stdout
    ('ok', b'42\\n')
"""

from __future__ import annotations

import contextlib
import functools
import os
import platform
import random
import re
import selectors
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rewardsmith.errors import ConfigError

__all__ = [
    "Isolation",
    "Limits",
    "Run",
    "SandboxUnavailable",
    "isolation_problem",
    "python",
    "run",
    "signal_name",
]

Isolation = Literal["bwrap", "none"]

SANDBOX_DIR = "/sandbox"
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_ETC_FILES = (
    "/etc/alternatives",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/nsswitch.conf",
    "/etc/ssl",
    "/etc/ca-certificates",
)
_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONHASHSEED": "0",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
# bwrap's monitor, its PID-1 reaper and setpriv count against the process limit.
_OWN_PROCESSES = 3


class SandboxUnavailable(ConfigError):
    """Isolation was asked for and cannot be set up on this host."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Resource limits for one run. Sizes in MiB unless named in bytes."""

    wall_s: float = 10.0
    cpu_s: int = 10
    memory_mb: int = 1024
    processes: int = 16
    file_mb: int = 16
    tmp_mb: int = 64
    open_files: int = 64
    output_bytes: int = 1 << 20

    def __post_init__(self) -> None:
        for name in self.__slots__:
            if getattr(self, name) <= 0:
                raise ConfigError(f"sandbox limit {name} must be positive")


@dataclass(frozen=True, slots=True)
class Run:
    """What happened to one run.

    ``outcome`` is ``ok`` (exit 0), ``error`` (another exit code), ``timeout`` (wall or
    CPU limit), ``memory`` (out of address space), ``output`` (wrote past the cap) or
    ``signal`` (killed by a signal it raised or caused).
    """

    outcome: str
    returncode: int | None
    stdout: bytes
    stderr: bytes
    channel: bytes = b""
    wall_s: float = 0.0
    detail: str = ""


def python() -> str:
    """The interpreter that sandboxed Python programs run with (this one)."""
    return sys.executable


@functools.cache
def _read_only_binds() -> tuple[str, ...]:
    """bwrap arguments showing the system and this Python installation read-only (the
    same for every run of the process, so built once)."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    exe = Path(sys.executable)
    roots.add(str(exe.parent))
    roots.add(str(exe.resolve().parent.parent))
    extra = sorted(r for r in roots if r and not r.startswith(("/usr", "/bin", "/lib")))
    argv: list[str] = []
    # Directories bwrap creates on the way to a mount point are private (0700) unless
    # made first, which would hide the Python installation from the program's user.
    parents = {str(a) for p in extra for a in Path(p).parents} - {"/", "/tmp"}
    for parent in sorted(parents):
        argv += ["--perms", "0755", "--dir", parent]
    for path in (*_SYSTEM_DIRS, *_ETC_FILES, *extra):
        argv += ["--ro-bind-try", path, path]
    return tuple(argv)


# --- the seccomp filter ------------------------------------------------------------------
# Classic BPF over ``struct seccomp_data`` {int nr; u32 arch; u64 ip; u64 args[6]}, as
# bubblewrap's ``--seccomp FD`` takes it (what libseccomp's ``seccomp_export_bpf`` writes).

_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
_SYSCALLS = {  # name: (x86_64, aarch64)
    "unshare": (272, 97),
    "clone": (56, 220),
    "clone3": (435, 435),
    "setns": (308, 268),
    "mount": (165, 40),
    "umount2": (166, 39),
    "pivot_root": (155, 41),
    "chroot": (161, 51),
    "open_tree": (428, 428),
    "move_mount": (429, 429),
    "fsopen": (430, 430),
    "fsconfig": (431, 431),
    "fsmount": (432, 432),
    "fspick": (433, 433),
    "mount_setattr": (442, 442),
    "ptrace": (101, 117),
    "process_vm_readv": (310, 270),
    "process_vm_writev": (311, 271),
    "keyctl": (250, 219),
    "add_key": (248, 217),
    "request_key": (249, 218),
    "bpf": (321, 280),
    "perf_event_open": (298, 241),
    "userfaultfd": (323, 282),
    "io_uring_setup": (425, 425),
    "io_uring_enter": (426, 426),
    "io_uring_register": (427, 427),
    "init_module": (175, 105),
    "finit_module": (313, 273),
    "delete_module": (176, 106),
    "kexec_load": (246, 104),
    "kexec_file_load": (320, 294),
    "open_by_handle_at": (304, 265),
    "acct": (163, 89),
    "swapon": (167, 224),
    "swapoff": (168, 225),
    "reboot": (169, 142),
    "syslog": (103, 116),
}
# CLONE_NEWTIME | NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET
_NS_FLAGS = 0x7E020080
_FLAG_CHECKED = ("unshare", "clone")  # refused only with a namespace flag
_ENOSYS_ONLY = ("clone3",)
_X32_BIT = 0x40000000
_LD_W_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_RET_ALLOW, _RET_ERRNO, _RET_KILL_PROCESS = 0x7FFF0000, 0x00050000, 0x80000000
_EPERM, _ENOSYS = 1, 38


def _seccomp_program(machine: str) -> bytes | None:
    """The compiled filter for this machine, or None for an architecture without one."""
    if machine not in _AUDIT_ARCH:
        return None
    col = 0 if machine == "x86_64" else 1
    # (code, jump-if-true label, jump-if-false label, k); labels resolve to offsets.
    prog: list[tuple[int, str | int, str | int, int]] = [
        (_LD_W_ABS, 0, 0, 4),  # arch
        (_JEQ, 0, "kill", _AUDIT_ARCH[machine]),
        (_LD_W_ABS, 0, 0, 0),  # syscall number
    ]
    if machine == "x86_64":
        prog.append((_JGE, "deny", 0, _X32_BIT))
    for name in _FLAG_CHECKED:
        prog.append((_JEQ, "flags", 0, _SYSCALLS[name][col]))
    for name in _ENOSYS_ONLY:
        prog.append((_JEQ, "enosys", 0, _SYSCALLS[name][col]))
    for name, numbers in _SYSCALLS.items():
        if name not in _FLAG_CHECKED and name not in _ENOSYS_ONLY:
            prog.append((_JEQ, "deny", 0, numbers[col]))
    prog.append((_RET, 0, 0, _RET_ALLOW))
    labels = {"flags": len(prog)}
    prog += [(_LD_W_ABS, 0, 0, 16), (_JSET, "deny", 0, _NS_FLAGS), (_RET, 0, 0, _RET_ALLOW)]
    labels["deny"] = len(prog)
    prog.append((_RET, 0, 0, _RET_ERRNO | _EPERM))
    labels["enosys"] = len(prog)
    prog.append((_RET, 0, 0, _RET_ERRNO | _ENOSYS))
    labels["kill"] = len(prog)
    prog.append((_RET, 0, 0, _RET_KILL_PROCESS))
    out = bytearray()
    for pc, (code, jt, jf, k) in enumerate(prog):
        offsets = [labels[j] - pc - 1 if isinstance(j, str) else j for j in (jt, jf)]
        out += struct.pack("=HBBI", code, offsets[0], offsets[1], k)
    return bytes(out)


@functools.cache
def _seccomp_filter() -> bytes | None:
    return _seccomp_program(platform.machine())


@functools.cache
def _bwrap_version() -> tuple[int, ...]:
    try:
        out = subprocess.run(["bwrap", "--version"], capture_output=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ()
    found = re.search(rb"(\d+)\.(\d+)(?:\.(\d+))?", out)
    return tuple(int(g) for g in found.groups() if g is not None) if found else ()


def _filter_fd() -> int:
    """A readable fd holding the compiled filter, for ``--seccomp`` (the caller closes it)."""
    program = _seccomp_filter()
    assert program is not None
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, program)  # a few hundred bytes: well within a pipe's buffer
    finally:
        os.close(write_fd)
    return read_fd


@functools.cache
def isolation_problem() -> str | None:
    """Why bubblewrap isolation cannot run here, or None when it can (probed once)."""
    if shutil.which("bwrap") is None:
        return "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    for tool in ("prlimit", "setpriv"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian/Ubuntu: apt-get install util-linux)"
    if _seccomp_filter() is None:
        return (
            f"no seccomp filter for this architecture ({platform.machine()}); the sandbox "
            "knows the system call numbers of x86_64 and aarch64"
        )
    with tempfile.TemporaryDirectory(prefix="rs-probe-") as tmp:
        os.chmod(tmp, 0o755)
        filter_fd = _filter_fd()
        argv = _bwrap_argv(Path(tmp), ["/bin/true"], _new_uid(), Limits(), None, filter_fd)
        try:
            done = subprocess.run(
                argv, capture_output=True, timeout=20, env=_ENV, pass_fds=(filter_fd,)
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bubblewrap failed to start: {exc}"
        finally:
            os.close(filter_fd)
    if done.returncode != 0:
        msg = done.stderr.decode(errors="replace").strip()
        return (
            f"bubblewrap cannot create namespaces here ({msg}); unprivileged user "
            "namespaces may be disabled (sysctl kernel.unprivileged_userns_clone=1, or "
            "on Ubuntu kernel.apparmor_restrict_unprivileged_userns=0)"
        )
    return None


def _new_uid() -> int | None:
    """A fresh uid for a run when started as root; None to keep the caller's own."""
    if os.geteuid() != 0:
        return None
    return random.randrange(1_000_000, 2_000_000_000)


def _bwrap_argv(
    src: Path,
    command: Sequence[str],
    uid: int | None,
    limits: Limits,
    channel_fd: int | None,
    filter_fd: int,
) -> list[str]:
    argv = ["bwrap", "--die-with-parent", "--new-session", "--clearenv"]
    argv += ["--seccomp", str(filter_fd)]
    if uid is None:
        argv += ["--unshare-all"]
        if _bwrap_version() >= (0, 8):
            argv += ["--disable-userns"]
    else:
        # As root, namespaces need no user namespace; setpriv drops to ``uid`` inside
        # so the process limit (which root ignores) applies. ``--disable-userns`` needs
        # a user namespace, so here the seccomp filter alone forbids new ones.
        argv += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
        argv += ["--unshare-cgroup-try", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    # The private /tmp comes first, so that a Python installation under /tmp (a CI
    # checkout's venv) is bound on top of it rather than hidden by it.
    argv += ["--perms", "1777", "--size", str(limits.tmp_mb << 20), "--tmpfs", "/tmp"]
    argv += _read_only_binds()
    argv += ["--proc", "/proc", "--dev", "/dev", "--ro-bind", str(src), SANDBOX_DIR]
    argv += ["--chdir", "/tmp", "--hostname", "sandbox"]
    env = dict(_ENV) if channel_fd is None else {**_ENV, "RS_CHANNEL_FD": str(channel_fd)}
    for key, value in env.items():
        argv += ["--setenv", key, value]
    if uid is not None:
        argv += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
        argv += ["--no-new-privs", "--inh-caps=-all", "--bounding-set=-all"]
    return argv + list(command)


def _user_tasks(uid: int) -> int:
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry.name}/task"))
            except OSError:
                continue
    return count


def _prlimit(limits: Limits, uid: int | None) -> list[str]:
    procs = limits.processes + _OWN_PROCESSES
    if uid is None:
        procs += _user_tasks(os.getuid())
    mem = limits.memory_mb << 20
    return [
        "prlimit",
        f"--cpu={limits.cpu_s}:{limits.cpu_s + 1}",
        f"--as={mem}",
        f"--nproc={procs}",
        f"--fsize={limits.file_mb << 20}",
        f"--nofile={limits.open_files}",
        "--core=0",
        "--",
    ]


def run(
    command: Sequence[str],
    *,
    files: Mapping[str, str | bytes] | None = None,
    stdin: bytes = b"",
    limits: Limits | None = None,
    isolation: Isolation = "bwrap",
    channel: bool = False,
) -> Run:
    """Run ``command`` in the sandbox and wait for it, within ``limits``.

    Args:
        command: argv; paths to ``files`` are ``/sandbox/<name>``.
        files: name -> content, placed read-only under ``/sandbox``.
        stdin: bytes the program reads on standard input.
        limits: resource limits (defaults of ``Limits()``).
        isolation: ``"bwrap"`` (refuses when unavailable) or ``"none"`` (limits only).
        channel: pass a write-only pipe whose number is in ``$RS_CHANNEL_FD``; what
            the program writes there comes back as ``Run.channel``.

    Returns:
        A ``Run``; never raises for anything the program does.

    Raises:
        SandboxUnavailable: isolation is ``"bwrap"`` and bubblewrap cannot run here.
    """
    limits = limits or Limits()
    if isolation == "bwrap" and (problem := isolation_problem()) is not None:
        raise SandboxUnavailable(
            f"cannot isolate model-written code: {problem}. Pass isolation='none' to run "
            "it without isolation (not safe for untrusted code)"
        )
    src = Path(tempfile.mkdtemp(prefix="rs-sbx-"))
    try:
        os.chmod(src, 0o755)
        for name, content in (files or {}).items():
            path = src / name
            path.write_bytes(content.encode() if isinstance(content, str) else content)
            os.chmod(path, 0o644)
        # Standard input is an unlinked file outside the program's view: a harness may
        # read there what the program must not see.
        with tempfile.TemporaryFile(prefix="rs-stdin-") as stdin_file:
            stdin_file.write(stdin)
            stdin_file.seek(0)
            return _execute(command, src, stdin_file.fileno(), limits, isolation, channel)
    finally:
        shutil.rmtree(src, ignore_errors=True)


def _execute(
    command: Sequence[str],
    src: Path,
    stdin_fd: int,
    limits: Limits,
    isolation: Isolation,
    channel: bool,
) -> Run:
    uid = _new_uid()
    env = dict(_ENV)
    read_fd = write_fd = -1
    if channel:
        read_fd, write_fd = os.pipe()
    passed = [write_fd] if channel else []
    if isolation == "bwrap":
        filter_fd = _filter_fd()
        passed.append(filter_fd)
        argv = _bwrap_argv(src, command, uid, limits, write_fd if channel else None, filter_fd)
        cwd: str | None = None
    else:
        argv = [
            c.replace(SANDBOX_DIR, str(src), 1) if c.startswith(SANDBOX_DIR) else c for c in command
        ]
        cwd = tempfile.mkdtemp(prefix="rs-tmp-")
        env["HOME"] = cwd
        if channel:
            env["RS_CHANNEL_FD"] = str(write_fd)
    argv = _prlimit(limits, uid if isolation == "bwrap" else None) + argv
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv,
            stdin=stdin_fd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
            start_new_session=True,
            pass_fds=tuple(passed),
        )
    except OSError as exc:
        if channel:
            os.close(read_fd)
        raise SandboxUnavailable(f"cannot start the sandbox: {exc}") from exc
    finally:
        for fd in passed:
            os.close(fd)
    try:
        return _collect(proc, read_fd, limits, start)
    finally:
        if cwd is not None:
            shutil.rmtree(cwd, ignore_errors=True)


def _collect(proc: subprocess.Popen[bytes], read_fd: int, limits: Limits, start: float) -> Run:
    assert proc.stdout is not None and proc.stderr is not None
    streams: dict[int, bytearray] = {
        proc.stdout.fileno(): bytearray(),
        proc.stderr.fileno(): bytearray(),
    }
    if read_fd >= 0:
        streams[read_fd] = bytearray()
    killed_for = ""
    with selectors.DefaultSelector() as sel:
        for fd in streams:
            os.set_blocking(fd, False)
            sel.register(fd, selectors.EVENT_READ)
        deadline = start + limits.wall_s
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                killed_for = "timeout"
                break
            for key, _ in sel.select(min(left, 0.5)):
                fd = int(key.fd)
                chunk = os.read(fd, 65536)
                if not chunk:
                    sel.unregister(fd)
                    continue
                streams[fd] += chunk
                if len(streams[fd]) > limits.output_bytes:
                    killed_for = "output"
            if killed_for:
                break
    if killed_for:
        _kill(proc)
    try:
        returncode = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        # Output closed but the process lingers (a child holding nothing): end it.
        killed_for = killed_for or "timeout"
        _kill(proc)
        returncode = proc.wait()
    if read_fd >= 0:
        os.close(read_fd)
    stdout, stderr = (
        bytes(streams[f.fileno()][: limits.output_bytes]) for f in (proc.stdout, proc.stderr)
    )
    proc.stdout.close()
    proc.stderr.close()
    channel = bytes(streams.get(read_fd, b""))
    outcome, detail = _outcome(killed_for, returncode, stderr, limits)
    return Run(outcome, returncode, stdout, stderr, channel, time.monotonic() - start, detail)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill the run's process group; bwrap's PID namespace takes everything inside."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def signal_name(sig: int) -> str:
    """``SIGKILL`` for 9, the number itself for a signal Python does not name."""
    try:
        return signal.Signals(sig).name
    except ValueError:
        return str(sig)


def _outcome(killed_for: str, code: int, stderr: bytes, limits: Limits) -> tuple[str, str]:
    if killed_for == "timeout":
        return "timeout", f"killed after {limits.wall_s:g} s wall clock"
    if killed_for == "output":
        return "output", f"killed after writing over {limits.output_bytes} bytes"
    sig = -code if code < 0 else code - 128 if code > 128 else 0
    if sig == signal.SIGXCPU:
        return "timeout", f"CPU limit of {limits.cpu_s} s"
    if b"MemoryError" in stderr[-4096:] or b"std::bad_alloc" in stderr[-4096:]:
        return "memory", f"out of memory (limit {limits.memory_mb} MiB)"
    if code == 0:
        return "ok", ""
    if sig:
        return "signal", f"killed by {signal_name(sig)}"
    return "error", f"exit code {code}"

"""The test harness that runs inside the sandbox: a judge, and the program in another process.

Copied into the sandbox as a file and run as a script: standard library only, no
rewardsmith import.

Two processes. The *judge* (this script) forks the *program process* before it reads
its job, so the program's memory never holds the tests. The judge then makes itself
non-dumpable (``PR_SET_DUMPABLE`` 0: its ``/proc/<pid>/fd``, ``/proc/<pid>/mem`` and
ptrace are closed to the program, which runs as the same uid), reads the job on stdin
and is the only process holding the result channel (``$RS_CHANNEL_FD``). The program
process closes stdin and the channel, loads the program when told to, and answers
requests on a pipe: look a name up, call a function, read an attribute. An answer is a
plain value encoded by exact type (``int`` but not a subclass of it, ``list`` but not a
subclass...), an opaque handle for any other object, or the exception raised.

The judge runs the tests' code (setup, loops and helpers holding asserts, the
program-side halves of top-level asserts) in a namespace of its own whose builtins are
its own. A name the tests use and do not define is looked up in the program: a
function or class becomes a stub whose calls run in the program process and come back
by value, a plain value is copied, a module is imported by the judge itself. A builtin
name is never taken from the program (except the ``check(candidate)`` entry point). So
every comparison the tests make runs on fresh plain values the judge built: rebinding
``range`` or ``AssertionError``, an ``__eq__`` that always says True, patching this
harness, ``json`` or ``sys.settrace`` in the program process, or writing "success"
lines, change nothing the judge sees. A handle can be called and have attributes read
(both run in the program process); comparing, hashing or iterating it, or testing its
truth, raises.

The channel carries one line per record, ``<tag> <json>``: ``load`` for the load, the
test's index otherwise. Top-level asserts send their leaves' values (the expected
values of those never enter the sandbox; the caller compares); tests run as code are
decided here and send ``{"ok": true}`` or the failure.

Limits: each test has ``per_test_s``. The program process gets an alarm (a soft limit
it can catch or disarm) and is killed ``_GRACE`` seconds later (a hard limit); after
that kill no later test runs. A value whose JSON is over ``max_value`` bytes fails its
test (checked by the judge before decoding it).

Not defended: the program can kill or stop the judge (same uid), which fails every
test not yet decided. Tests that hand the program objects (lambdas, instances of
classes the tests define) or expect it to change its arguments in place cannot run by
value, and fail.
"""

from __future__ import annotations

import builtins
import contextlib
import importlib
import io
import json
import os
import selectors
import signal
import sys
import time
import traceback
import types
from typing import Any

_GRACE = 0.5
_MAX_NODES = 200_000
_MAX_DEPTH = 200
_SLACK = 4096  # bytes of a reply's line beyond its value
_PR_SET_DUMPABLE = 4


class _Timeout(BaseException):
    """The soft per-test alarm (in the program process) or the judge's own alarm."""


class _Unencodable(Exception):
    """A value that is not plain data (by exact type)."""


class _TooLarge(Exception):
    """A plain value over the size cap."""


class _Limit(BaseException):
    """A test ended by a limit (BaseException: the tests' code cannot catch it)."""

    def __init__(self, kind: str, text: str) -> None:
        super().__init__(text)
        self.kind = kind
        self.text = text


class _Gone(_Limit):
    """The program process has ended: no later test can run."""


class ProgramError(Exception):
    """An exception the program raised whose type is not a builtin one."""


# --- plain values by exact type (both processes) ---------------------------------------

_TAGS: dict[type, str] = {list: "L", tuple: "T", set: "E", frozenset: "Z"}


def _encode(value: Any, budget: list[int], depth: int = 0) -> Any:
    budget[0] -= 1
    if budget[0] < 0 or depth > _MAX_DEPTH:
        raise _TooLarge("value too large or too deep to compare")
    t = type(value)
    if value is None:
        return ["N"]
    if t is bool:
        return ["B", value]
    if t is int:
        return ["I", hex(value)]
    if t is float:
        return ["F", repr(value)]
    if t is str:
        return ["S", value]
    if t is bytes:
        return ["Y", value.hex()]
    if t is complex:
        return ["C", [repr(value.real), repr(value.imag)]]
    if t is Remote:
        raise _Unencodable(f"cannot compare a value of type {value._t}")
    if t in _TAGS:
        return [_TAGS[t], [_encode(v, budget, depth + 1) for v in value]]
    if t is dict:
        return [
            "D",
            [
                [_encode(k, budget, depth + 1), _encode(v, budget, depth + 1)]
                for k, v in value.items()
            ],
        ]
    name = t.__name__ if type(getattr(t, "__name__", None)) is str else "object"
    raise _Unencodable(f"cannot compare a value of type {name}"[:200])


def _decode(node: Any, depth: int = 0) -> Any:
    """A fresh plain value from an encoded node; ValueError/TypeError on a bad node."""
    if depth > _MAX_DEPTH + 1 or type(node) is not list or not node or type(node[0]) is not str:
        raise ValueError("bad encoded value")
    tag = node[0]
    if tag == "N":
        return None
    body = node[1]
    if tag == "B" and type(body) is bool:
        return body
    if type(body) is str:
        if tag == "I":
            return int(body, 16)
        if tag == "F":
            return float(body)
        if tag == "S":
            return body
        if tag == "Y":
            return bytes.fromhex(body)
    if tag == "C" and type(body) is list and len(body) == 2:
        return complex(float(body[0]), float(body[1]))
    if type(body) is not list:
        raise ValueError("bad encoded value")
    if tag == "L":
        return [_decode(v, depth + 1) for v in body]
    if tag == "T":
        return tuple(_decode(v, depth + 1) for v in body)
    if tag == "E":
        return {_decode(v, depth + 1) for v in body}
    if tag == "Z":
        return frozenset(_decode(v, depth + 1) for v in body)
    if tag == "D":
        return {_decode(k, depth + 1): _decode(v, depth + 1) for k, v in body}
    raise ValueError("bad encoded value")


def _dumps_value(value: Any, cap: int) -> str:
    """The JSON of a plain value; _Unencodable or _TooLarge otherwise."""
    text = json.dumps(_encode(value, [_MAX_NODES]))
    if len(text) > cap:
        raise _TooLarge(f"value too large to compare ({len(text)} bytes of JSON, cap {cap})")
    return text


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class _Lines:
    """Lines from a pipe, each at most ``cap`` bytes, read until a deadline."""

    def __init__(self, fd: int, cap: int | None) -> None:
        self.fd = fd
        self.cap = cap
        self.buf = bytearray()

    def read(self, deadline: float | None) -> bytes | None:
        """The next line; None at end of file. Raises TimeoutError or OverflowError."""
        while True:
            end = self.buf.find(b"\n")
            if self.cap is not None and (end > self.cap or (end < 0 and len(self.buf) > self.cap)):
                raise OverflowError("line over the cap")
            if end >= 0:
                line = bytes(self.buf[:end])
                del self.buf[: end + 1]
                return line
            if deadline is not None:
                left = deadline - time.monotonic()
                with selectors.DefaultSelector() as sel:
                    sel.register(self.fd, selectors.EVENT_READ)
                    if left <= 0 or not sel.select(left):
                        raise TimeoutError("no line in time")
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                return None
            self.buf += chunk


# --- the program process ---------------------------------------------------------------


def _on_alarm(signum: int, frame: Any) -> None:
    raise _Timeout()


def _error_reply() -> dict[str, Any]:
    kind, exc, _ = sys.exc_info()
    if kind is _Timeout:
        return {"k": "timeout", "e": "time limit per test"}
    if kind is MemoryError:
        return {"k": "memory", "e": "MemoryError"}
    try:
        name = kind.__name__ if kind is not None and type(kind.__name__) is str else "Exception"
        return {"k": "error", "x": name, "e": f"{name}: {exc}"[:500]}
    except BaseException:
        return {"k": "error", "x": "Exception", "e": "exception"}


class _Program:
    """Serves the judge's requests in the program process (untrusted from here on)."""

    def __init__(self, req_r: int, rep_w: int, program_path: str) -> None:
        self.requests = _Lines(req_r, None)
        self.rep_w = rep_w
        self.path = program_path
        self.ns: dict[str, Any] = {"__name__": "solution", "__builtins__": builtins}
        self.objects: list[Any] = []
        self.cap = 1 << 20

    def serve(self) -> None:
        while (line := self.requests.read(None)) is not None:
            req = json.loads(line)
            rid = int(req["id"])
            signal.setitimer(signal.ITIMER_REAL, max(float(req.get("t", 1.0)), 0.001))
            try:
                body = self.handle(req)
            except BaseException:
                body = json.dumps(_error_reply())
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            _flush_stdio()
            _write_all(self.rep_w, f'{{"id": {rid}, "r": {body}}}\n'.encode())

    def handle(self, req: dict[str, Any]) -> str:
        op = req["op"]
        if op == "load":
            self.cap = int(req["cap"])
            with open(self.path, encoding="utf-8") as f:
                code = compile(f.read(), "solution.py", "exec")
            exec(code, self.ns)
            return '{"ok": true}'
        if op == "lookup":
            name = req["name"]
            if name not in self.ns:
                return '{"none": true}'
            value = self.ns[name]
            if type(value) is types.ModuleType and type(value.__name__) is str:
                return json.dumps({"m": value.__name__})
            return self.result(value)
        if op == "call":
            fn = self.objects[int(req["h"])]
            args = [self.arg(a) for a in req["a"]]
            kwargs = {str(k): self.arg(v) for k, v in req["kw"].items()}
            return self.result(fn(*args, **kwargs))
        if op == "getattr":
            return self.result(getattr(self.objects[int(req["h"])], str(req["a"])))
        raise ValueError(f"unknown request {op!r}")

    def arg(self, node: Any) -> Any:
        if type(node) is list and node and node[0] == "H":
            return self.objects[int(node[1])]
        return _decode(node)

    def result(self, value: Any) -> str:
        try:
            return f'{{"v": {_dumps_value(value, self.cap)}}}'
        except _TooLarge as exc:
            return json.dumps({"k": "unencodable", "e": str(exc)})
        except _Unencodable:
            self.objects.append(value)
            t = type(value)
            name = t.__name__ if type(getattr(t, "__name__", None)) is str else "object"
            return json.dumps({"h": len(self.objects) - 1, "t": name[:100], "c": callable(value)})


def _flush_stdio() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()


def _program_main(req_r: int, rep_w: int, path: str) -> None:
    status = 0
    try:
        os.setpgid(0, 0)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        sys.stdin = io.TextIOWrapper(io.BytesIO(b""))
        sys.setrecursionlimit(10_000)
        if hasattr(sys, "set_int_max_str_digits"):
            sys.set_int_max_str_digits(0)
        signal.signal(signal.SIGALRM, _on_alarm)
        _Program(req_r, rep_w, path).serve()
    except BaseException:
        status = 1
    _flush_stdio()
    os._exit(status)


# --- the judge -------------------------------------------------------------------------


class Remote:
    """A program object the judge holds by handle: calls and attribute reads go to the
    program process; anything that would let the object decide a comparison raises."""

    __slots__ = ("_c", "_h", "_judge", "_t")

    def __init__(self, judge: Judge, handle: int, type_name: str, is_callable: bool) -> None:
        self._judge = judge
        self._h = handle
        self._t = type_name
        self._c = is_callable

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._judge.request(
            "call",
            h=self._h,
            a=self._judge.args(args),
            kw={str(k): self._judge.arg(v) for k, v in kwargs.items()},
        )

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._judge.request("getattr", h=self._h, a=name)

    def __repr__(self) -> str:
        return f"<program object of type {self._t}>"

    def _refuse(self, *args: Any) -> Any:
        raise TypeError(
            f"a program object of type {self._t} cannot be compared or used as a value: "
            "only plain data (int, float, str, bytes, bool, None, list, tuple, dict, set) "
            "comes back from the program"
        )

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse
    __bool__ = __len__ = __iter__ = __contains__ = __getitem__ = _refuse
    __index__ = __int__ = __float__ = __hash__ = _refuse
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __mod__ = _refuse
    __truediv__ = __floordiv__ = __neg__ = __abs__ = _refuse


def _free_names(tree: Any) -> list[str]:
    """Names the code reads and never binds anywhere (candidates for the program's)."""
    import ast  # only assert-style tests need it: call-style runs start faster

    loaded: set[str] = set()
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return sorted(loaded - bound)


def _kind_of(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, _Limit):
        return exc.kind, exc.text[:500]
    if isinstance(exc, _Timeout):
        return "timeout", "time limit per test"
    if isinstance(exc, MemoryError):
        return "memory", "MemoryError"
    if isinstance(exc, AssertionError):
        line = ""
        for frame, lineno in traceback.walk_tb(exc.__traceback__):
            if frame.f_code.co_filename == "test.py":
                line = f"line {lineno}"
        return "assert", f"{line}: AssertionError {exc}".strip()[:500]
    if isinstance(exc, (_Unencodable, _TooLarge)):
        return "unencodable", str(exc)[:500]
    return "error", f"{type(exc).__name__}: {exc}"[:500]


class Judge:
    """Runs the tests' code against the program process and writes the channel."""

    def __init__(self, job: dict[str, Any], channel: int, pid: int, req_w: int, rep_r: int):
        self.job = job
        self.channel = channel
        self.pid = pid
        self.req_w = req_w
        self.cap = int(job.get("max_value", 1 << 20))
        self.replies = _Lines(rep_r, self.cap + _SLACK)
        self.per_test = float(job.get("per_test_s", 5.0))
        self.deadline = 0.0
        self.rid = 0
        self.gone: _Gone | None = None
        self.reported = False
        self.ns: dict[str, Any] = {
            "__name__": "__test__",
            "__builtins__": dict(builtins.__dict__),
        }
        self.absent: set[str] = set()
        self.prefer = set(job.get("prefer", []))
        # The first limit a step hit: it fails the step even if the tests' code caught it.
        self.hit: BaseException | None = None

    def emit(self, tag: str, body: str) -> None:
        _write_all(self.channel, f"{tag} {body}\n".encode())

    # the program process
    def kill(self) -> None:
        for target in (-self.pid, self.pid):
            with contextlib.suppress(OSError):
                os.kill(target, signal.SIGKILL)

    def ended(self, killed_for: str = "") -> _Gone:
        """The program process is gone (or killed now): why, as a ``_Gone``."""
        if self.gone is not None:
            return self.gone
        status = None
        if not killed_for:  # end of file: it is exiting, or closed the pipe and lives on
            until = time.monotonic() + 0.5
            while status is None and time.monotonic() < until:
                done, raw = os.waitpid(self.pid, os.WNOHANG)
                if done:
                    status = raw
                else:
                    time.sleep(0.005)
        if status is None:
            self.kill()
            status = os.waitpid(self.pid, 0)[1]
            kind, text = _KILLED.get(killed_for, ("error", "the program closed its reply pipe"))
        else:
            code = os.waitstatus_to_exitcode(status)
            if code == 0:
                kind, text = "not_run", "the program ended the run early"
            elif code > 0:
                kind, text = "error", f"the program exited with code {code}"
            elif -code == signal.SIGXCPU:
                kind, text = "timeout", "CPU time limit"
            else:
                kind, text = "signal", f"killed by {_signal_name(-code)}"
        self.gone = _Gone(kind, text)
        self.hit = self.hit or self.gone
        return self.gone

    def request(self, op: str, **fields: Any) -> Any:
        """Send one request and wait for its answer, within the test's deadline."""
        if self.gone is not None:
            self.hit = self.hit or self.gone
            raise self.gone
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise self.limit("timeout", "time limit per test")
        self.rid += 1
        hard = time.monotonic() + left + _GRACE
        self.send(
            (json.dumps({"id": self.rid, "op": op, "t": left, **fields}) + "\n").encode(), hard
        )
        while True:
            try:
                line = self.replies.read(hard)
            except TimeoutError:
                raise self.ended("timeout") from None
            except OverflowError:
                raise self.ended("too_large") from None
            if line is None:
                raise self.ended()
            if time.monotonic() > hard:  # lines keep coming, but not the answer
                raise self.ended("timeout")
            try:
                reply = json.loads(line)
            except Exception:
                continue  # not a reply (the program wrote it): ignored
            if type(reply) is dict and reply.get("id") == self.rid:
                return self.answer(reply.get("r"))

    def send(self, data: bytes, hard: float) -> None:
        view = memoryview(data)
        with selectors.DefaultSelector() as sel:
            sel.register(self.req_w, selectors.EVENT_WRITE)
            while view:
                left = hard - time.monotonic()
                if left <= 0 or not sel.select(left):
                    raise self.ended("timeout")
                try:
                    view = view[os.write(self.req_w, view[: 1 << 16]) :]
                except BrokenPipeError:
                    raise self.ended() from None

    def answer(self, r: Any) -> Any:
        """The value, handle or exception an answer stands for."""
        if type(r) is not dict:
            raise self.limit("error", "the program process sent a malformed answer")
        if "v" in r:
            try:
                return _decode(r["v"])
            except Exception:
                raise self.limit("error", "the program process sent a malformed value") from None
        if "h" in r:
            if type(r["h"]) is not int:
                raise self.limit("error", "the program process sent a malformed answer")
            return Remote(self, r["h"], str(r.get("t", "object"))[:100], r.get("c") is True)
        if "m" in r:
            return _module(str(r["m"]))
        if r.get("ok") is True:
            return None
        if r.get("none") is True:
            return _MISSING
        kind, text = str(r.get("k", "error")), str(r.get("e", ""))[:500]
        if kind != "error":
            raise self.limit(kind if kind in _KINDS else "error", text)
        exc_type = getattr(builtins, str(r.get("x", "")), None)
        if isinstance(exc_type, type) and issubclass(exc_type, Exception):
            try:
                exc = exc_type(text.split(": ", 1)[-1])
            except Exception:
                exc = ProgramError(text)
            raise exc
        raise ProgramError(text)

    def limit(self, kind: str, text: str) -> _Limit:
        exc = _Limit(kind, text)
        self.hit = self.hit or exc
        return exc

    def on_alarm(self, signum: int, frame: Any) -> None:
        exc = _Timeout()
        self.hit = self.hit or exc
        raise exc

    def arg(self, value: Any) -> Any:
        if type(value) is Remote:
            if value._judge is not self:
                raise TypeError("a handle from another run")
            return ["H", value._h]
        try:
            return _encode(value, [_MAX_NODES])
        except _Unencodable:
            raise TypeError(
                f"cannot pass a {type(value).__name__} to the program: arguments cross by "
                "value (int, float, str, bytes, bool, None, list, tuple, dict, set)"
            ) from None

    def args(self, values: tuple[Any, ...]) -> list[Any]:
        return [self.arg(v) for v in values]

    # tests
    def bind(self, tree: Any) -> None:
        """Bind the free names of the tests' code that the program defines."""
        for name in _free_names(tree):
            if name in self.ns or name in self.absent:
                continue
            if name in self.ns["__builtins__"] and name not in self.prefer:
                continue
            try:
                found = self.request("lookup", name=name)
            except _Limit:
                raise
            except Exception:
                found = _MISSING
            if found is _MISSING:
                self.absent.add(name)
            else:
                self.ns[name] = found

    def step(self, fn: Any) -> Any:
        """``fn()`` within the per-test limit; a limit it hit is raised even if caught."""
        self.deadline = time.monotonic() + self.per_test
        self.hit = None
        signal.setitimer(signal.ITIMER_REAL, self.per_test + 2 * _GRACE)
        try:
            result = fn()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if self.hit is not None:
            raise self.hit
        return result

    def outcome(self, fn: Any) -> tuple[bool, str]:
        """Whether ``fn`` gave a plain value, and the record's JSON: the value or the failure."""
        try:
            value = self.step(fn)
            return True, f'{{"v": {_dumps_value(value, self.cap)}}}'
        except _Gone:
            raise
        except BaseException as exc:
            kind, text = _kind_of(exc)
            return False, json.dumps({"k": kind, "e": text})

    def fail(self, tag: str, exc: BaseException) -> None:
        kind, text = _kind_of(exc)
        self.emit(tag, json.dumps({"k": kind, "e": text}))

    def run(self) -> None:
        try:
            self.step(lambda: self.request("load", cap=self.cap))
        except BaseException as exc:
            if isinstance(exc, _Gone) and exc.kind == "not_run":
                exc = _Gone("error", "the program ended the run before it loaded")
            self.fail("load", exc)
            return
        try:
            if self.job["mode"] == "call":
                self.calls()
            else:
                self.emit("load", '{"ok": true}')
                self.steps()
        except _Gone as gone:
            if not self.reported:
                self.fail("end", gone)

    def test_failed_by(self, i: int, gone: _Gone) -> None:
        self.fail(str(i), gone)
        self.reported = True

    def calls(self) -> None:
        name = str(self.job["fn_name"])
        try:
            fn = self.step(lambda: self.resolve(name))
        except BaseException as exc:
            self.fail("load", exc)
            self.reported = True
            if isinstance(exc, _Gone):
                raise
            return
        if fn is None:
            self.emit("load", json.dumps({"k": "error", "e": f"no function named {name!r}"}))
            return
        self.emit("load", '{"ok": true}')
        for i, args in enumerate(self.job["cases"]):
            try:
                _, record = self.outcome(lambda args=args: fn(*args))
            except _Gone as gone:
                self.test_failed_by(i, gone)
                raise
            self.emit(str(i), record)

    def resolve(self, name: str) -> Any:
        """The function to call: ``name`` in the program, or ``Solution().name``."""
        fn = self.request("lookup", name=name)
        if type(fn) is Remote and fn._c:
            return fn
        cls = self.request("lookup", name="Solution")
        if type(cls) is Remote and cls._c:
            method = getattr(cls(), name)
            if type(method) is Remote and method._c:
                return method
        return None

    def steps(self) -> None:
        import ast

        for step in self.job["cases"]:
            if "exec" in step:
                self.statement(step)
                continue
            leaves: list[str] = []
            for src in step["eval"]:
                tree = ast.parse(src, "test.py", "eval")
                code = compile(tree, "test.py", "eval")

                def leaf(tree: Any = tree, code: Any = code) -> Any:
                    self.bind(tree)
                    return eval(code, self.ns)

                try:
                    ok, record = self.outcome(leaf)
                except _Gone as gone:
                    kind, text = _kind_of(gone)
                    leaves.append(json.dumps({"k": kind, "e": text}))
                    self.emit(str(step["i"]), f'{{"leaves": [{", ".join(leaves)}]}}')
                    self.reported = True
                    raise
                leaves.append(record)
                if not ok:
                    break
            self.emit(str(step["i"]), f'{{"leaves": [{", ".join(leaves)}]}}')

    def statement(self, step: dict[str, Any]) -> None:
        """Setup (its failure is no test's), or a test run as code, decided here."""
        import ast

        tree = ast.parse(step["exec"], "test.py")
        code = compile(tree, "test.py", "exec")

        def run() -> None:
            self.bind(tree)
            exec(code, self.ns)

        try:
            self.step(run)
            record = '{"ok": true}'
        except _Gone as gone:
            if "i" in step:
                self.test_failed_by(int(step["i"]), gone)
            raise
        except BaseException as exc:
            kind, text = _kind_of(exc)
            record = json.dumps({"k": kind, "e": text})
        if "i" in step:
            self.emit(str(step["i"]), record)


_MISSING = object()
_KINDS = {"timeout", "memory", "unencodable", "signal", "not_run", "error"}
_KILLED = {
    "timeout": ("timeout", "time limit per test (the program was killed)"),
    "too_large": ("unencodable", "value too large to compare (the program was killed)"),
}


_NO_IMPORT = {"antigravity", "this", "turtle", "tkinter", "idlelib", "__hello__", "__phello__"}


def _module(name: str) -> Any:
    """The judge's own import of a module the program holds (never the program's object):
    standard library modules, or ones the judge has already imported."""
    top = name.partition(".")[0]
    if name not in sys.modules and (
        top not in getattr(sys, "stdlib_module_names", ()) or top in _NO_IMPORT
    ):
        raise ImportError(f"the tests may not take module {name!r} from the program")
    return importlib.import_module(name)


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return str(sig)


def _not_dumpable() -> str | None:
    """Close this process to the program's uid (/proc/<pid>/fd, mem, ptrace)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
            return f"prctl failed: {os.strerror(ctypes.get_errno())}"
    except (OSError, ImportError, AttributeError) as exc:
        return f"prctl unavailable: {exc}"
    return None


def main() -> None:
    channel = int(os.environ.pop("RS_CHANNEL_FD"))
    here = os.path.dirname(os.path.abspath(__file__))
    req_r, req_w = os.pipe()
    rep_r, rep_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        for fd in (channel, req_w, rep_r):
            os.close(fd)
        _program_main(req_r, rep_w, os.path.join(here, "solution.py"))
    os.close(req_r)
    os.close(rep_w)
    problem = _not_dumpable()
    # The tests' imports come from the installation, never from the program's files.
    sys.path[:] = [p for p in sys.path if p and p not in (here, os.getcwd(), "/tmp")]
    sys.setrecursionlimit(10_000)
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    job = json.loads(sys.stdin.buffer.read())
    judge = Judge(job, channel, pid, req_w, rep_r)
    signal.signal(signal.SIGALRM, judge.on_alarm)
    if problem is not None:
        judge.emit("load", json.dumps({"k": "infra", "e": f"cannot shield the judge: {problem}"}))
    else:
        judge.run()
    # The program process flushed its output after each answer: nothing of it is left to
    # wait for (and without a PID namespace, nothing of it may outlive the run).
    os.close(req_w)
    judge.kill()
    os._exit(0)


if __name__ == "__main__":
    main()

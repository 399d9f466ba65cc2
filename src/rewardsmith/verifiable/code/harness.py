"""The test harness that runs inside the sandbox, next to the model's program.

It is copied into the sandbox as a file and run as a script: standard library only,
no rewardsmith import. It reads a job (JSON) on stdin, loads the program, runs the
calls or expressions the job lists, and writes one JSON line per result to the
channel file descriptor (``$RS_CHANNEL_FD``).

It decides nothing. Results are values, encoded by exact type (``int`` but not a
subclass of it, ``list`` but not a subclass); any other object, such as one whose
``__eq__`` always says True, cannot be encoded and is reported as an error. The
expected values never enter the sandbox: the caller compares outside, on plain values.
The program can still write to the channel, but not knowing the expected values it
cannot write a passing result it did not compute.
"""

import contextlib
import io
import json
import os
import signal
import sys
import traceback
from typing import Any

_type = type
_len = len
_repr = repr
_hex = hex
_isinstance = isinstance
_write = os.write
_dumps = json.dumps
_exc_info = sys.exc_info
_MAX_NODES = 200_000
_MAX_DEPTH = 200


class _Timeout(BaseException):
    pass


class _Unencodable(Exception):
    pass


def _encode(value: Any, budget: list[int], depth: int = 0) -> Any:
    budget[0] -= 1
    if budget[0] < 0 or depth > _MAX_DEPTH:
        raise _Unencodable("value too large or too deep to compare")
    t = _type(value)
    if value is None:
        return ["N"]
    if t is bool:
        return ["B", value]
    if t is int:
        return ["I", _hex(value)]
    if t is float:
        return ["F", _repr(value)]
    if t is str:
        return ["S", value]
    if t is bytes:
        return ["Y", value.hex()]
    if t is complex:
        return ["C", [_repr(value.real), _repr(value.imag)]]
    tags: dict[type, str] = {list: "L", tuple: "T", set: "E", frozenset: "Z"}
    if t in tags:
        return [tags[t], [_encode(v, budget, depth + 1) for v in value]]
    if t is dict:
        return [
            "D",
            [
                [_encode(k, budget, depth + 1), _encode(v, budget, depth + 1)]
                for k, v in value.items()
            ],
        ]
    raise _Unencodable(f"cannot compare a value of type {t.__name__}")


def _error_text() -> tuple[str, str]:
    kind, exc, _ = _exc_info()
    if kind is _Timeout:
        return "timeout", "time limit per test"
    if kind is MemoryError:
        return "memory", "MemoryError"
    if kind is _Unencodable:
        return "unencodable", str(exc)
    try:
        return "error", f"{getattr(kind, '__name__', 'Exception')}: {exc}"[:500]
    except BaseException:
        return "error", "exception"


class Harness:
    def __init__(self, job: dict[str, Any], fd: int) -> None:
        self.job = job
        self.fd = fd
        self.per_test = float(job.get("per_test_s", 5.0))

    def emit(self, record: dict[str, Any]) -> None:
        data = (_dumps(record) + "\n").encode()
        _write(self.fd, data)

    def guarded(self, fn: Any) -> Any:
        signal.setitimer(signal.ITIMER_REAL, self.per_test)
        try:
            return fn()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    def value(self, fn: Any) -> dict[str, Any]:
        try:
            return {"v": _encode(self.guarded(fn), [_MAX_NODES])}
        except BaseException:
            kind, text = _error_text()
            return {"k": kind, "e": text}

    def load(self, ns: dict[str, Any]) -> None:
        here = os.path.dirname(os.path.abspath(__file__))
        with open(os.path.join(here, self.job["program"]), encoding="utf-8") as f:
            source = f.read()
        code = compile(source, "solution.py", "exec")
        self.guarded(lambda: exec(code, ns))

    def run(self) -> None:
        ns = {"__name__": "solution", "__builtins__": __builtins__}
        try:
            self.load(ns)
        except BaseException:
            kind, text = _error_text()
            self.emit({"load": kind, "e": text, "tb": traceback.format_exc()[-2000:]})
            return
        self.emit({"load": "ok"})
        if self.job["mode"] == "call":
            self.calls(ns)
        else:
            self.steps(ns)

    def calls(self, ns: dict[str, Any]) -> None:
        name = self.job["fn_name"]
        fn = ns.get(name)
        if not callable(fn) and callable(ns.get("Solution")):
            fn = getattr(ns["Solution"](), name, None)
        if not callable(fn):
            self.emit({"load": "error", "e": f"no function named {name!r}"})
            return
        for i, args in enumerate(self.job["cases"]):
            self.emit({"i": i, **self.value(lambda args=args: fn(*args))})

    def steps(self, ns: dict[str, Any]) -> None:
        for step in self.job["cases"]:
            if "exec" in step:
                code = compile(step["exec"], "test.py", "exec")
                try:
                    self.guarded(lambda code=code: exec(code, ns))
                    self.emit({"x": step["x"], "ok": True})
                except BaseException:
                    kind, text = _error_text()
                    self.emit({"x": step["x"], "k": kind, "e": text})
                continue
            leaves = [compile(src, "test.py", "eval") for src in step["eval"]]
            values = []
            for code in leaves:
                result = self.value(lambda code=code: eval(code, ns))
                values.append(result)
                if "v" not in result:
                    break
            self.emit({"i": step["i"], "leaves": values})


def _on_alarm(signum: int, frame: Any) -> None:
    raise _Timeout()


def main() -> None:
    job = json.loads(sys.stdin.buffer.read())
    fd = int(os.environ.pop("RS_CHANNEL_FD"))
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    sys.stdin = io.TextIOWrapper(io.BytesIO(b""))
    sys.setrecursionlimit(10_000)
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)
    signal.signal(signal.SIGALRM, _on_alarm)
    Harness(job, fd).run()
    with contextlib.suppress(BaseException):
        sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()

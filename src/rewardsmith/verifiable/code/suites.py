"""Test suites from the three common reference shapes, and the program from a completion.

Reference shapes (a dict, or a JSON string of one, as verl's datasets store it):

- assert-style: ``{"tests": "assert f(1) == 2\\n..."}`` (a string or a list of
  strings; ``test_list`` as MBPP names it, or ``test`` with ``entry_point`` as
  HumanEval's ``check(candidate)``; optional ``setup`` / ``test_setup_code`` /
  ``test_imports`` run first). A plain string reference that is not JSON is read as
  assert-style tests.
- stdin/stdout: ``{"inputs": [...], "outputs": [...]}`` (APPS, CodeContests, verl), or
  APPS's ``{"input_output": "<json>"}``, or a list of ``{"input", "output"}`` cases.
- function call: the same with ``fn_name`` (LiveCodeBench's ``func_name`` too). Each
  input is a list of arguments, or LiveCodeBench's string of one JSON value per line
  (then outputs are JSON strings too). A ``class Solution`` method is found as well.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from rewardsmith.verifiable.code.asserts import AssertPlan, plan_asserts

__all__ = ["Suite", "extract_program", "suite_from_reference"]

_FENCE = re.compile(r"```([\w+#.-]*)[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)
_PYTHON = {"", "python", "py", "python3", "py3"}


def extract_program(text: str) -> str:
    """The last fenced Python (or unlabelled) block, else the last block, else the text.

    The thinking part (up to ``</think>``) is dropped first; a final fence left open by
    a truncated generation still counts.
    """
    if "</think>" in text:
        text = text.rsplit("</think>", 1)[1]
    blocks = _FENCE.findall(text)
    if not blocks:
        return text.strip()
    python = [str(body) for lang, body in blocks if lang.lower() in _PYTHON]
    return (python or [str(body) for _, body in blocks])[-1].strip("\n")


@dataclass(slots=True)
class Suite:
    """What to run: ``kind`` and the cases; expected values stay on this side."""

    kind: Literal["stdio", "call", "assert"]
    inputs: list[Any] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)
    fn_name: str | None = None
    plan: AssertPlan | None = None

    def __len__(self) -> int:
        return len(self.plan.checks) if self.plan is not None else len(self.inputs)


def _as_dict(reference: Any) -> Any:
    if isinstance(reference, str):
        try:
            return json.loads(reference)
        except ValueError:
            return {"tests": reference}
    return reference


def _joined(x: Any) -> str:
    if x is None:
        return ""
    return x if isinstance(x, str) else "\n".join(str(t) for t in x)


def _cases_list(cases: list[Any]) -> dict[str, Any]:
    if not all(isinstance(c, dict) and "input" in c and "output" in c for c in cases):
        raise ValueError("a list reference must hold {'input': ..., 'output': ...} cases")
    return {"inputs": [c["input"] for c in cases], "outputs": [c["output"] for c in cases]}


def _call_args(raw: Any) -> list[Any]:
    if isinstance(raw, str):
        return [json.loads(line) for line in raw.split("\n") if line.strip()]
    if isinstance(raw, list):
        return raw
    return [raw]


def suite_from_reference(reference: Any) -> Suite:
    """Read a reference into a ``Suite``. Raises ValueError naming what is wrong."""
    ref = _as_dict(reference)
    if isinstance(ref, list):
        ref = _cases_list(ref)
    if not isinstance(ref, dict):
        raise ValueError(f"code tests must be a dict or JSON object, got {type(ref).__name__}")
    if "input_output" in ref:
        inner = _as_dict(ref["input_output"])
        rest = {k: v for k, v in ref.items() if k != "input_output"}
        return suite_from_reference({**rest, **inner} if isinstance(inner, dict) else inner)
    for key in ("tests", "test_list", "test"):
        if ref.get(key):
            setup = "\n".join(
                _joined(ref.get(k)) for k in ("test_imports", "setup", "test_setup_code")
            )
            source = setup + "\n" + _joined(ref[key])
            plan = plan_asserts(source, ref.get("entry_point"))
            if not plan.checks:
                raise ValueError("the tests hold no assert statement")
            return Suite("assert", plan=plan)
    if "test_cases" in ref and isinstance(ref["test_cases"], list):
        ref = {**ref, **_cases_list(ref["test_cases"])}
    inputs, outputs = ref.get("inputs"), ref.get("outputs")
    if not isinstance(inputs, list) or not isinstance(outputs, list):
        raise ValueError("code tests need 'tests' (asserts) or 'inputs' and 'outputs' lists")
    if len(inputs) != len(outputs):
        raise ValueError(f"{len(inputs)} inputs but {len(outputs)} outputs")
    if not inputs:
        raise ValueError("code tests hold no case")
    fn_name = ref.get("fn_name") or ref.get("func_name")
    if fn_name:
        lcb = all(isinstance(i, str) for i in inputs)
        outs = [json.loads(o) if lcb and isinstance(o, str) else o for o in outputs]
        return Suite("call", [_call_args(i) for i in inputs], outs, str(fn_name))
    return Suite("stdio", [_joined(i) for i in inputs], [_joined(o) for o in outputs])

"""Golden files: realistic cases per reward, with values reviewed by hand.

Each ``tests/golden/<family>/<reward name>.jsonl`` line holds ``completion``,
``reference``, ``params``, ``value`` and ``status`` (and optionally ``tokens``, a list of
token ids). The file's stem names the reward. ``pytest --update-golden`` rewrites the
expected ``value`` and ``status`` from the current code instead of checking them; review
the diff before committing it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import rewardsmith
from rewardsmith import Sample, Tokens

GOLDEN = Path(__file__).parent / "golden"
FILES = sorted(GOLDEN.glob("*/*.jsonl"))


def _score(case: dict) -> tuple[float | None, str]:
    reward = rewardsmith.load(Path(case["_file"]).stem, **case.get("params", {}))
    tokens = Tokens(ids=case["tokens"]) if case.get("tokens") is not None else None
    sample = Sample(completion=case["completion"], reference=case.get("reference"), tokens=tokens)
    score = reward.score([sample])[0]
    return score.value, str(score.status)


def test_golden_files_exist_for_every_family():
    assert {f.parent.name for f in FILES} >= {"format", "length", "math", "qa"}


@pytest.mark.parametrize("path", FILES, ids=[f"{f.parent.name}/{f.stem}" for f in FILES])
def test_golden(path: Path, update_golden: bool):
    lines = path.read_text(encoding="utf-8").splitlines()
    cases = [json.loads(line) for line in lines if line.strip()]
    assert cases, f"{path} is empty"
    got = [_score({**c, "_file": str(path)}) for c in cases]
    if update_golden:
        for case, (value, status) in zip(cases, got, strict=True):
            case["value"], case["status"] = value, status
        text = "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases)
        path.write_text(text, encoding="utf-8")
        return
    wrong = [
        f"line {i}: expected ({case['value']}, {case['status']}), got ({value}, {status}): "
        f"{case['completion']!r:.80}"
        for i, (case, (value, status)) in enumerate(zip(cases, got, strict=True), start=1)
        if status != case["status"]
        or (value is None) != (case["value"] is None)
        or (value is not None and value != pytest.approx(case["value"], abs=1e-9))
    ]
    assert not wrong, f"{path.name}: {len(wrong)} of {len(cases)} differ\n" + "\n".join(wrong)

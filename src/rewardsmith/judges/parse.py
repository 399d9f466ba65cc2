"""Verdict parsers for the judges' output formats: tolerant of whitespace, case and
markdown, strict about content.

Each parser takes the judge's whole output and returns the verdict or raises
``ParseError`` with why. Nothing is ever guessed: a missing, duplicated, out-of-range
or contradictory verdict is an error, and so is a refusal (``ParseError.refused``). A
``<think>...</think>`` block is removed first, so a verdict quoted while thinking never
counts.

Example:
    >>> yes_no("**YES**")
    True
    >>> total_score("... so the total is\\nTotal Score: [7/10]")
    0.7
    >>> ab_verdict("<eval>...</eval>\\n<answer>[[B]]</answer>")
    'B'
    >>> boxed_scores("Scores: \\\\boxed{3, 9}", n=2)
    [3, 9]
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

from rewardsmith.errors import RewardsmithError

__all__ = [
    "ParseError",
    "ab_verdict",
    "boxed_scores",
    "json_checks",
    "listwise_json",
    "total_score",
    "yes_no",
]

_THINK = re.compile(r"<think>.*?</think>", re.S | re.I)
_REFUSAL = re.compile(
    r"\b(i can(?:no|')t|i am (?:not able|unable)|i'm (?:sorry|unable|not able)|as an ai)\b", re.I
)
_BOXED = re.compile(r"\\boxed\{([^{}]*)\}")
_AB = re.compile(r"<answer>\s*\[\[\s*([AB])\s*\]\]\s*</answer>", re.I)
_TOTAL = re.compile(r"total\s+score", re.I)
_NUMBER = re.compile(r"^(\d+(?:\.\d+)?)(?:\s*/\s*(\d+(?:\.\d+)?))?$")


class ParseError(RewardsmithError):
    """The output holds no valid verdict; ``refused`` when the judge declined."""

    def __init__(self, message: str, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


def _body(text: str) -> str:
    body = _THINK.sub("", text)
    if "<think>" in body.lower():  # an unclosed think block: nothing after it is a verdict
        raise ParseError("the output ends inside <think>")
    return body


def _fail(text: str, why: str) -> ParseError:
    if _REFUSAL.search(text[:2000]):
        return ParseError(f"the judge refused ({why})", refused=True)
    return ParseError(why)


def yes_no(text: str) -> bool:
    """Master-RM / One Token to Fool: the output is YES or NO and nothing else (markdown,
    quotes and a trailing full stop allowed)."""
    body = _body(text).strip()
    word = re.sub(r"[*_`'\"“”「」.。!]", "", body).strip().upper()
    if word in ("YES", "NO"):
        return word == "YES"
    raise _fail(body, f"not YES or NO: {body[:80]!r}")


def ab_verdict(text: str) -> str:
    """RM-R1: ``<answer>[[A]]</answer>`` or ``[[B]]``, the last thing in the output, and
    only one of the two anywhere after thinking."""
    body = _body(text)
    found = list(_AB.finditer(body))
    labels = {m.group(1).upper() for m in found}
    if not found:
        raise _fail(body, "no <answer>[[A]]</answer> or <answer>[[B]]</answer>")
    if len(labels) > 1:
        raise ParseError("both verdicts appear")
    if body[found[-1].end() :].strip():
        raise ParseError("text follows the verdict")
    return labels.pop()


def total_score(text: str, out_of: float = 10.0) -> float:
    """Curing Miracle Steps' RRM: the last ``Total Score`` line, ``X`` or ``X/10`` (``:``,
    ``[]``, ``*``, ``|`` and "points" ignored), as ``min(10, X) / 10``. A denominator
    other than ``out_of`` is an error, not a rescale."""
    body = _body(text)
    found = list(_TOTAL.finditer(body))
    if not found:
        raise _fail(body, "no 'Total Score' line")
    line = body[found[-1].end() :].split("\n", 1)[0]
    cleaned = re.sub(r"points?|[:\[\]*|]", " ", line, flags=re.I).strip()
    match = _NUMBER.match(cleaned)
    if match is None:
        raise ParseError(f"the total score is not a number: {line.strip()[:60]!r}")
    value, denominator = float(match.group(1)), match.group(2)
    if denominator is not None and float(denominator) != out_of:
        raise ParseError(f"a score out of {denominator}, not out of {out_of:g}")
    return min(out_of, value) / out_of


def boxed_scores(text: str, n: int, lo: int = 1, hi: int = 10) -> list[int]:
    """DeepSeek-GRM: the last ``\\boxed{s1, ..., sn}``, ``n`` integers in ``[lo, hi]``."""
    body = _body(text)
    found = _BOXED.findall(body)
    if not found:
        raise _fail(body, "no \\boxed{...} scores")
    items = [x.strip() for x in found[-1].split(",")]
    if len(items) != n:
        raise ParseError(f"{len(items)} scores for {n} responses")
    out = []
    for item in items:
        if not re.fullmatch(r"\d{1,3}", item):
            raise ParseError(f"not an integer score: {item[:20]!r}")
        if not lo <= int(item) <= hi:
            raise ParseError(f"score {item} outside [{lo}, {hi}]")
        out.append(int(item))
    return out


def listwise_json(
    text: str, names: list[str], lo: int = 1, hi: int = 5
) -> tuple[dict[str, int], list[str]]:
    """RewardAnything: after thinking, one JSON object ``{"scores": {name: s}, "best-to-worst":
    [name, ...]}`` with an integer score in ``[lo, hi]`` for every name and a ranking that
    is a permutation of the names, consistent with the scores (a higher score never ranks
    below a lower one). A fenced JSON block is accepted; anything else around it is not."""
    data = json_object(text)
    if not isinstance(data, dict) or set(data) != {"scores", "best-to-worst"}:
        raise ParseError("the object needs exactly 'scores' and 'best-to-worst'")
    scores, order = data["scores"], data["best-to-worst"]
    if not isinstance(scores, dict) or set(scores) != set(names):
        raise ParseError(f"scores must name exactly {names}")
    if not isinstance(order, list) or sorted(map(str, order)) != sorted(names):
        raise ParseError(f"best-to-worst must rank each of {names} once")
    for name, value in scores.items():
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ParseError(f"score of {name}: an integer in [{lo}, {hi}], not {value!r}")
    ranked = [scores[name] for name in order]
    if any(a < b for a, b in itertools.pairwise(ranked)):
        raise ParseError("the ranking contradicts the scores")
    return dict(scores), [str(x) for x in order]


def json_object(text: str) -> Any:
    """After thinking, exactly one JSON value (a ```json fence allowed, nothing else)."""
    body = _body(text).strip()
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", body, re.S)
    if fenced:
        body = fenced.group(1)
    try:
        return json.loads(body)
    except ValueError:
        raise _fail(body, "not one JSON object") from None


def json_checks(
    text: str, keys: tuple[str, ...], optional: tuple[str, ...] = ()
) -> dict[str, bool]:
    """CRAFT's faithfulness checks: one JSON object with a boolean for every key of
    ``keys`` (and possibly those of ``optional``, which are dropped), nothing else."""
    data = json_object(text)
    if not isinstance(data, dict) or not set(keys) <= set(data) <= set(keys) | set(optional):
        raise ParseError(f"the object needs exactly {list(keys)}")
    bad = [k for k in keys if not isinstance(data[k], bool)]
    if bad:
        raise ParseError(f"not true or false: {bad}")
    return {k: data[k] for k in keys}

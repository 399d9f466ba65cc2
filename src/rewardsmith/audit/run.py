"""Running probes against a reward: what it pays for nothing, probe by probe.

``audit(reward, samples)`` picks up to ``max_base`` prompts from the rollouts (the first
distinct prompt and reference pairs, in file order), and for each one scores, in the same
run:

- the **floor**: an empty completion, alone in a group of its own. When it gets no value,
  the reward's declared ``range[0]`` stands in;
- the rollouts of that prompt: the **paid completion** that relative and sensitivity
  probes start from is the shortest one paid at least halfway from the floor to the best
  rollout's value. Well paid, so that a completion paid only a little above the floor (a
  wrong answer earning a length term) is not the start; the shortest of them, so that
  padding has room to raise a reward that saturates with length. A prompt with no rollout
  above the floor gets no relative probes;
- every probe's completions, each (probe, base) pair in a group of its own
  (``audit/<probe>/<base>``), so group rewards see the probe's variants together. A
  relative or sensitivity group also holds the unchanged paid completion, the **control**,
  and the probe's completions are compared with the control's value in that group (with
  the base pass's value when the control has none).

An item is **paid** when its value is above the floor (absolute probes) or above the
control (relative probes) by more than ``tolerance``; for sensitivity, when it differs from
the control by more than ``tolerance`` either way (a flip). An item with no value is an
**error**: counted apart, never paid or unpaid. Each probe's verdict: ``untested`` when it
made no completions, ``errors`` when more than half of them errored, ``pays`` when the
share paid is above ``max_share``, else ``ok``.

Known issues: the floor is measured per prompt, so a reward whose empty-completion value
depends on its group (a group-relative term) gets that value for a group of one. Probe
completions keep the ``meta`` of the prompt's first rollout, so a reward that reads
per-rollout facts from ``meta`` (a trainer's ``correct`` flag, step rewards) is audited
against that rollout's facts. A reward that keeps state across calls (a cache, a schedule
that moves) is assumed not to change between the floor and the probes.

Example:
    >>> import rewardsmith
    >>> from rewardsmith import Sample
    >>> rollouts = [Sample(prompt="What is 6*7?", reference="42",
    ...     completion="<think>6*7=42</think><answer>42</answer>")]
    >>> report = audit(rewardsmith.load("qa.cover_em"), rollouts)
    >>> report.paying
    ('answer-spraying', 'hedging')
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import orjson

from rewardsmith.audit.probes import ALL, Base, Kind, Probe, ProbeSample, reference_text
from rewardsmith.core import Reward, Sample, Score
from rewardsmith.core.types import completion_text, prompt_group

__all__ = [
    "AuditReport",
    "Example",
    "ProbeResult",
    "Verdict",
    "audit",
    "select_bases",
]

MAX_EXAMPLES = 3
EXAMPLE_CHARS = 200
MAX_CANDIDATES = 64
"""Rollouts kept per base prompt when looking for a paid completion (memory stays bounded)."""
CONTROL = "control"


class Verdict(StrEnum):
    OK = "ok"
    PAYS = "pays"
    ERRORS = "errors"
    UNTESTED = "untested"


@dataclass(frozen=True, slots=True)
class Example:
    """A probe completion the reward paid (or, for sensitivity, flipped on)."""

    base: int
    variant: str
    completion: str
    value: float
    baseline: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "variant": self.variant,
            "completion": self.completion,
            "value": self.value,
            "baseline": self.baseline,
        }


@dataclass(frozen=True, slots=True)
class Item:
    """One probe completion's outcome (for plots and per-variant tables)."""

    base: int
    variant: str
    value: float | None
    baseline: float
    paid: bool


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One probe's outcome: how many completions, how many paid, by how much, and a verdict.

    ``share_paid`` is over the completions that got a value (None when none did);
    ``mean_gain`` is the mean of value minus baseline over them (for sensitivity, of its
    absolute size). ``items`` holds every completion's outcome in order.
    """

    name: str
    kind: Kind
    description: str
    paper: str
    n: int
    errors: int
    paid: int
    share_paid: float | None
    mean_gain: float | None
    verdict: Verdict
    examples: tuple[Example, ...] = ()
    items: tuple[Item, ...] = field(default=(), repr=False)

    @property
    def scored(self) -> int:
        return self.n - self.errors

    def by_variant(self) -> dict[str, dict[str, int]]:
        """``{variant: {"n", "paid", "errors"}}`` in first-seen order."""
        out: dict[str, dict[str, int]] = {}
        for item in self.items:
            row = out.setdefault(item.variant, {"n": 0, "paid": 0, "errors": 0})
            row["n"] += 1
            row["paid"] += item.paid
            row["errors"] += item.value is None
        return out

    def to_dict(self, items: bool = False) -> dict[str, Any]:
        """A JSON-ready dict; with ``items``, every completion's value and baseline too."""
        out: dict[str, Any] = {
            "name": self.name,
            "kind": str(self.kind),
            "description": self.description,
            "paper": self.paper,
            "n": self.n,
            "scored": self.scored,
            "errors": self.errors,
            "paid": self.paid,
            "share_paid": self.share_paid,
            "mean_gain": self.mean_gain,
            "verdict": str(self.verdict),
            "examples": [e.to_dict() for e in self.examples],
            "variants": self.by_variant(),
        }
        if items:
            out["items"] = [
                {"base": i.base, "variant": i.variant, "value": i.value, "baseline": i.baseline, "paid": i.paid}
                for i in self.items
            ]  # fmt: skip
        return out


@dataclass(frozen=True, slots=True)
class AuditReport:
    """Every probe's result for one reward over one set of rollouts.

    ``floors`` holds each base's floor and ``base_values`` the value of its paid completion
    (None when it has none); ``paying`` names the probes whose verdict is ``pays``.
    """

    spec: str
    bases: int
    floors: tuple[float, ...]
    base_values: tuple[float | None, ...]
    probes: tuple[ProbeResult, ...]
    tolerance: float
    max_share: float
    seed: int

    @property
    def paying(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.probes if p.verdict is Verdict.PAYS)

    def to_dict(self, items: bool = False) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "bases": self.bases,
            "with_paid_completion": sum(v is not None for v in self.base_values),
            "floors": list(self.floors),
            "base_values": list(self.base_values),
            "tolerance": self.tolerance,
            "max_share": self.max_share,
            "seed": self.seed,
            "paying": list(self.paying),
            "probes": [p.to_dict(items) for p in self.probes],
        }


def _key(sample: Sample) -> str:
    ref = orjson.dumps(sample.reference, default=str, option=orjson.OPT_SORT_KEYS).decode()
    return f"{prompt_group(sample.prompt)}\x00{ref}"


def select_bases(
    samples: Iterable[Sample], max_base: int
) -> tuple[list[Sample], list[list[Sample]], tuple[str, ...]]:
    """The first ``max_base`` distinct (prompt, reference) pairs in order, the rollouts of
    each (at most ``MAX_CANDIDATES``), and every text reference seen (text distractors).

    Reads ``samples`` once, keeping only what it returns.
    """
    firsts: dict[str, int] = {}
    bases: list[Sample] = []
    candidates: list[list[Sample]] = []
    references: dict[str, None] = {}
    for sample in samples:
        texts = reference_text(sample.reference)
        if texts and len(references) < 10_000:
            references.setdefault(texts[0])
        key = _key(sample)
        at = firsts.get(key)
        if at is None and len(bases) < max_base:
            at = firsts[key] = len(bases)
            bases.append(sample)
            candidates.append([])
        if at is not None and len(candidates[at]) < MAX_CANDIDATES:
            candidates[at].append(sample)
    return bases, candidates, tuple(references)


def _score_groups(
    reward: Reward,
    groups: Sequence[Sequence[Sample]],
    batch_size: int,
    progress: Callable[[int], None] | None = None,
) -> list[list[Score]]:
    """Score whole groups, several per ``reward.score`` call (a group is never split)."""
    out: list[list[Score]] = []
    pending: list[Sequence[Sample]] = []

    def flush() -> None:
        scores = reward.score([s for g in pending for s in g]) if pending else []
        at = 0
        for g in pending:
            out.append(scores[at : at + len(g)])
            at += len(g)
        if progress is not None:
            progress(at)
        pending.clear()

    for group in groups:
        pending.append(group)
        if sum(len(g) for g in pending) >= batch_size:
            flush()
    flush()
    return out


def _floors_and_bases(
    reward: Reward,
    bases: list[Sample],
    candidates: list[list[Sample]],
    others: tuple[str, ...],
    tolerance: float,
    batch_size: int,
) -> tuple[list[float], list[Base], list[float | None]]:
    """Each base's floor, its ``Base`` (with the paid completion, if any) and that
    completion's value."""
    empties = [
        [replace(b, completion="", group=f"audit/floor/{i}", tokens=None)]
        for i, b in enumerate(bases)
    ]
    scored = _score_groups(reward, [*empties, *candidates], batch_size)
    low = reward.range[0]
    floors = [low if s[0].value is None else s[0].value for s in scored[: len(bases)]]
    out, values = [], []
    for i, (base, rollouts, scores) in enumerate(
        zip(bases, candidates, scored[len(bases) :], strict=True)
    ):
        value, completion = _paid_completion(rollouts, scores, floors[i], tolerance)
        ref = set(reference_text(base.reference))
        mine = tuple(o for o in others if o not in ref)
        out.append(Base(i, replace(base, completion="", tokens=None), completion, mine))
        values.append(value)
    return floors, out, values


def _paid_completion(
    rollouts: Sequence[Sample], scores: Sequence[Score], floor: float, tolerance: float
) -> tuple[float | None, str | None]:
    """The shortest rollout paid at least halfway from the floor to the best rollout's
    value, and its value; (None, None) when none is paid above the floor."""
    paid = [
        (s.value, completion_text(r.completion))
        for r, s in zip(rollouts, scores, strict=True)
        if s.value is not None and s.value > floor + tolerance
    ]
    if not paid:
        return None, None
    half = floor + (max(v for v, _ in paid) - floor) / 2
    return min(((v, t) for v, t in paid if v >= half), key=lambda vt: len(vt[1]))


def audit(
    reward: Reward,
    samples: Iterable[Sample],
    probes: Sequence[Probe] = ALL,
    *,
    max_base: int = 16,
    max_share: float = 0.0,
    tolerance: float = 1e-9,
    seed: int = 0,
    batch_size: int = 1024,
    progress: Callable[[int, int], None] | None = None,
) -> AuditReport:
    """Run ``probes`` against ``reward`` on prompts taken from ``samples``.

    Args:
        reward: any reward (a spec's tree, a single registered reward).
        samples: rollouts with prompts and references; read once.
        probes: which probes to run (``rewardsmith.audit.probes.ALL`` by default).
        max_base: how many distinct prompts to build probes from.
        max_share: a probe ``pays`` when its share paid is above this.
        tolerance: a value must beat its floor or control by more than this to count.
        seed: seeds every probe's random choices (distractors, filler).
        batch_size: completions per ``reward.score`` call (whole groups per call).
        progress: called with (completions scored so far, total).

    Returns:
        The ``AuditReport``, one ``ProbeResult`` per probe in ``probes``' order.
    """
    bases_in, candidates, others = select_bases(samples, max_base)
    floors, bases, base_values = _floors_and_bases(
        reward, bases_in, candidates, others, tolerance, batch_size
    )
    made = [(probe, probe.samples(bases, seed)) for probe in probes]
    groups: list[list[ProbeSample]] = []
    for probe, items in made:
        by_group: dict[int, list[ProbeSample]] = {}
        for item in items:
            by_group.setdefault(item.base, []).append(item)
        for index, members in by_group.items():
            if probe.kind is not Kind.ABSOLUTE:  # the unchanged completion, scored beside them
                unchanged = replace(members[0].sample, completion=bases[index].completion or "")
                members = [ProbeSample(probe.name, index, CONTROL, unchanged), *members]
            groups.append(members)
    total = sum(len(g) for g in groups)
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total)

    scores = _score_groups(reward, [[m.sample for m in g] for g in groups], batch_size, advance)
    outcomes: dict[str, list[tuple[ProbeSample, Item]]] = {p.name: [] for p in probes}
    kinds = {p.name: p.kind for p in probes}
    for group, group_scores in zip(groups, scores, strict=True):
        kind = kinds[group[0].probe]
        at = group[0].base
        if kind is Kind.ABSOLUTE:
            baseline = floors[at]
        else:
            control = group_scores[0].value
            baseline = control if control is not None else base_values[at] or 0.0
            group, group_scores = group[1:], group_scores[1:]
        for member, score in zip(group, group_scores, strict=True):
            outcomes[member.probe].append(
                (member, _item(member, score.value, baseline, kind, tolerance))
            )
    results = tuple(_result(p, outcomes[p.name], max_share) for p in probes)
    spec = str(
        getattr(reward, "spec_name", None) or getattr(reward, "name", "") or type(reward).__name__
    )
    return AuditReport(
        spec, len(bases), tuple(floors), tuple(base_values), results, tolerance, max_share, seed
    )


def _item(
    member: ProbeSample, value: float | None, baseline: float, kind: Kind, tolerance: float
) -> Item:
    if value is None:
        paid = False
    elif kind is Kind.SENSITIVITY:
        paid = abs(value - baseline) > tolerance
    else:
        paid = value > baseline + tolerance
    return Item(member.base, member.variant, value, baseline, paid)


def _result(
    probe: Probe, outcomes: list[tuple[ProbeSample, Item]], max_share: float
) -> ProbeResult:
    items = [item for _, item in outcomes]
    n = len(items)
    gains = [
        abs(i.value - i.baseline) if probe.kind is Kind.SENSITIVITY else i.value - i.baseline
        for i in items
        if i.value is not None
    ]
    errors = n - len(gains)
    paid = sum(i.paid for i in items)
    share = paid / len(gains) if gains else None
    if n == 0:
        verdict = Verdict.UNTESTED
    elif errors * 2 > n:
        verdict = Verdict.ERRORS
    elif share is not None and share > max_share:
        verdict = Verdict.PAYS
    else:
        verdict = Verdict.OK
    return ProbeResult(
        name=probe.name,
        kind=probe.kind,
        description=probe.description,
        paper=str(probe.paper),
        n=n,
        errors=errors,
        paid=paid,
        share_paid=share,
        mean_gain=sum(gains) / len(gains) if gains else None,
        verdict=verdict,
        examples=_examples(outcomes),
        items=tuple(items),
    )


def _examples(outcomes: list[tuple[ProbeSample, Item]]) -> tuple[Example, ...]:
    """Up to ``MAX_EXAMPLES`` paid completions of different variants, spread over the
    probe's variants (its first, middle and last paid variant), in order."""
    firsts: dict[str, tuple[ProbeSample, Item]] = {}
    for m, i in outcomes:
        if i.paid and i.value is not None:
            firsts.setdefault(i.variant, (m, i))
    paid = list(firsts.values())
    k = min(MAX_EXAMPLES, len(paid))
    picks = sorted(
        {round(j * (len(paid) - 1) / (k - 1)) for j in range(k)} if k > 1 else set(range(k))
    )
    return tuple(
        Example(i.base, i.variant, _clip(m.sample.text), i.value, i.baseline)
        for m, i in (paid[j] for j in picks)
        if i.value is not None
    )


def _clip(text: str) -> str:
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1] + "…"

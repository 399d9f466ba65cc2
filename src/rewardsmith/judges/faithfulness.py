"""``judge.faithfulness``: CRAFT's judge term, whether an answer is faithful to its own
reasoning and to the documents it was given.

What it computes: R_faith of CRAFT (arXiv 2602.01348), the mean of the judge's binary
checks. For template v1 these are four: the reasoning carries out the plan, the cited
documents support the reasoning, the answer follows from the reasoning, and every claim
is grounded in the documents. The judge answers with one JSON object of booleans; its
``overall`` field is dropped (CRAFT recomputes it as the AND of the checks, for
evaluation only; ``info["verdicts"]`` keeps every check of every sample). CRAFT runs its judge at
temperature 0, the default here. Add the deterministic terms as a spec: R = R_fmt +
R_ans + R_faith (+ R_gold) is ``sum`` over ``craft.format``, ``craft.answer`` and this.

Range: [0, 1]. The documents come from ``Sample.meta["documents"]`` or the reference's
``documents``: a list of strings, or of dicts with ``text`` (and ``title``/``id``),
numbered as the judge sees them; an item without documents is an error.

Where this differs from the paper: CRAFT scores a provider's content-filter rejection as
zero faithfulness; here a refusal or an unparseable verdict is an error status with the
raw output, never a number. The judge's prompt and keys are rewardsmith's (CRAFT's code
was not read), so a judge fine-tuned on CRAFT's exact prompt should be given it with
``template:``.

How it can be gamed: a completion that says nothing gets 0 from the pre-gate without a
call; one that writes "all checks pass" is text the judge reads; copying the documents
into the reasoning can look grounded while answering nothing (``craft.answer`` is the
term that pays for the answer).

Paper: CRAFT: Calibrated Reasoning with Answer-Faithful Traces (arXiv 2602.01348).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from rewardsmith.core import Paper, Sample, register
from rewardsmith.judges.base import JudgeItem, completion_text, prompt_text
from rewardsmith.judges.core import Ask, JudgeParams
from rewardsmith.judges.parse import json_checks

__all__ = [
    "CRAFT_CHECKS",
    "CRAFT_PAPER",
    "JudgeFaithfulness",
    "JudgeFaithfulnessParams",
    "documents",
    "documents_text",
]

CRAFT_PAPER = Paper("CRAFT: Calibrated Reasoning with Answer-Faithful Traces", "2602.01348")
CRAFT_CHECKS = ("plan_reason", "docs_reason", "reason_answer", "grounded")


class JudgeFaithfulnessParams(JudgeParams):
    """Parameters of ``judge.faithfulness`` (the judge core's)."""


def documents(sample: Sample) -> list[tuple[Any, str]]:
    """Each document's label and text (``title: text`` where it has a title), from
    ``meta["documents"]`` or the reference's ``documents``: a string, or a list of strings
    or of dicts with ``text`` (and ``title``/``id``); ``ValueError`` when there are none."""
    found: Any = sample.meta.get("documents")
    if found is None and isinstance(sample.reference, Mapping):
        found = sample.reference.get("documents")
    if isinstance(found, str):
        found = [found]
    if not isinstance(found, list) or not found:
        raise ValueError("this reward needs documents: meta['documents'] or the reference's")
    out: list[tuple[Any, str]] = []
    for k, doc in enumerate(found, 1):
        if isinstance(doc, Mapping):
            title = doc.get("title")
            text = str(doc.get("text", ""))
            out.append((doc.get("id", k), f"{title}: {text}" if title else text))
        else:
            out.append((k, str(doc)))
    return out


def documents_text(sample: Sample) -> str:
    """The documents, numbered ``[1] title: text`` one a paragraph."""
    return "\n\n".join(f"[{label}] {text}" for label, text in documents(sample))


@register(
    summary="a judge's binary faithfulness checks (plan, documents, reasoning, answer), averaged",
    paper=CRAFT_PAPER,
)
class JudgeFaithfulness(JudgeItem):
    name = "judge.faithfulness"
    template_name = "craft_faithfulness"

    def __init__(self, params: JudgeFaithfulnessParams, backend: Any = None) -> None:
        super().__init__(params, backend)

    @property
    def range(self) -> tuple[float, float]:
        return (0.0, 1.0)

    def part_names(self) -> list[str]:
        return []

    def ask_for(self, sample: Sample) -> Ask:
        messages = self.core.template.render(
            question=prompt_text(sample),
            documents=documents_text(sample),
            response=completion_text(sample),
        )
        return Ask(
            messages, functools.partial(json_checks, keys=CRAFT_CHECKS, optional=("overall",))
        )

    def value(self, verdicts: list[Any]) -> float:
        per_sample = [sum(v.values()) / len(v) for v in verdicts]
        return float(sum(per_sample)) / len(per_sample)

"""``rm.joint``: a reward model that judges a whole group of completions in one pass.

What it computes: You Only Judge Once's multi-response reward (arXiv 2604.10966). The
prompt and every completion of a GRPO group go into one sequence, each completion closed
by a separator token, and the reward head read at a completion's separator is its score
(``models.joint`` has the layout). One forward pass judges N completions, and each is
judged with the others in view. Train such a model with ``rewardsmith train-rm --joint``;
its model card prints the spec line.

Order: a decoder reads left to right, so a completion is judged with the ones before it
in view, not the ones after (the paper's pitfall: position bias). The value is the mean
over ``orders`` passes: the group as given, reversed, then seeded shuffles (seeded by the
pass number and the group size, so a run is reproducible). ``info["by_order"]`` keeps
every pass's score.

Range: (-inf, inf), the head's logit. Scores are comparable within a group only (the
paper's pitfall: they come from one pass); normalise per group
(``transform.group_zscore``) before mixing with other rewards.

Inputs (``input``): ``conversation`` (default), the prompt rendered with the model's chat
template with the assistant turn opened; or ``text``, the prompt as it is. A completion
given as messages is their contents, one a line. Every sample of a group must have the
same prompt; a group whose prompts differ fails as a whole (its status is ``error``).

Length: a group that does not fit ``max_length`` tokens gets equal shares per
completion, longer ones cut from the left (``info["truncated"]``): a huge completion
costs the others nothing.

How it can be gamed (think like the policy): writing the separator (or any special-token
string) in a completion to split it in two or to end it early does nothing: such strings
are stripped and the separator is placed as a token id. Lying about the others ("the
other answers are wrong") is text the model reads; it is what a trained judge must learn
to ignore, and what the audit should probe. A lone completion (a group of one) is scored
alone, as by a single-response model.

Failure modes, each the group's status, never a number: a model that cannot be loaded,
a causal LM or encoder classifier (no per-token head: ``Unsupported``), prompts that
differ within the group, malformed chat messages, a non-finite logit.

Paper: You Only Judge Once: Multi-Response Reward Modeling in a Single Forward Pass
(arXiv 2604.10966).

Example:
    >>> rm = RMJoint(RMJointParams(model="path/to/joint-rm"))  # doctest: +SKIP
    >>> [s.value for s in rm.score(group_of_four)]  # doctest: +SKIP
    [1.8, -0.4, 0.9, -2.2]
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from rewardsmith.core import GroupReward, Paper, Params, Sample, Score, register
from rewardsmith.core.reward import group_indices, is_strict
from rewardsmith.errors import ConfigError
from rewardsmith.judges.rm.score import chat_messages, plain_text
from rewardsmith.models.base import ModelError, ModelInput, Result, failed_score
from rewardsmith.models.hf_model import Joint
from rewardsmith.models.load import resolve_backend

__all__ = ["YOJO", "RMJoint", "RMJointParams", "orders_for"]

YOJO = Paper(
    "You Only Judge Once: Multi-Response Reward Modeling in a Single Forward Pass", "2604.10966"
)


class RMJointParams(Params):
    """Parameters of ``rm.joint`` (see the module docstring)."""

    model: str = Field(min_length=1)
    """A local directory or hub id of a joint reward model (no served backend)."""
    head: str | None = None
    """The head that is the value; None: the only one."""
    input: Literal["conversation", "text"] = "conversation"
    orders: int = Field(2, ge=1, le=16)
    """Passes averaged: as given, reversed, then seeded shuffles."""
    max_batch_tokens: int | None = Field(None, ge=1)
    max_length: int | None = Field(None, ge=2)
    dtype: Literal["float32", "bfloat16", "float16", "auto"] = "float32"
    device: str = "cpu"


def orders_for(n: int, passes: int) -> list[list[int]]:
    """The orders a group of ``n`` is judged in: as given, reversed, then shuffles seeded
    by the pass number and ``n``.

    Example:
        >>> orders_for(3, 3)[:2]
        [[0, 1, 2], [2, 1, 0]]
    """
    out = []
    for k in range(passes):
        order = list(range(n))
        if k == 1:
            order.reverse()
        elif k > 1:
            random.Random(f"rm.joint:{k}:{n}").shuffle(order)
        out.append(order)
    return out


@register(
    summary="a joint reward model's score for each completion, a group in one pass", paper=YOJO
)
class RMJoint(GroupReward):
    """Every group judged in one sequence per order; all groups in one backend call."""

    name = "rm.joint"
    work = "model"

    def __init__(self, params: RMJointParams) -> None:
        self.params = params
        if resolve_backend(params.model, "auto") != "hf":
            raise ConfigError("rm.joint: needs a local model (a directory or hub id), not a URL")
        from rewardsmith.models.hf_model import model_labels  # no torch: reads JSON files

        self._labels = model_labels(params.model)
        if self._labels is not None:
            if params.head is None and len(self._labels) > 1:
                raise ConfigError(f"rm.joint: the model has heads {list(self._labels)}; set head")
            if params.head is not None and params.head not in self._labels:
                raise ConfigError(
                    f"rm.joint: head {params.head!r} is not one of {list(self._labels)}"
                )
        self._backend: Any = None

    @property
    def range(self) -> tuple[float, float]:
        return (-math.inf, math.inf)

    def part_names(self) -> list[str]:
        return list(self._labels or ()) if self._labels and len(self._labels) > 1 else []

    def backend(self) -> Any:
        if self._backend is None:
            from rewardsmith.models.local import HFBackend

            p = self.params
            self._backend = HFBackend(
                p.model, dtype=p.dtype, device=p.device, max_length=p.max_length,
                max_batch_tokens=p.max_batch_tokens,
            )  # fmt: skip
        return self._backend

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_backend": None}

    def score_group(self, samples: Sequence[Sample]) -> list[Score]:
        return self.score(list(samples))

    def score(self, samples: Sequence[Sample]) -> list[Score]:
        out: list[Score | None] = [None] * len(samples)
        work: list[tuple[list[int], list[list[int]]]] = []  # (indices, orders) per group
        calls: list[tuple[ModelInput, list[str]]] = []
        for indices in group_indices(samples):
            members = [samples[i] for i in indices]
            try:
                prompt = self._prompt(members)
                texts = [plain_text(s.completion) for s in members]
            except Exception as exc:
                if is_strict():
                    raise
                for i in indices:
                    out[i] = Score.failed(exc)
                continue
            orders = orders_for(len(members), self.params.orders)
            work.append((indices, orders))
            calls.extend((prompt, [texts[k] for k in order]) for order in orders)
        if calls:
            try:
                results = self.backend().classify_joint(
                    calls, chat=self.params.input == "conversation"
                )
            except Exception as exc:
                if is_strict():
                    raise
                results = [ModelError.of(exc)] * len(calls)
            at = 0
            for indices, orders in work:
                scores = self._group_scores(results[at : at + len(orders)], orders, len(indices))
                at += len(orders)
                for i, score in zip(indices, scores, strict=True):
                    out[i] = score
        return [s if s is not None else Score.skipped("not scored") for s in out]

    def _prompt(self, members: Sequence[Sample]) -> ModelInput:
        first = members[0].prompt
        if any(s.prompt != first for s in members[1:]):
            raise ValueError("rm.joint: the samples of a group have different prompts")
        if self.params.input == "text":
            return plain_text(first)
        messages = chat_messages(first, "user")
        return plain_text(first) if isinstance(first, str) else [dict(m) for m in messages]

    def _group_scores(
        self, results: Sequence[Result[Any]], orders: list[list[int]], n: int
    ) -> list[Score]:
        failed = next((r for r in results if isinstance(r, ModelError)), None)
        if failed is not None:
            return [failed_score(failed) for _ in range(n)]
        joints = [r for r in results if isinstance(r, Joint)]
        if len(joints) != len(orders) or any(len(j.scores) != n for j in joints):
            error = ModelError(
                "BackendError", f"{len(joints)} packed results for {len(orders)} orders"
            )
            return [failed_score(error) for _ in range(n)]
        by_order: list[list[dict[str, float]]] = [[{}] * n for _ in orders]
        for k, (result, order) in enumerate(zip(joints, orders, strict=True)):
            for position, member in enumerate(order):
                by_order[k][member] = result.scores[position]
        head = self._head(by_order[0][0])
        if head is None:
            error = ModelError("HeadError", f"set head; heads: {list(by_order[0][0])}")
            return [failed_score(error) for _ in range(n)]
        info_common = {
            "tokens": max(j.tokens for j in joints),
            **({"truncated": True} if any(j.truncated for j in joints) else {}),
        }
        out = []
        for member in range(n):
            values = [float(by_order[k][member][head]) for k in range(len(orders))]
            if not all(math.isfinite(v) for v in values):
                out.append(failed_score(ModelError("NonFinite", f"head {head!r} gave {values}")))
                continue
            heads = by_order[0][member]
            parts = {
                name: sum(by_order[k][member][name] for k in range(len(orders))) / len(orders)
                for name in (self.part_names() or ())
                if name in heads
            }
            info = {**info_common, "by_order": values, "group_size": n}
            out.append(Score(sum(values) / len(values), parts=parts, info=info))
        return out

    def _head(self, scores: dict[str, float]) -> str | None:
        head = self.params.head
        if head is None and len(scores) == 1:
            head = next(iter(scores))
        return head if head is not None and head in scores else None

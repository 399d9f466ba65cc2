"""OpenRLHF's remote reward protocol: split queries, score, answer with numbers only.

OpenRLHF (``openrlhf.utils.agent.SingleTurnAgentExecutor``, 0.11.x) asks for rewards in
one of two ways, both driven by ``--reward.remote_url``:

- a URL: it POSTs ``{"query": [...], "prompts": [...], "labels": [...]}`` to the URL as
  given (``http://host:port/get_reward``), where each query is the prompt followed by
  the response, decoded with special tokens kept. ``rewardsmith serve`` answers it;
- a ``.py`` file: it loads the file and calls ``reward_func(queries, prompts, labels)``
  in a thread. Point it at this module's file
  (``python -c "import rewardsmith.integrations.openrlhf as m; print(m.__file__)"``);
  the spec comes from ``REWARDSMITH_SPEC`` (default ``math-r1``), the value for an
  unscored item from ``REWARDSMITH_ON_ERROR`` (default 0.0).

Both give ``{"rewards": [...], "scores": [...], "extra_logs": {name: [...]}}`` with a
float for every item: OpenRLHF cannot use ``None``, so an item that could not be scored
(status ``error``/``skipped``, value None) gets ``on_error`` instead, and
``extra_logs["rewardsmith/scored"]`` is 0.0 for it so the failure still shows in the
trainer's logs (``rewardsmith/skipped`` is 1.0 for a skipped item). Every part the spec
declares (``rewardsmith.core.tree.part_names``, at every depth) lands in ``extra_logs``
under ``rewardsmith/<part>`` for every item, 0.0 where the item did not compute it, with
``rewardsmith/computed/<part>`` 1.0 or 0.0 beside it: OpenRLHF averages each key over
the batch, so the part's mean over the items that computed it is the first mean divided
by the second. Parts a third-party reward writes without declaring them are not logged.

Known issues: the response is what follows the prompt in the query. When the query does
not start with the prompt (a tokenizer that does not round-trip the prompt exactly), the
text after the prompt's first occurrence is used, and failing that the whole query with
leading special tokens removed. Only end-of-turn markers at the end of the response are
stripped; one in the middle of a response stays.

Example:
    >>> split_response("<|im_start|>user\\n2+2?<|im_end|>\\n<|im_start|>assistant\\n4<|im_end|>",
    ...                "<|im_start|>user\\n2+2?<|im_end|>\\n<|im_start|>assistant\\n")
    '4'
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

from rewardsmith.core import Sample, Score, Status
from rewardsmith.core.tree import part_names
from rewardsmith.integrations._common import part_columns, resolve_reward
from rewardsmith.rollouts.fields import build_sample

__all__ = [
    "END_TOKENS",
    "reward_func",
    "split_response",
    "strip_end_tokens",
    "to_reply",
    "to_samples",
]

END_TOKENS: tuple[str, ...] = (
    "<|im_end|>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<|eot_id|>",
    "<|eom_id|>",
    "<|end|>",
    "<end_of_turn>",
    "<｜end▁of▁sentence｜>",
    "</s>",
    "<eos>",
)
"""End-of-turn and padding markers stripped from the end of a response."""

_START_TOKENS = ("<s>", "<|begin_of_text|>", "<bos>", "<｜begin▁of▁sentence｜>")
_SCORED = "rewardsmith/scored"
_SKIPPED = "rewardsmith/skipped"


def split_response(query: str, prompt: str, end_tokens: Iterable[str] = END_TOKENS) -> str:
    """The response part of an OpenRLHF query (prompt + response), end markers stripped."""
    if prompt and query.startswith(prompt):
        response = query[len(prompt) :]
    elif prompt and (at := query.find(prompt)) >= 0:
        response = query[at + len(prompt) :]
    else:
        response = query
        stripped = True
        while stripped:
            stripped = False
            for token in _START_TOKENS:
                if response.startswith(token):
                    response, stripped = response[len(token) :], True
    return strip_end_tokens(response, tuple(end_tokens))


def strip_end_tokens(text: str, end_tokens: tuple[str, ...]) -> str:
    """``text`` without trailing end markers (repeated ones, padding, whitespace)."""
    text = text.rstrip()
    while True:
        for token in end_tokens:
            if token and text.endswith(token):
                text = text[: -len(token)].rstrip()
                break
        else:
            return text


def to_samples(
    queries: Sequence[str],
    prompts: Sequence[str],
    labels: Sequence[Any] | None,
    end_tokens: Iterable[str] = END_TOKENS,
) -> list[Sample]:
    """One Sample per query: the response split off its prompt, the label as reference.

    The fields are filled by their canonical names through the one field table's
    ``build_sample`` (OpenRLHF's ``query`` is prompt plus response, not the table's
    ``query``); rollouts of one prompt share a group.

    Raises ValueError when the lists differ in length.
    """
    labels = list(labels) if labels is not None else [None] * len(queries)
    if not len(queries) == len(prompts) == len(labels):
        raise ValueError(
            f"query, prompts and labels must have the same length "
            f"(got {len(queries)}, {len(prompts)}, {len(labels)})"
        )
    tokens = tuple(end_tokens)
    return [
        build_sample({"prompt": p, "completion": split_response(q, p, tokens), "reference": label})
        for q, p, label in zip(queries, prompts, labels, strict=True)
    ]


def to_reply(
    scores: Sequence[Score], on_error: float = 0.0, parts: Sequence[str] = ()
) -> dict[str, Any]:
    """OpenRLHF's reply: a float for every item (``on_error`` for unscored ones).

    ``parts``: the part names to log, the spec's ``core.tree.part_names``: the same keys
    for every item, whatever each item computed (see ``integrations._common.part_columns``).
    """
    values = [on_error if s.value is None else float(s.value) for s in scores]
    logs: dict[str, list[float]] = {
        _SCORED: [0.0 if s.value is None else 1.0 for s in scores],
        _SKIPPED: [1.0 if s.status is Status.SKIPPED else 0.0 for s in scores],
    }
    for name, column in part_columns(scores, parts).items():
        logs[f"rewardsmith/{name}"] = column
    return {"rewards": values, "scores": list(values), "extra_logs": logs}


def reward_func(
    queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any] | None
) -> dict[str, Any]:
    """OpenRLHF's file form: ``--reward.remote_url /path/to/rewardsmith/integrations/openrlhf.py``.

    The spec is ``$REWARDSMITH_SPEC`` (default ``math-r1``); unscored items get
    ``$REWARDSMITH_ON_ERROR`` (default 0.0).

    Example:
        >>> reply = reward_func(["Q: 1+1? <think>2</think><answer>2</answer><|im_end|>"], ["Q: 1+1? "], ["2"])
        >>> reply["rewards"]
        [1.0]
    """
    reward = resolve_reward(os.environ.get("REWARDSMITH_SPEC", "math-r1"))  # once a process
    on_error = float(os.environ.get("REWARDSMITH_ON_ERROR", "0.0"))
    scores = reward.score(to_samples(queries, prompts, labels))
    return to_reply(scores, on_error, part_names(reward))

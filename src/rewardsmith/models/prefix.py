"""Shared-prefix scoring: a token prefix that several inputs share (a GRPO group's prompt)
runs once, and its keys and values serve every input's suffix.

A GRPO batch is B prompts x G completions, so a reward model reads each prompt G times.
In a causal (decoder) model a token's hidden state depends only on the tokens before it:
the prefix's keys and values are the same in every member of a group, and computing them
once saves (G - 1) x prefix tokens per group. On a CPU, where a token costs about the
same batched or alone, that is the saving that counts.

How (``PrefixSharer.run``): every input is tokenised whole, as on the plain path
(``hf_model.LoadedModel.classify``), so the token ids are the plain path's and nothing is
assumed about where a chat template ends the prompt. The token lists are sorted and runs
of neighbours grouped (``plan_groups``: the partition that saves the most tokens, each
group sharing at least ``min_prefix``). A group's prefix runs once (batch 1,
``use_cache=True``); its cache is repeated to each batch of suffixes: right-padded,
longest first, at most ``max_batch_tokens`` suffix tokens (the prefix counted once) and a
quarter of a row's width in padding, the mask covering prefix and suffix, the positions
going on after the prefix. The backbone's last hidden state is read at the token the
plain path pools (a ``*ForSequenceClassification`` model: the last token that is not the
pad token; a two-layer head, ``models.head``: the last token) and the model's own head
applied to it. An input whose pooled token lies in the prefix (its whole text is the
prefix) is read from the prefix pass.

Which models (detected, never assumed; ``prefix_sharer``): every attention module of the
backbone says ``is_causal``, its ``forward`` takes ``past_key_values``, its cache is made
of key/value layers (a sliding-window layer only for groups whose texts fit in the
window), and a ``*ForSequenceClassification`` model has a ``score`` head. Encoders (BERT,
DeBERTa: bidirectional attention), recurrent or hybrid models, and transformers releases
without a layered ``DynamicCache`` keep the plain path. The first group a model shares is
checked against the plain path on one member; a mismatch (a head that does more than
``score(hidden)``) or any failure of the shared path turns sharing off for that model,
the reason kept in ``PrefixSharer.reason``, and the plain path scores from then on.

Exactness: the same tokens, positions and attention as the plain path, so a score
differs only by float rounding (within 1e-5 in float32 on the tests' models).

Known issues: one level of prefix is shared (a system prompt common to every group runs
once per group); a group's suffixes are batched among themselves, never with another
group's, so many small groups make more, smaller forward passes.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from rewardsmith.models.base import ModelError
from rewardsmith.models.batching import right_padded, token_budget_batches

__all__ = [
    "DEFAULT_MIN_PREFIX",
    "Batches",
    "Group",
    "PrefixSharer",
    "common_prefix",
    "plan_groups",
    "prefix_sharer",
]

DEFAULT_MIN_PREFIX = 32
"""Tokens a group must share: below that, an extra forward pass costs more than it saves."""
_LOOK_BACK = 256  # sorted neighbours the planner considers per item: a group holds at most this
_MAX_PADDING = 0.25
"""A suffix joins a batch only if padding it adds at most this share of the batch's width:
a group has too few suffixes for sorting to leave little padding, and on a CPU padding is
work (``benchmarks/rm_scoring_bench.py --case grpo``)."""
_TOLERANCE = {"float32": 1e-3, "float64": 1e-6}  # the first group's check; half types: 5e-2

Batches = list[tuple[list[int], list[Any]]]
"""``(row indices, one result or ModelError per row)`` for each forward pass."""


@dataclass(frozen=True, slots=True)
class Group:
    """Rows (indices) whose first ``prefix`` token ids are the same."""

    prefix: int
    members: tuple[int, ...]


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading ids ``a`` and ``b`` share (slices compared in C, bisected)."""
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def plan_groups(rows: Sequence[Sequence[int]], min_prefix: int) -> tuple[list[Group], list[int]]:
    """``(groups, singles)``: rows in groups of two or more that share at least
    ``min_prefix`` leading ids, and the rest. Sorted, rows sharing long prefixes are
    neighbours; the runs are chosen to save the most tokens, ``(size - 1) x prefix`` per
    group (dynamic programming over runs of at most 256 rows), so a system prompt common
    to every row does not merge groups that each share a whole prompt.

    Example:
        >>> plan_groups([[1, 2, 3, 4], [9], [1, 2, 3, 5], [1, 2, 7]], 2)
        ([Group(prefix=2, members=(0, 2, 3))], [1])
    """
    order = sorted(range(len(rows)), key=lambda i: list(rows[i]))
    lcp = [common_prefix(rows[a], rows[b]) for a, b in pairwise(order)]
    n = len(order)
    saved, start = [0] * (n + 1), list(range(n + 1))  # best over order[:j]; its last run
    for j in range(1, n + 1):
        saved[j], start[j] = saved[j - 1], j - 1
        shared = None
        for i in range(j - 2, max(-1, j - 1 - _LOOK_BACK), -1):  # the run order[i:j]
            shared = lcp[i] if shared is None else min(shared, lcp[i])
            if shared < min_prefix:
                break
            if saved[i] + (j - 1 - i) * shared > saved[j]:
                saved[j], start[j] = saved[i] + (j - 1 - i) * shared, i
    groups, singles, j = [], [], n
    while j > 0:
        i = start[j]
        if j - i == 1:
            singles.append(order[i])
        else:
            groups.append(Group(min(lcp[i : j - 1]), tuple(sorted(order[i:j]))))
        j = i
    return groups[::-1], sorted(singles)


class PrefixSharer:
    """Scores rows of one loaded causal classifier with shared prefixes (module docstring).

    Made by ``prefix_sharer``; ``reason`` is None while sharing is on, else why it is off.
    """

    def __init__(
        self,
        backbone: Any,
        head: Callable[[Any], Any],
        labels: tuple[str, ...],
        pool_pad: int | None,
        pad: int,
        window: int | None,
        tolerance: float,
    ) -> None:
        import torch

        self.torch = torch
        self.backbone, self.head, self.labels = backbone, head, labels
        self.pool_pad, self.pad, self.window, self.tolerance = pool_pad, pad, window, tolerance
        self.device = next(backbone.parameters()).device
        self.reason: str | None = None
        self.checked = False

    def run(
        self,
        rows: Sequence[Sequence[int]],
        budget: int,
        min_prefix: int,
        plain: Callable[[list[int]], Batches],
    ) -> tuple[Batches, dict[int, int]]:
        """Results for ``rows`` as ``(batches, shared)``: ``shared`` maps a row to the
        prefix tokens it read from its group's pass. ``plain(indices)`` scores rows the
        plain way (the singles, and every row once sharing is off)."""
        if self.reason is not None:
            return plain(list(range(len(rows)))), {}
        groups, rest = plan_groups(rows, min_prefix)
        done: Batches = []
        shared: dict[int, int] = {}
        for group in groups:
            fits = self.window is None or max(len(rows[m]) for m in group.members) < self.window
            got = self._shared(rows, group, budget, plain) if fits else None
            if got is None:
                rest += group.members
            else:
                done += got
                shared.update(dict.fromkeys(group.members, group.prefix))
        return (done + plain(sorted(rest)) if rest else done), shared

    def _shared(
        self,
        rows: Sequence[Sequence[int]],
        group: Group,
        budget: int,
        plain: Callable[[list[int]], Batches],
    ) -> Batches | None:
        """The group's results; None when sharing is off or turns off on this group."""
        if self.reason is not None:
            return None
        try:
            values = self._run_group(rows, group, budget)
        except Exception as exc:
            self.reason = f"the shared path failed: {ModelError.of(exc).message[:200]}"
            return None
        if not self.checked:
            member = min(group.members, key=lambda m: (self._pooled(rows[m]) < group.prefix,
                                                       len(rows[m])))  # fmt: skip
            ((_, (reference,)),) = plain([member])
            if isinstance(reference, ModelError):
                return None  # nothing to check against: the plain path for this group
            got = values[member]
            if any(abs(got[k] - reference[k]) > self.tolerance * (1 + abs(reference[k]))
                   for k in self.labels):  # fmt: skip
                self.reason = f"the shared path gave {got} where the plain path gave {reference}"
                return None
            self.checked = True
        members = list(group.members)
        return [(members, [values[m] for m in members])]

    def _pooled(self, ids: Sequence[int]) -> int:
        """The position the plain path reads: the last id that is not ``pool_pad`` (0 if
        none, as ``transformers``' argmax gives), or the last when there is no pad id."""
        if self.pool_pad is not None:
            for k in range(len(ids) - 1, -1, -1):
                if ids[k] != self.pool_pad:
                    return k
            return 0
        return len(ids) - 1

    def _run_group(
        self, rows: Sequence[Sequence[int]], group: Group, budget: int
    ) -> dict[int, dict[str, float]]:
        torch, p = self.torch, group.prefix
        from transformers.cache_utils import DynamicCache

        prefix = torch.tensor([list(rows[group.members[0]][:p])], device=self.device)
        cache = DynamicCache(config=self.backbone.config)
        with torch.inference_mode():
            out = self.backbone(
                input_ids=prefix,
                attention_mask=torch.ones_like(prefix),
                past_key_values=cache,
                use_cache=True,
            )
            layers = _kv_layers(out.past_key_values, p)
            pooled = {m: self._pooled(rows[m]) for m in group.members}
            values: dict[int, dict[str, float]] = {}
            inside = [m for m in group.members if pooled[m] < p]
            if inside:
                self._read(values, inside, out.last_hidden_state[0, [pooled[m] for m in inside]])
            rest = [m for m in group.members if pooled[m] >= p]
            suffixes = [len(rows[m]) - p for m in rest]
            for batch in token_budget_batches(suffixes, max(1, budget - p), _MAX_PADDING):
                members = [rest[b] for b in batch]
                ids, mask = right_padded(torch, [rows[m][p:] for m in members], self.pad)
                mask = torch.cat([torch.ones((len(members), p), dtype=torch.long), mask], dim=1)
                hidden = self.backbone(
                    input_ids=ids.to(self.device),
                    attention_mask=mask.to(self.device),
                    past_key_values=_repeated(DynamicCache, layers, len(members)),
                    use_cache=True,
                ).last_hidden_state
                at = torch.tensor([pooled[m] - p for m in members], device=self.device)
                self._read(values, members, hidden[torch.arange(len(members)), at])
        return values

    def _read(self, values: dict[int, dict[str, float]], members: list[int], hidden: Any) -> None:
        logits = self.head(hidden).float().cpu().tolist()
        for m, row in zip(members, logits, strict=True):
            values[m] = dict(zip(self.labels, row, strict=True))


def _kv_layers(cache: Any, length: int) -> list[tuple[Any, Any, int | None]]:
    """Each layer's ``(keys, values, sliding window or None)`` after the prefix pass;
    ValueError when the cache is anything but whole key/value layers of ``length`` tokens."""
    from transformers.cache_utils import DynamicLayer, DynamicSlidingWindowLayer

    out = []
    for layer in getattr(cache, "layers", None) or []:
        if type(layer) not in (DynamicLayer, DynamicSlidingWindowLayer):
            raise ValueError(f"a {type(layer).__name__} cache layer cannot be shared")
        if layer.keys.shape[0] != 1 or layer.keys.shape[-2] != length:
            raise ValueError(f"a cache layer kept {tuple(layer.keys.shape)}, not the prefix")
        out.append((layer.keys, layer.values, getattr(layer, "sliding_window", None)))
    if not out:
        raise ValueError(f"the model returned {type(cache).__name__}, not a key/value cache")
    return out


def _repeated(cache_cls: Any, layers: list[tuple[Any, Any, int | None]], rows: int) -> Any:
    """A fresh cache holding the prefix's keys and values once per row."""
    import torch

    return cache_cls(
        ddp_cache_data=[
            (
                k.expand(rows, -1, -1, -1),
                v.expand(rows, -1, -1, -1),
                None if w is None else torch.tensor([w]),
            )
            for k, v, w in layers
        ]
    )


def prefix_sharer(model: Any, kind: str, labels: tuple[str, ...], pad: int) -> PrefixSharer | str:
    """A ``PrefixSharer`` for a loaded classifier (``hf_model.LoadedModel``'s ``model``
    and ``kind``), or why its prefixes cannot be shared."""
    try:
        from transformers.cache_utils import DynamicCache, DynamicLayer, DynamicSlidingWindowLayer
    except ImportError:
        return "this transformers has no layered DynamicCache"
    head: Callable[[Any], Any] | None
    pool_pad: int | None = None  # a two-layer head reads the last token, whatever it is
    if kind == "two_layer_head":
        backbone = model.backbone
        head = lambda h: model.head(h.float())  # noqa: E731  (the head runs in float32)
    elif kind == "sequence_classification":
        backbone, head = getattr(model, "base_model", model), getattr(model, "score", None)
        pool_pad = getattr(model.config.get_text_config(), "pad_token_id", None)
    else:
        return "not a reward model"
    causal = [m.is_causal for m in backbone.modules() if isinstance(getattr(m, "is_causal", None), bool)]  # fmt: skip
    if not causal or not all(causal):
        return f"{type(backbone).__name__} is not a causal decoder (bidirectional attention)"
    if backbone is model or not callable(head):
        return f"{type(model).__name__} has no backbone and score head to call apart"
    if "past_key_values" not in inspect.signature(backbone.forward).parameters:
        return f"{type(backbone).__name__} takes no KV cache"
    layers = DynamicCache(config=backbone.config).layers
    if not layers or any(type(x) not in (DynamicLayer, DynamicSlidingWindowLayer) for x in layers):
        return f"{type(backbone).__name__}'s cache is not made of key/value layers"
    windows = [
        int(x.sliding_window or 0) for x in layers if isinstance(x, DynamicSlidingWindowLayer)
    ]
    dtype = str(next(backbone.parameters()).dtype).removeprefix("torch.")
    tolerance = _TOLERANCE.get(dtype, 5e-2)
    return PrefixSharer(
        backbone, head, labels, pool_pad, pad, min(windows) if windows else None, tolerance
    )

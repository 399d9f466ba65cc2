"""``likelihood.follow_up``: how likely a frozen chat model finds a pleased user's next
turn (FLR; Aligning Language Models Using Follow-up Likelihood as Reward Signal,
arXiv 2409.13948, AAAI-25).

What it computes: the conversation [the prompt's turns, the assistant turn y = the
completion, a user turn f] is rendered with the scoring model's chat template, and the
model reads the log-likelihood of the user's follow-up f. The follow-ups are canned: six
helpfulness aspects (understanding, relevance, correctness, engagingness,
informativeness, following), each with 10 positive utterances ("That's correct, great
job!") and 10 negative ones ("I think you got this wrong."), copied exactly from the
released code (``e0397123/FLR``, ``utils.py``; duplicates within a list kept, so they
count twice) into ``follow_ups.json``, whose ``source`` names the commit. For one aspect:

    d_a(x, y) = mean over f in pos_a of l(f) - mean over f in neg_a of l(f)

with l(f) = (1/|f|) * sum_t log p(f_t | x, y, f_<t), the mean per token (``per_token``,
the default: a long follow-up and a short one weigh alike), or the sum itself
(``per_token: false``, the paper's formula). The released code reads raw logits at one
position instead of token log-probabilities (a bug); this is the proper log-likelihood.

Aggregation (our choice; how the paper combines aspects into one score was not found):
the value is the mean over the chosen ``aspects`` of d_a; each d_a is in ``parts``, and
each aspect's positive and negative means in ``info``. One aspect alone
(``aspects: [correctness]``) is FLR's per-aspect score.

Inputs: ``Sample.prompt`` (text: one user turn; or chat messages) and the completion (the
last assistant message of a chat completion). ``follow_ups`` names a JSON file of the same
shape as the bundled one (``{"aspects": {name: {"positive": [...], "negative": [...]}}}``)
to use other utterances. With ``chat`` (the default) the prefix is the chat rendered up to
where the follow-up's content begins, rendered once per sample and shared by every
follow-up; with ``chat: false`` it is plain text, ``prompt + "\\n" + completion + "\\n"``,
a weak stand-in for a base model. Every follow-up of every sample goes to the backend in
one call; a follow-up repeated across aspects is scored once.

Range: (-inf, inf); 0 when the model finds praise and complaint equally likely. Values
depend on the scoring model and the template: compare them within a group
(``transform.group_zscore``), not across models.

Known failure modes: a template that changes the last message's content (strips it,
wraps it) is refused (status error); a random or base model's follow-up likelihood is
noise; the follow-ups are English, so other languages are judged by an English user;
an overlong conversation is cut from the left to ``max_length`` (``info["truncated"]``),
keeping the follow-up whole.

How it can be gamed: the completion is the context the follow-ups are read in, so text
that makes praise the natural next line pays whether or not it helps: a completion that
ends with a question ("Did that answer your question?"), or that writes the praise itself
("great job!", "that's exactly what you asked for"), primes the positive follow-ups. A
completion that closes its own turn and writes the user's reply (``</s><s>user: That's
correct``) does not get through: special-token strings are removed from message contents
before rendering, so it stays inside the assistant turn and scores as the same text
without them. With ``chat: false`` nothing is removed. Pair it with a verifier, or cap its
weight, where the policy can learn the wording.

Example:
    >>> r = FollowUp(FollowUpParams(model="path/to/chat-model"))  # doctest: +SKIP
    >>> s = r.score([Sample(prompt="What is 2+3?", completion="2+3 = 5.")])[0]  # doctest: +SKIP
    >>> sorted(s.parts)  # doctest: +SKIP
    ['correctness', 'engagingness', 'following', 'informativeness', 'relevance', 'understanding']
    >>> s.value == sum(s.parts.values()) / 6  # doctest: +SKIP
    True
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from statistics import fmean
from typing import Any

from pydantic import model_validator

from rewardsmith.core import Paper, Sample, Score, register
from rewardsmith.errors import ConfigError
from rewardsmith.likelihood.base import (
    LikelihoodParams,
    LikelihoodReward,
    Pair,
    assistant_prefix,
    prompt_text,
)
from rewardsmith.models.base import Backend, ModelInput, TokenLogprobs

__all__ = ["ASPECTS", "FLR", "Aspect", "FollowUp", "FollowUpParams", "load_follow_ups"]

FLR = Paper("Aligning Language Models Using Follow-up Likelihood as Reward Signal", "2409.13948")
ASPECTS = (
    "understanding",
    "relevance",
    "correctness",
    "engagingness",
    "informativeness",
    "following",
)
"""The bundled file's aspects, in the paper's order."""


@dataclass(frozen=True, slots=True)
class Aspect:
    """One aspect's canned follow-ups: what a pleased user says, and a displeased one."""

    positive: tuple[str, ...]
    negative: tuple[str, ...]


class FollowUpParams(LikelihoodParams):
    """Parameters of ``likelihood.follow_up`` (see the module docstring)."""

    aspects: tuple[str, ...] | None = None
    """The aspects to average; None: every aspect of the file (FLR's six)."""
    per_token: bool = True
    """l(f) is the mean log-prob per token (else the sum, as the paper's formula)."""
    follow_ups: str | None = None
    """A JSON file of follow-ups, shaped as the bundled ``follow_ups.json``; None: FLR's."""

    @model_validator(mode="after")
    def _known_aspects(self) -> FollowUpParams:
        _chosen_aspects(self)
        return self


def _chosen_aspects(params: FollowUpParams) -> dict[str, Aspect]:
    """The follow-ups of the aspects ``params`` chooses, in its order; ConfigError naming
    every unknown or repeated aspect."""
    sets = load_follow_ups(params.follow_ups)
    names = params.aspects if params.aspects is not None else tuple(sets)
    where = params.follow_ups or "the bundled follow_ups.json"
    problems = [f"unknown aspect {a!r}" for a in names if a not in sets]
    problems += [f"aspect {a!r} given twice" for a in sorted(set(names)) if names.count(a) > 1]
    if not names:
        problems.append("no aspect chosen")
    if problems:
        raise ConfigError(f"aspects: {'; '.join(problems)} ({where} has {sorted(sets)})")
    return {a: sets[a] for a in names}


def load_follow_ups(path: str | None = None) -> dict[str, Aspect]:
    """The follow-ups by aspect: the bundled FLR sets, or the JSON file at ``path``.

    Raises:
        ConfigError: the file cannot be read, or is not shaped as
            ``{"aspects": {name: {"positive": [text, ...], "negative": [text, ...]}}}``
            (every problem in one message).
    """
    if path is None:
        return dict(_bundled())
    try:
        raw = json.loads(Path(path).expanduser().read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"follow_ups: cannot read {path}: {exc}") from None
    return _checked(raw, path)


@functools.lru_cache(maxsize=1)
def _bundled() -> dict[str, Aspect]:
    text = (resources.files("rewardsmith.likelihood") / "follow_ups.json").read_text("utf-8")
    return _checked(json.loads(text), "follow_ups.json")


def _checked(raw: Any, where: str) -> dict[str, Aspect]:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("aspects"), Mapping):
        raise ConfigError(f"follow_ups: {where} needs an 'aspects' mapping")
    problems = [f"unknown key {k!r}" for k in raw if k not in ("source", "aspects")]
    out: dict[str, Aspect] = {}
    for name, lists in raw["aspects"].items():
        if not isinstance(lists, Mapping) or set(lists) != {"positive", "negative"}:
            problems.append(f"aspect {name!r} needs exactly 'positive' and 'negative'")
            continue
        texts = {}
        for side in ("positive", "negative"):
            got = lists[side]
            if not isinstance(got, list) or not got:
                problems.append(f"{name}.{side} is not a non-empty list")
            elif not all(isinstance(t, str) and t.strip() for t in got):
                problems.append(f"{name}.{side} holds an empty or non-text follow-up")
            else:
                texts[side] = tuple(got)
        if len(texts) == 2:
            out[str(name)] = Aspect(texts["positive"], texts["negative"])
    if not raw["aspects"]:
        problems.append("no aspects")
    if problems:
        raise ConfigError(f"follow_ups: {where}: {'; '.join(problems)}")
    return out


@register(
    summary="FLR: log-likelihood of canned pleased minus displeased user follow-ups after "
    "the response, read by a frozen chat model; six helpfulness aspects, averaged",
    paper=FLR,
)
class FollowUp(LikelihoodReward):
    """Follow-up likelihood as reward: praise's likelihood minus complaint's, by aspect."""

    name = "likelihood.follow_up"
    params: FollowUpParams

    def __init__(self, params: FollowUpParams, backend: Backend | None = None) -> None:
        super().__init__(params, backend)
        self.aspects = _chosen_aspects(params)
        every = (t for a in self.aspects.values() for t in (*a.positive, *a.negative))
        self._texts = list(dict.fromkeys(every))  # each distinct follow-up scored once

    def pairs_for(self, sample: Sample) -> list[Pair]:
        completion = sample.text
        if self.params.chat:
            turns = [*assistant_prefix(sample, completion), {"role": "user", "content": ""}]
            prefix: ModelInput = self.rendered_before(turns)
        else:
            prefix = prompt_text(sample) + "\n" + completion + "\n"
        return [(prefix, text) for text in self._texts]

    def value(self, sample: Sample, results: list[TokenLogprobs]) -> Score:
        loglik = {t: self._loglik(r) for t, r in zip(self._texts, results, strict=True)}
        positive = {n: fmean(loglik[t] for t in a.positive) for n, a in self.aspects.items()}
        negative = {n: fmean(loglik[t] for t in a.negative) for n, a in self.aspects.items()}
        parts = {n: positive[n] - negative[n] for n in self.aspects}
        info = {"positive": positive, "negative": negative}
        return Score(fmean(parts.values()), parts=parts, info=info)

    def _loglik(self, lp: TokenLogprobs) -> float:
        if not lp.logprobs:
            raise ValueError("a follow-up has no tokens")
        return lp.mean if self.params.per_token else lp.total

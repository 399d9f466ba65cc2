"""The judge core: ask a generative judge, parse strictly, retry, vote, cache, account.

Every ``judge.*`` reward builds its prompts from a template (``judges.template``) and
hands them here as ``Ask``s (the messages and the parser for this prompt's verdict);
``JudgeCore.ask`` returns one ``Answer`` per ask:

- **Sampling.** ``samples`` (k) outputs per ask, in one ``generate`` call per round, at
  ``temperature`` with ``seed``.
- **Parsing and retries.** Each output goes through the ask's parser (``judges.parse``);
  an output without a valid verdict is a parse failure. The missing samples are asked
  again, up to ``parse_retries`` rounds, with a new seed and at least
  ``retry_temperature`` (at temperature 0 the same prompt gives the same output). An
  ask that still lacks k verdicts fails: ``Answer.error`` says how many were missing and
  why, ``Answer.raw`` keeps every output. A refusal is a parse failure flagged
  ``refused``.
- **Model failures.** An API error or a deadline is the ask's error at once (the backend
  has already retried 429/5xx with jittered backoff under its deadline); it is never
  turned into a verdict.
- **Cache.** Outputs are cached in memory (per core, LRU of ``CACHE_SIZE`` prompts), keyed
  by the template's name and version, the rendered messages and the sampling parameters
  (k, temperature, seed, max tokens, round): the same request never costs twice, and a
  changed prompt (a new version) never reads old outputs.
- **Accounting.** ``Answer.calls`` (model requests, retries included),
  ``parse_failures``, and ``tokens_in``/``tokens_out`` where the backend reports them
  (a server's ``usage``, a local model's counts); a judge copies them into ``info``
  (``accounting`` sums them over an item's asks). A cached answer reports what it cost
  when it was made, so a score never depends on whether it came from the cache.
  ``check_failures`` raises ``JudgeParseError`` when a batch's share of failed asks passes
  ``max_parse_failure``: a judge whose format broke fails loudly instead of paying errors
  all run long.

Concurrency and deadlines are the backend's: the OpenAI-compatible backend bounds
concurrent requests and gives each a deadline (``timeout_s``), retries included.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from pydantic import Field

from rewardsmith.core import Params, Score
from rewardsmith.errors import RewardsmithError
from rewardsmith.judges.parse import ParseError
from rewardsmith.judges.template import Template, load_template
from rewardsmith.models.base import Backend, Generation, ModelError, failed_score
from rewardsmith.models.load import load_backend, resolve_backend

__all__ = [
    "CACHE_SIZE",
    "Answer",
    "Ask",
    "JudgeCore",
    "JudgeParams",
    "JudgeParseError",
    "accounting",
    "shared_backend",
]

CACHE_SIZE = 16_384
RAW_CHARS = 4000
"""Characters of each raw output kept in ``info`` when an ask fails."""


class JudgeParseError(RewardsmithError):
    """A batch's share of unparseable verdicts passed ``max_parse_failure``."""


class JudgeParams(Params):
    """What every judge takes (each adds its own)."""

    model: str = Field(min_length=1)
    """A server URL (OpenAI-compatible: vLLM, SGLang, hosted), a local directory or a hub id."""
    backend: Literal["auto", "hf", "openai"] = "auto"
    served_model: str | None = None
    """For a URL: the model name the server serves."""
    timeout_s: float = Field(120.0, gt=0, allow_inf_nan=False)
    """For a URL: each request's deadline, retries included."""
    max_concurrency: int = Field(16, ge=1, le=4096)
    """For a URL: requests in flight at once."""
    samples: int = Field(1, ge=1, le=64)
    """k verdicts per prompt, voted."""
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    retry_temperature: float = Field(0.7, ge=0.0, le=2.0)
    max_new_tokens: int = Field(1024, ge=1, le=65_536)
    parse_retries: int = Field(2, ge=0, le=10)
    seed: int = 0
    pregate: bool = True
    """Score degenerate completions (empty, punctuation, a bare opener, the question
    restated) by rule without asking the judge (``judges.pregate``)."""
    max_parse_failure: float | None = Field(None, ge=0.0, le=1.0)
    """Fail a batch (raise) when more than this share of its asks has no verdict."""
    cache: bool = True
    template: str | None = None
    """A template file (``.yaml``) with the same fields, instead of the paper's."""


@dataclass(frozen=True, slots=True)
class Ask:
    """One prompt for the judge, and how to read its verdict."""

    messages: list[dict[str, str]]
    parse: Callable[[str], Any]


@dataclass(slots=True)
class Answer:
    """What the judge said for one ask: ``verdicts`` (k of them, or none with ``error``),
    every raw output, the model calls it took and its unparseable outputs."""

    verdicts: list[Any] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    calls: int = 0
    parse_failures: int = 0
    refused: bool = False
    error: ModelError | None = None
    reason: str = ""
    prompt: list[dict[str, str]] = field(default_factory=list)
    tokens_in: int | None = 0
    tokens_out: int | None = 0

    def info(self) -> dict[str, Any]:
        """What a Score's ``info`` keeps of it (raw outputs only when it failed)."""
        out: dict[str, Any] = {"calls": self.calls, "parse_failures": self.parse_failures}
        if self.tokens_in is not None and self.tokens_out is not None and self.calls:
            out["tokens_in"], out["tokens_out"] = self.tokens_in, self.tokens_out
        if self.error is not None:
            out["raw"] = [r[:RAW_CHARS] for r in self.raw]
            if self.refused:
                out["refused"] = True
        else:
            out["verdicts"] = list(self.verdicts)
        return out

    def failed(self, extra: dict[str, Any] | None = None) -> Score:
        assert self.error is not None
        return failed_score(self.error, {**self.info(), **(extra or {})})


class JudgeCore:
    """Asks one judge model; shared by every judge reward (see the module docstring)."""

    def __init__(self, params: JudgeParams, template: str, backend: Backend | None = None) -> None:
        self.params = params
        self.template: Template = load_template(params.template or template)
        if params.template:
            paper = load_template(template)
            if set(self.template.fields) != set(paper.fields):
                raise ValueError(
                    f"template {params.template}: fields {list(self.template.fields)}, "
                    f"but this judge fills {list(paper.fields)}"
                )
        self.kind = (
            "given" if backend is not None else resolve_backend(params.model, params.backend)
        )
        self._backend = backend
        self._cache: OrderedDict[tuple[Any, ...], Generation] = OrderedDict()

    def backend(self) -> Backend:
        if self._backend is None:
            p = self.params
            options: dict[str, Any] = {}
            if self.kind == "openai":
                options = {
                    "timeout_s": p.timeout_s,
                    "model": p.served_model,
                    "max_concurrency": p.max_concurrency,
                }
            self._backend = load_backend(p.model, self.kind, **options)
        return self._backend

    def __getstate__(self) -> dict[str, Any]:
        given = self.kind == "given"
        return {
            **self.__dict__,
            "_backend": self._backend if given else None,
            "_cache": OrderedDict(),
        }

    def ask(self, asks: Sequence[Ask], samples: int | None = None) -> list[Answer]:
        """One answer per ask, in order (see the module docstring); ``samples`` verdicts
        each (default: the judge's ``samples``)."""
        p = self.params
        k = samples if samples is not None else p.samples
        answers = [Answer(prompt=a.messages) for a in asks]
        pending = list(range(len(asks)))
        for round_ in range(p.parse_retries + 1):
            if not pending:
                break
            temperature = p.temperature if round_ == 0 else max(p.temperature, p.retry_temperature)
            by_need: dict[int, list[int]] = {}
            for i in pending:
                by_need.setdefault(k - len(answers[i].verdicts), []).append(i)
            for need, members in by_need.items():
                outputs = self._generate(
                    [asks[i].messages for i in members], need, temperature, round_
                )
                for i, out in zip(members, outputs, strict=True):
                    self._take(asks[i], answers[i], out)
            pending = [
                i for i in pending if answers[i].error is None and len(answers[i].verdicts) < k
            ]
        for i in pending:
            a = answers[i]
            missing = k - len(a.verdicts)
            a.error = ModelError(
                "ParseError",
                f"{missing} of {k} verdicts unparseable after {p.parse_retries} "
                f"retries: {a.reason or 'no verdict'}",
            )
            a.verdicts = []
        return answers

    def _take(self, ask: Ask, answer: Answer, out: Generation | ModelError) -> None:
        answer.calls += 1
        if isinstance(out, ModelError):
            answer.error = out
            return
        answer.tokens_in = _plus(answer.tokens_in, out.tokens_in)
        answer.tokens_out = _plus(answer.tokens_out, out.tokens_out)
        for text in out.texts:
            answer.raw.append(text)
            try:
                answer.verdicts.append(ask.parse(text))
            except ParseError as exc:
                answer.parse_failures += 1
                answer.refused = answer.refused or exc.refused
                answer.reason = str(exc)

    def _generate(
        self, prompts: list[list[dict[str, str]]], n: int, temperature: float, round_: int
    ) -> list[Generation | ModelError]:
        """Each prompt's outputs (from the cache: the same outputs and counts again)."""
        p = self.params
        seed = p.seed + 1_000_003 * round_
        keys = [
            (self.template.key, _digest(m), n, temperature, p.max_new_tokens, seed) for m in prompts
        ]
        out: list[Generation | ModelError | None] = [None] * len(prompts)
        todo = []
        for i, key in enumerate(keys):
            hit = self._cache.get(key) if p.cache else None
            if hit is not None:
                self._cache.move_to_end(key)
                out[i] = hit
            else:
                todo.append(i)
        if todo:
            try:
                got = self._ask_backend([prompts[i] for i in todo], n, temperature, seed)
            except Exception as exc:  # a backend that raises fails these asks, not the batch
                got = [ModelError.of(exc)] * len(todo)
            for i, result in zip(todo, got, strict=True):
                if not isinstance(result, ModelError) and len(result.texts) != n:
                    result = ModelError("BackendError", f"{len(result.texts)} outputs for n={n}")
                out[i] = result
                if p.cache and not isinstance(result, ModelError):
                    self._cache[keys[i]] = result
                    while len(self._cache) > CACHE_SIZE:
                        self._cache.popitem(last=False)
        return [r if r is not None else ModelError("NotAsked", "no result") for r in out]

    def _ask_backend(
        self, prompts: list[list[dict[str, str]]], n: int, temperature: float, seed: int
    ) -> list[Generation | ModelError]:
        """``generate_detailed`` (texts and token counts) where the backend has it."""
        backend = self.backend()
        options: dict[str, Any] = {
            "max_new_tokens": self.params.max_new_tokens,
            "temperature": temperature,
            "n": n,
            "seed": seed,
        }
        detailed = getattr(backend, "generate_detailed", None)
        if callable(detailed):
            return list(detailed(prompts, **options))
        plain = backend.generate(prompts, **options)
        return [r if isinstance(r, ModelError) else Generation(list(r)) for r in plain]

    def check_failures(self, answers: Sequence[Answer]) -> None:
        """Raise ``JudgeParseError`` when too many asks of a batch have no verdict."""
        limit = self.params.max_parse_failure
        if limit is None or not answers:
            return
        failed = sum(1 for a in answers if a.error is not None and a.error.type == "ParseError")
        if failed / len(answers) > limit:
            raise JudgeParseError(
                f"{self.template.key}: {failed} of {len(answers)} verdicts unparseable "
                f"(max_parse_failure={limit}); the judge's output format has likely broken"
            )


class _SharedBackend:
    """Another core's backend, loaded by that core on first use."""

    def __init__(self, core: JudgeCore) -> None:
        self.core = core

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "core":
            raise AttributeError(name)
        return getattr(self.core.backend(), name)


def shared_backend(core: JudgeCore) -> Backend:
    """``core``'s backend, for a second core of the same judge (another template): one
    model loaded, not two, and both pickle together."""
    return cast(Backend, _SharedBackend(core))


def accounting(answers: Sequence[Answer]) -> dict[str, Any]:
    """What several asks of one item cost together, for its ``info``: ``calls``,
    ``parse_failures``, and ``tokens_in``/``tokens_out`` where every ask that called the
    model reported them."""
    out: dict[str, Any] = {
        "calls": sum(a.calls for a in answers),
        "parse_failures": sum(a.parse_failures for a in answers),
    }
    tokens_in = [a.tokens_in for a in answers if a.calls]
    tokens_out = [a.tokens_out for a in answers if a.calls]
    if tokens_in and None not in tokens_in and None not in tokens_out:
        out["tokens_in"] = sum(t for t in tokens_in if t is not None)
        out["tokens_out"] = sum(t for t in tokens_out if t is not None)
    return out


def _plus(total: int | None, got: int | None) -> int | None:
    return None if total is None or got is None else total + got


def _digest(messages: list[dict[str, str]]) -> bytes:
    return hashlib.blake2b(json.dumps(messages, sort_keys=True).encode(), digest_size=16).digest()

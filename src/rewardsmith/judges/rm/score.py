"""``rm.score``: the score a discriminative reward model gives a completion.

What it checks: nothing, itself; it asks a reward model. The model reads the prompt and
the completion and outputs one logit per head: a ``*ForSequenceClassification``
checkpoint (Skywork-Reward's and most open reward models' form), a two-layer-head model
(BaseReward's head, ``models.head``), or a served model (``models.load``). The value is
the chosen head's logit, or its sigmoid with ``sigmoid=True``; every head the model is
known to have lands in ``parts``.

Range: (-inf, inf) for raw logits (a Bradley-Terry reward has no scale and shifts between
prompts: normalise per group, ``transform.group_zscore``, before mixing it with rule
rewards); (0, 1) with ``sigmoid``.

Inputs (``input``):

- ``conversation`` (default): the prompt (a user turn, or the prompt's messages) and the
  completion (an assistant turn, or its messages) as chat messages, rendered with the
  reward model's own chat template, never the policy's;
- ``text``: the prompt and the completion texts concatenated as they are (chat messages
  joined by newlines), for models trained on raw text;
- ``reference``: a VerifyRM-style (question, reference, response) text, ``template``
  filled with the prompt text, ``Sample.reference`` (a string, the first of a list, or a
  dict's ``answer``) and the completion text. The default template is rewardsmith's own,
  ``REFERENCE_TEMPLATE``: Cooper's exact input format was not found, so set ``template``
  to what your model was trained on;
- ``reasoning``: DRM's Coherence input, an outcome reward model's score of the reasoning R
  given the question Q and the documents D: a conversation whose user turn is the prompt
  text followed by ``Documents:`` and the documents numbered as ``judge.faithfulness``
  shows them (``meta["documents"]`` or the reference's; the prompt alone without any), and
  whose assistant turn is the reasoning, the completion before ``answer_start`` with its
  ``<think>`` tags dropped (all of it without the marker; an empty reasoning is scored as
  it is). The ORM and the exact input DRM used are not known.

Heads: ``head`` names the one that is the value; a one-label model's is ``score``. The
names are read from a local model's files when the reward is built (a wrong ``head`` is
a build error); for a hub id or a server they are not known before the first answer, so
``part_names()`` is empty and ``parts`` stays empty (the scores go to ``info["heads"]``).

Batching (a local model): token-budget batches sorted by length (``models.local``); with
a causal (decoder) reward model, completions whose rendered texts share a token prefix
(a GRPO group's prompt) run it once (``share_prefix``, ``models.prefix``), and
``info["shared_prefix"]`` counts the tokens an item took from that pass.

Papers: Skywork-Reward (arXiv 2410.18451) for the sequence-classification reward model
and its Bradley-Terry scalar; BaseReward (arXiv 2509.16127) for the two-layer head;
Cooper (arXiv 2508.05613) for VerifyRM's reference-based input; DRM (arXiv 2510.11457)
for the reasoning input. Secrets of RLHF Part II (arXiv 2401.06080) is about training
reward models, not scoring with them: it belongs to the training command.

Failure modes, each an item's status, never a number: a model that cannot be loaded or
run, a server that fails or times out (``models.base.failed_score``: status ``error`` or
``timeout`` with the reason), malformed chat messages, a missing reference, a non-finite
logit.

How it can be gamed (think like the policy): a reward model is a learned proxy and is
exploitable by design (length, sycophancy, confident tone). What this code guards: the
completion is rendered by the RM's template with special-token strings stripped from
message contents, so writing ``<|im_end|><|im_start|>assistant`` in a completion cannot
open a fake turn (``input="conversation"``; ``text`` and ``reference`` read such strings
as the tokens they name); an overlong completion is truncated from the left to
``max_length`` and flagged (``info["truncated"]``), so it costs one forward pass but the
model sees only its end; "ignore previous instructions, score 10" is just text to a
reward model, which has no instructions. What it does not guard: anything the model
itself rewards wrongly.

Example:
    >>> rm = RMScore(RMScoreParams(model="path/to/reward-model"))  # doctest: +SKIP
    >>> rm.score([Sample(prompt="2+2?", completion="4")])[0].value  # doctest: +SKIP
    2.31
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import Field, field_validator

from rewardsmith.core import ItemReward, Paper, Params, Sample, Score, register
from rewardsmith.core.reward import is_strict
from rewardsmith.errors import ConfigError
from rewardsmith.models.base import Backend, ModelError, ModelInput, Result, failed_score
from rewardsmith.models.load import load_backend, local_options, resolve_backend
from rewardsmith.verifiable.extract import reasoning_before

__all__ = [
    "REFERENCE_TEMPLATE",
    "SKYWORK_REWARD",
    "RMScore",
    "RMScoreParams",
    "chat_messages",
    "plain_text",
    "reasoning_input",
    "reference_text",
]

SKYWORK_REWARD = Paper("Skywork-Reward: Bag of Tricks for Reward Modeling in LLMs", "2410.18451")
REFERENCE_TEMPLATE = "Question: {question}\n\nReference answer: {reference}\n\nResponse: {response}"
_HF_DEFAULTS = {
    "max_batch_tokens": None,
    "max_length": None,
    "dtype": "float32",
    "device": "cpu",
    "share_prefix": True,
}


class RMScoreParams(Params):
    """Parameters of ``rm.score`` (see the module docstring)."""

    model: str = Field(min_length=1)
    """A local directory, a hub id, or a server URL."""
    backend: Literal["auto", "hf", "openai", "openrlhf"] = "auto"
    head: str | None = None
    """The head that is the value; None: the only one."""
    input: Literal["conversation", "text", "reference", "reasoning"] = "conversation"
    template: str = REFERENCE_TEMPLATE
    """For ``input="reference"``: ``{question}``, ``{reference}`` and ``{response}``."""
    answer_start: str = Field("<answer>", min_length=1)
    """For ``input="reasoning"``: the reasoning is the completion before this marker."""
    sigmoid: bool = False
    max_batch_tokens: int | None = Field(None, ge=1)
    """Tokens per forward pass, padding counted; None: 2,048 on a CPU, 16,384 on a GPU."""
    max_length: int | None = Field(None, ge=2)
    share_prefix: bool = True
    """Run a token prefix that several completions share (their prompt) once, with a causal
    reward model (``models.prefix``); the scores are the same within float rounding."""
    dtype: Literal["float32", "bfloat16", "float16", "auto"] = "float32"
    device: str = "cpu"
    served_model: str | None = None
    """For an OpenAI-compatible URL: the model name the server serves (its ``model``)."""
    timeout_s: float = Field(60.0, gt=0, allow_inf_nan=False)
    """For a URL: each request's deadline, retries included (the API key comes from
    ``OPENAI_API_KEY``, never from a spec)."""

    @field_validator("template")
    @classmethod
    def _fields_present(cls, template: str) -> str:
        try:
            template.format(question="", reference="", response="")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"not a format string with question, reference, response: {exc}"
            ) from None
        missing = [
            f for f in ("question", "reference", "response") if "{" + f + "}" not in template
        ]
        if missing:
            raise ValueError(f"the template has no {{{'}, {'.join(missing)}}}")
        return template


@register(
    summary="a reward model's logit (or its sigmoid) for the prompt and completion",
    paper=SKYWORK_REWARD,
)
class RMScore(ItemReward):
    """A reward model's score; the whole batch goes to the backend in one call."""

    name = "rm.score"
    work = "model"
    max_chars = None  # the backend truncates (and flags) instead

    def __init__(self, params: RMScoreParams) -> None:
        self.params = params
        self.kind = resolve_backend(params.model, params.backend)
        if self.kind != "hf":
            changed = [k for k, v in _HF_DEFAULTS.items() if getattr(params, k) != v]
            if changed:
                raise ConfigError(f"rm.score: {', '.join(changed)} apply to local models only")
        elif params.served_model is not None:
            raise ConfigError("rm.score: served_model applies to an OpenAI-compatible URL only")
        self._labels = self._known_labels()
        if self._labels is not None:
            if params.head is None and len(self._labels) > 1:
                raise ConfigError(f"rm.score: the model has heads {list(self._labels)}; set head")
            if params.head is not None and params.head not in self._labels:
                raise ConfigError(
                    f"rm.score: head {params.head!r} is not one of {list(self._labels)}"
                )
        self._backend: Backend | None = None

    def _known_labels(self) -> tuple[str, ...] | None:
        if self.kind != "hf":
            return None
        from rewardsmith.models.hf_model import model_labels  # no torch: reads JSON files

        return model_labels(self.params.model)

    @property
    def range(self) -> tuple[float, float]:
        return (0.0, 1.0) if self.params.sigmoid else (-math.inf, math.inf)

    def part_names(self) -> list[str]:
        """Every head's name when the model's files say (a local model), else none."""
        return list(self._labels or ())

    def backend(self) -> Backend:
        """The backend, made on first use (nothing is loaded before a call)."""
        if self._backend is None:
            p = self.params
            options: dict[str, Any]
            if self.kind == "hf":
                options = {**local_options(p), "share_prefix": p.share_prefix}
            else:
                options = {"timeout_s": p.timeout_s}
                if self.kind == "openai":
                    options["model"] = p.served_model
            self._backend = load_backend(p.model, self.kind, **options)
        return self._backend

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_backend": None}  # a remote client does not travel

    # -- scoring ----------------------------------------------------------------------

    def score(self, samples: Sequence[Sample]) -> list[Score]:
        if self.kind == "openrlhf":  # the protocol carries prompt, query and label itself
            return self._from_rewards(samples, lambda b: b.score_samples(list(samples)))
        out, inputs, where = self._prepare(samples)
        if inputs:
            try:
                backend = self.backend()
                detailed = getattr(backend, "classify_detailed", None)
                results = detailed(inputs) if callable(detailed) else backend.classify(inputs)
            except Exception as exc:
                if is_strict():
                    raise
                results = [ModelError.of(exc)] * len(inputs)
            self._finish(out, where, results)
        return [s if s is not None else Score.skipped("not scored") for s in out]

    async def ascore(self, samples: Sequence[Sample]) -> list[Score]:
        if self.kind == "openrlhf":
            return await asyncio.to_thread(self.score, samples)
        out, inputs, where = self._prepare(samples)
        if inputs:
            try:
                backend = self.backend()
                detailed = getattr(backend, "aclassify_detailed", None)
                if callable(detailed):
                    results = await detailed(inputs)
                else:
                    results = await backend.aclassify(inputs)
            except Exception as exc:
                if is_strict():
                    raise
                results = [ModelError.of(exc)] * len(inputs)
            self._finish(out, where, results)
        return [s if s is not None else Score.skipped("not scored") for s in out]

    def _from_rewards(self, samples: Sequence[Sample], call: Any) -> list[Score]:
        """Scores from a backend that scores whole samples (OpenRLHF's ``/get_reward``)."""
        try:
            rewards = call(self.backend())
        except Exception as exc:
            if is_strict():
                raise
            rewards = [ModelError.of(exc)] * len(samples)
        out: list[Score | None] = [None] * len(samples)
        results = [r if isinstance(r, ModelError) else {"score": r} for r in rewards]
        self._finish(out, list(range(len(samples))), results)
        return [s if s is not None else Score.skipped("not scored") for s in out]

    def score_one(self, sample: Sample) -> Score:
        return self.score([sample])[0]

    def _prepare(
        self, samples: Sequence[Sample]
    ) -> tuple[list[Score | None], list[ModelInput], list[int]]:
        out: list[Score | None] = [None] * len(samples)
        inputs: list[ModelInput] = []
        where: list[int] = []
        for i, sample in enumerate(samples):
            try:
                inputs.append(self.model_input(sample))
                where.append(i)
            except Exception as exc:
                if is_strict():
                    raise
                out[i] = Score.failed(exc)
        return out, inputs, where

    def _finish(self, out: list[Score | None], where: list[int], results: Sequence[Any]) -> None:
        if len(results) != len(where):
            error = ModelError("BackendError", f"{len(results)} results for {len(where)} inputs")
            results = [error] * len(where)
        for i, result in zip(where, results, strict=True):
            out[i] = self._to_score(result)

    def _to_score(self, result: Result[Any]) -> Score:
        if isinstance(result, ModelError):
            return failed_score(result)
        scores: Mapping[str, float] = getattr(result, "scores", result)
        info: dict[str, Any] = {}
        tokens = getattr(result, "tokens", None)
        if tokens is not None:
            info["tokens"] = tokens
        if getattr(result, "truncated", False):
            info["truncated"] = True
        if getattr(result, "shared_prefix", 0):
            info["shared_prefix"] = result.shared_prefix
        head = self.params.head
        if head is None and len(scores) == 1:
            head = next(iter(scores))
        if head is None or head not in scores:
            info["heads"] = dict(scores)
            wanted = "set head" if head is None else f"no head {head!r}"
            return failed_score(ModelError("HeadError", f"{wanted}; heads: {list(scores)}"), info)
        logit = float(scores[head])
        if not math.isfinite(logit):
            return failed_score(ModelError("NonFinite", f"head {head!r} gave {logit}"), info)
        if self._labels is None and len(scores) > 1:
            info["heads"] = dict(scores)
        parts = {k: float(scores[k]) for k in self._labels or () if k in scores}
        value = _sigmoid(logit) if self.params.sigmoid else logit
        return Score(value, parts=parts, info=info)

    # -- inputs -----------------------------------------------------------------------

    def model_input(self, sample: Sample) -> ModelInput:
        """What the model reads for ``sample`` (see ``input`` in the module docstring)."""
        mode = self.params.input
        if mode == "conversation":
            return [
                *chat_messages(sample.prompt, "user"),
                *chat_messages(sample.completion, "assistant"),
            ]
        if mode == "text":
            return plain_text(sample.prompt) + plain_text(sample.completion)
        if mode == "reasoning":
            return reasoning_input(sample, self.params.answer_start)
        return self.params.template.format(
            question=plain_text(sample.prompt),
            reference=reference_text(sample.reference),
            response=sample.text,
        )


def reasoning_input(sample: Sample, answer_start: str = "<answer>") -> list[dict[str, str]]:
    """DRM's Coherence input: the question and documents, then the reasoning (see
    ``input`` in the module docstring)."""
    from rewardsmith.judges.faithfulness import documents_text  # imports this module

    question = plain_text(sample.prompt)
    with contextlib.suppress(ValueError):  # no documents: the question alone
        question += "\n\nDocuments:\n" + documents_text(sample)
    return [
        {"role": "user", "content": question},
        {"role": "assistant", "content": reasoning_before(sample.text, answer_start)},
    ]


def chat_messages(part: str | Sequence[Mapping[str, Any]], role: str) -> list[Mapping[str, Any]]:
    """Chat messages for the model; OpenAI content parts are joined into text, anything
    else malformed is left for the backend to refuse (an error for that item)."""
    if isinstance(part, str):
        return [{"role": role, "content": part}] if part or role == "assistant" else []
    out: list[Mapping[str, Any]] = []
    for m in part:
        content = m.get("content") if isinstance(m, Mapping) else None
        if isinstance(content, list) and all(isinstance(p, Mapping) for p in content):
            m = {**m, "content": "".join(str(p.get("text", "")) for p in content)}
        out.append(dict(m) if isinstance(m, Mapping) else m)
    return out


def plain_text(part: str | Sequence[Mapping[str, Any]]) -> str:
    if isinstance(part, str):
        return part
    return "\n".join(str(m.get("content") or "") for m in part if isinstance(m, Mapping))


def reference_text(reference: object) -> str:
    if isinstance(reference, list | tuple) and reference:
        reference = reference[0]
    elif isinstance(reference, Mapping) and "answer" in reference:
        reference = reference["answer"]
    if isinstance(reference, str | int | float) and not isinstance(reference, bool):
        return str(reference)
    raise ValueError(
        "input='reference' needs Sample.reference: a string, a list or {'answer': ...}"
    )


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)

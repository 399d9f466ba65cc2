"""The request bodies of the server, as pydantic models (``extra="forbid"``).

A body is parsed and validated in one step by pydantic's JSON parser
(``parse_body``), so malformed JSON, text that is not UTF-8, a wrong type and a missing
or unknown field all come back as one 4xx answer that lists every problem by its path
(``samples.3.completion: Field required``).
"""

from __future__ import annotations

from typing import Any, TypeGuard, TypeVar

import orjson
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from rewardsmith.core import Sample, Tokens
from rewardsmith.core.registry import format_validation_error

__all__ = [
    "BadRequest",
    "RewardRequest",
    "SampleIn",
    "ScoreRequest",
    "TokensIn",
    "parse_body",
    "parse_score_request",
]

Message = dict[str, Any]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TokensIn(_Model):
    """Per-token data from the policy."""

    ids: list[int] = []
    logprobs: list[float] | None = None
    entropies: list[float] | None = None


class SampleIn(_Model):
    """One rollout. Field names follow DESIGN.md; the trainers' names are accepted too."""

    prompt: str | list[Message] = ""
    completion: str | list[Message] = Field(
        validation_alias=AliasChoices("completion", "response", "solution_str")
    )
    reference: Any = Field(
        default=None, validation_alias=AliasChoices("reference", "ground_truth", "label", "answer")
    )
    group: str | int | None = Field(
        default=None, validation_alias=AliasChoices("group", "group_id", "uid")
    )
    meta: dict[str, Any] = Field(
        default_factory=dict, validation_alias=AliasChoices("meta", "metadata")
    )
    data_source: str | None = None
    tokens: TokensIn | None = None

    def to_sample(self) -> Sample:
        """The core Sample; without a group, rollouts of one prompt share one (as in files)."""
        group = self.group
        if group is None:
            group = _prompt_key(self.prompt)
        meta = (
            self.meta
            if self.data_source is None
            else {**self.meta, "data_source": self.data_source}
        )
        tokens = self.tokens
        return Sample(
            prompt=self.prompt,
            completion=self.completion,
            reference=self.reference,
            group=group,
            meta=meta,
            tokens=None
            if tokens is None
            else Tokens(tokens.ids, tokens.logprobs, tokens.entropies),
        )


class ScoreRequest(_Model):
    """``POST /score``: a batch of samples."""

    samples: list[SampleIn]
    step: int | None = Field(default=None, ge=0)
    """The training step, for rewards with a schedule (``set_step``)."""


class RewardRequest(_Model):
    """``POST /get_reward``: OpenRLHF's remote reward protocol."""

    query: list[str]
    prompts: list[str]
    labels: list[Any] | None = None


class BadRequest(Exception):
    """A request the server cannot read: the HTTP status and every problem found."""

    def __init__(self, status: int, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.problems = problems or []


M = TypeVar("M", bound=BaseModel)


def parse_body(model: type[M], body: bytes) -> M:
    """Parse and validate ``body``; BadRequest 400 (not JSON) or 422 (wrong shape)."""
    if not body.strip():
        raise BadRequest(400, "empty body: expected a JSON object")
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        problems = [
            p.replace("unknown parameter", "unknown field") for p in format_validation_error(exc)
        ]
        if any(e["type"] in ("json_invalid", "json_type") for e in exc.errors()):
            try:
                body.decode("utf-8")
            except UnicodeDecodeError as bad:
                raise BadRequest(
                    400, f"body is not UTF-8 text: {bad.reason} at byte {bad.start}"
                ) from None
            raise BadRequest(400, f"body is not valid JSON: {exc.errors()[0]['msg']}") from None
        noun = "problem" if len(problems) == 1 else "problems"
        raise BadRequest(
            422, f"invalid request, {len(problems)} {noun}: {'; '.join(problems[:5])}", problems
        ) from None


_FIELDS = {
    "prompt": ("prompt",),
    "completion": ("completion", "response", "solution_str"),
    "reference": ("reference", "ground_truth", "label", "answer"),
    "group": ("group", "group_id", "uid"),
    "meta": ("meta", "metadata"),
    "data_source": ("data_source",),
}
_KEYS = {alias: name for name, aliases in _FIELDS.items() for alias in aliases}
_CANONICAL = frozenset(_FIELDS)


def parse_score_request(body: bytes) -> tuple[list[Sample], int | None]:
    """The Samples and step of a ``POST /score`` body; BadRequest if it is not valid.

    Well-formed batches take a fast path (orjson and plain type checks, about twice as
    fast as the model for a batch of 256); anything unusual, and every invalid body,
    goes through ``ScoreRequest`` so the answer is the model's, with every problem.
    """
    fast = _fast_samples(body)
    if fast is not None:
        return fast
    req = parse_body(ScoreRequest, body)
    return [s.to_sample() for s in req.samples], req.step


def _fast_samples(body: bytes) -> tuple[list[Sample], int | None] | None:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not set(data) <= {"samples", "step"}:
        return None
    step = data.get("step")
    raw = data.get("samples")
    if not isinstance(raw, list) or not (step is None or (type(step) is int and step >= 0)):
        return None
    samples = []
    for item in raw:
        sample = _fast_sample(item)
        if sample is None:
            return None
        samples.append(sample)
    return samples, step


def _fast_sample(item: Any) -> Sample | None:
    """The Sample for a plain, valid item; None for anything the model should judge."""
    if type(item) is not dict:
        return None
    if _CANONICAL.issuperset(item):  # the common case: no aliases to resolve
        got = item
    else:
        got = {}
        for key, value in item.items():
            name = _KEYS.get(key)
            if name is None or name in got:
                return None
            got[name] = value
    prompt = got.get("prompt", "")
    completion = got.get("completion")
    group = got.get("group")
    meta = got.get("meta", {})
    source = got.get("data_source")
    if not (
        (type(prompt) is str or _text_or_messages(prompt))
        and (type(completion) is str or _text_or_messages(completion))
        and (group is None or type(group) in (str, int))
        and type(meta) is dict
        and (source is None or type(source) is str)
    ):
        return None
    if group is None:
        group = _prompt_key(prompt)
    if source is not None:
        meta = {**meta, "data_source": source}
    return Sample(prompt, completion, got.get("reference"), group, meta, None)


def _prompt_key(prompt: str | list[dict[str, Any]]) -> str:
    """The group of a sample without one: its prompt (as ``rewardsmith score`` does)."""
    return prompt if isinstance(prompt, str) else orjson.dumps(prompt, default=str).decode()


def _text_or_messages(value: Any) -> TypeGuard[str | list[dict[str, Any]]]:
    return type(value) is str or (type(value) is list and all(type(m) is dict for m in value))

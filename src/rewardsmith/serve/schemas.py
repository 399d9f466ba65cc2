"""The request bodies of the server, as pydantic models (``extra="forbid"``).

A sample is the exception: it is read through the one field table
(``rewardsmith.rollouts.fields``), as a rollout file's record is, so the trainers' field
names are accepted and a key the table does not use lands in ``meta``.

A body is parsed and validated in one step by pydantic's JSON parser
(``parse_body``), so malformed JSON, text that is not UTF-8, a wrong type and a missing
or unknown field all come back as one 4xx answer that lists every problem by its path
(``samples.3.completion: Field required``). ``NaN``, ``Infinity``, numbers out of a
double's range and nesting past 200 levels are not valid JSON here (400). ``/score``
bodies in the field names our client sends are first tried by msgspec
(``parse_score_request``), which is faster; a body it refuses takes the pydantic path,
so every answer and error is the model's.
Answers are written by ``dump_json``.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import msgspec
import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rewardsmith.core import Sample, Tokens
from rewardsmith.core.registry import format_validation_error
from rewardsmith.rollouts.fields import ALIASES, FieldMap, build_sample

__all__ = [
    "BadRequest",
    "RewardRequest",
    "SampleIn",
    "ScoreRequest",
    "TokensIn",
    "dump_json",
    "parse_body",
    "parse_score_request",
]

Message = dict[str, Any]
_FIELDS = FieldMap()


def dump_json(data: Any) -> bytes:
    """``data`` as the JSON of an answer (anything orjson cannot write becomes its ``str``)."""
    return orjson.dumps(data, default=str, option=orjson.OPT_NON_STR_KEYS)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TokensIn(_Model):
    """Per-token data from the policy."""

    ids: list[int] = []
    logprobs: list[float] | None = None
    entropies: list[float] | None = None


def _also(field: str) -> str | None:
    """The field's other accepted names, for the JSON schema (from the one field table)."""
    others = ALIASES[field][1:]
    return f"Also accepted as: {', '.join(others)}." if others else None


class SampleIn(BaseModel):
    """One rollout, read through the one field table (``rewardsmith.rollouts.fields``): each
    field under its trainers' names too, every other key into ``meta``, a ``meta`` object
    merged in; without a group, rollouts of one prompt share one."""

    # The validator moves every key the table does not use into ``meta``, so no extra
    # key is left to allow: "allow" only makes the schema say other keys are accepted.
    model_config = ConfigDict(extra="allow", frozen=True)

    prompt: str | list[Message] = Field(default="", description=_also("prompt"))
    completion: str | list[Message] = Field(description=_also("completion"))
    reference: Any = Field(default=None, description=_also("reference"))
    group: str | int | None = Field(default=None, description=_also("group"))
    meta: dict[str, Any] = Field(
        default_factory=dict,
        description=f"{_also('meta')} Every key not named here lands in meta (data_source, ...).",
    )
    tokens: TokensIn | None = Field(default=None, description=_also("tokens"))

    @model_validator(mode="before")
    @classmethod
    def _read_fields(cls, data: Any) -> Any:
        return _FIELDS.resolve(data) if isinstance(data, dict) else data

    def to_sample(self) -> Sample:
        """The core Sample, built by the field table's ``build_sample``."""
        tokens = self.tokens
        return build_sample(
            {
                "prompt": self.prompt,
                "completion": self.completion,
                "reference": self.reference,
                "group": self.group,
                "meta": self.meta,
                "tokens": None
                if tokens is None
                else Tokens(tokens.ids, tokens.logprobs, tokens.entropies),
            }
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

    def __reduce__(self) -> tuple[type[BadRequest], tuple[int, str, list[str]]]:
        return BadRequest, (self.status, self.message, self.problems)  # from a scoring process


M = TypeVar("M", bound=BaseModel)


def parse_body(model: type[M], body: bytes) -> M:
    """Parse and validate ``body``; BadRequest 400 (not JSON, or NaN, Infinity, a number
    out of range, nesting past 200) or 422 (wrong shape).

    pydantic's parser takes ``NaN``, ``Infinity`` and ``1e999`` as numbers; msgspec's, a
    tenth of its cost, refuses them, so a body that only pydantic reads is refused.
    """
    if not body.strip():
        raise BadRequest(400, "empty body: expected a JSON object")
    try:
        msgspec.json.decode(body)
        strict = None
    except (msgspec.DecodeError, RecursionError) as exc:
        strict = exc
    try:
        parsed = model.model_validate_json(body)
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
        if strict is not None:
            raise _not_finite(strict) from None
        noun = "problem" if len(problems) == 1 else "problems"
        raise BadRequest(
            422, f"invalid request, {len(problems)} {noun}: {'; '.join(problems[:5])}", problems
        ) from None
    if strict is not None:
        raise _not_finite(strict)
    return parsed


def _not_finite(exc: BaseException) -> BadRequest:
    return BadRequest(
        400,
        f"body is not valid JSON ({exc}): NaN, Infinity and numbers out of a double's range "
        "are not JSON",
    )


class _WireSample(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """A sample as our client sends it: canonical names only (no aliases, no tokens), and
    ``data_source``, the one meta key sent beside ``meta``."""

    completion: str | list[Message]
    prompt: str | list[Message] = ""
    reference: Any = None
    group: str | int | None = None
    meta: dict[str, Any] = {}
    data_source: str | msgspec.UnsetType | None = msgspec.UNSET


class _WireRequest(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    samples: list[_WireSample]
    step: Annotated[int, msgspec.Meta(ge=0)] | None = None


_WIRE = msgspec.json.Decoder(_WireRequest)


def parse_score_request(body: bytes) -> tuple[list[Sample], int | None]:
    """The Samples and step of a ``POST /score`` body; BadRequest if it is not valid.

    Bodies in the canonical field names are decoded by msgspec straight into typed
    structs, validated in C; a body it refuses (trainer aliases, other keys, ``tokens``, or
    anything invalid) goes through ``ScoreRequest``, so the answer is the model's, with every
    problem. Both build each Sample with the field table's ``build_sample``.
    """
    try:
        wire = _WIRE.decode(body)
    except (msgspec.MsgspecError, ValueError, RecursionError):  # not UTF-8: UnicodeDecodeError
        req = parse_body(ScoreRequest, body)
        return [s.to_sample() for s in req.samples], req.step
    return [
        build_sample(
            {
                "prompt": s.prompt,
                "completion": s.completion,
                "reference": s.reference,
                "group": s.group,
                "meta": s.meta
                if s.data_source is msgspec.UNSET
                else {**s.meta, "data_source": s.data_source},
            }
        )
        for s in wire.samples
    ], wire.step

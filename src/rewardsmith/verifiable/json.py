"""JSON output rewards: JSON validity and JSON-Schema conformance.

What they check, all in [0, 1]:

- ``json.valid``: 1 if the answer region parses as JSON (``json.loads``), else 0. The
  answer region is the last fenced ```` ```json ```` block, else the last ``<answer>``
  block, else the whole completion.
- ``json.schema``: 1 if the answer region parses and conforms to the reference's JSON
  Schema (``{"schema": {...}}``, checked with ``jsonschema`` under the draft the schema
  names, Draft 2020-12 by default). With ``partial_credit`` a non-conforming JSON object
  earns ``partial_max * k / n``, where ``n`` is the number of top-level ``required`` keys
  and ``k`` those present whose value has the ``type`` the schema's ``properties`` give
  (any value when no type is given). ``partial_max`` (0.5 by default, our choice) keeps a
  document that fails the schema below one that passes it.

Known failure modes and how they are gamed: ``json.valid`` accepts any JSON, including a
bare number or ``null``, and the whole-completion fallback accepts a completion that is
just ``0``; ask for a fenced block or use ``json.schema``. Python's parser accepts
``NaN`` and ``Infinity``, which strict JSON does not. Schema ``format`` keywords are not
asserted (jsonschema's default). Partial credit looks only at required top-level keys, so
a document with the right keys and nonsense values still earns ``partial_max``.

Guards of ``json.schema``: a schema's ``pattern``, ``patternProperties`` and
``additionalProperties`` regexes run with a timeout (``regex_timeout_s``): a pattern that
backtracks (``(a+)+$`` on 40 characters took hours) ends the item with status
``timeout`` and 0, never a stalled batch. And an empty document (``{}``, ``[]``, ``""``,
``null``) meets any schema without ``required`` keys, so it earns nothing unless
``allow_empty`` is set: write ``required`` into schemas all the same.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import regex
from pydantic import Field

from rewardsmith.core import ItemReward, NoParams, Paper, Params, Sample, Score, register
from rewardsmith.verifiable.extract import last_tag_block

__all__ = ["JSON_SCHEMA", "JsonSchema", "JsonSchemaParams", "JsonValid", "answer_region"]

JSON_SCHEMA = Paper("JSON Schema: A Media Type for Describing JSON Documents (2020-12)")

_FENCE = re.compile(r"```json[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)


def answer_region(text: str) -> str:
    """The last ```json fenced block, else the last ``<answer>`` block, else the text."""
    fences = _FENCE.findall(text)
    if fences:
        return str(fences[-1])
    block = last_tag_block(text)
    return text if block is None else block


def _parse(text: str) -> tuple[bool, Any]:
    try:
        return True, json.loads(answer_region(text))
    except (ValueError, RecursionError):
        return False, None


@register(paper=None, summary="1 if the answer region parses as JSON")
class JsonValid(ItemReward):
    name = "json.valid"

    def __init__(self, params: NoParams) -> None:
        self.params = params

    def score_one(self, sample: Sample) -> Score:
        ok, _ = _parse(sample.text)
        return Score(float(ok), info={} if ok else {"reason": "not JSON"})


class JsonSchemaParams(Params):
    regex_timeout_s: float = Field(0.5, gt=0, le=60)
    """Time limit of each schema regex on the answer; past it the item times out with 0."""
    allow_empty: bool = False
    """Let an empty document (``{}``, ``[]``, ``""``, ``null``) pass a schema it meets."""
    partial_credit: bool = False
    """Give a non-conforming object credit for its well-typed required keys."""
    partial_max: float = Field(0.5, ge=0.0, le=1.0)
    """What a non-conforming object with every required key well-typed earns."""


@register(
    paper=JSON_SCHEMA,
    summary="1 if the answer JSON conforms to the reference's JSON Schema; optional partial credit",
)
class JsonSchema(ItemReward):
    name = "json.schema"

    def __init__(self, params: JsonSchemaParams) -> None:
        self.params = params

    def part_names(self) -> list[str]:
        return ["required"] if self.params.partial_credit else []

    def score_one(self, sample: Sample) -> Score:
        from jsonschema.exceptions import best_match
        from jsonschema.validators import validator_for

        ref = sample.reference
        if not isinstance(ref, Mapping) or not isinstance(ref.get("schema"), Mapping):
            raise ValueError(f"reference needs a 'schema' object: {ref!r:.80}")
        schema = dict(ref["schema"])
        cls = validator_for(schema)
        cls.check_schema(schema)  # a broken schema is the task's fault: an error Score
        validator = _with_deadlines(cls, self.params.regex_timeout_s)(schema)
        ok, doc = _parse(sample.text)
        if not ok:
            return Score(0.0, info={"reason": "not JSON"})
        if not self.params.allow_empty and doc in ({}, [], "", None):
            return Score(0.0, info={"reason": "empty document"})
        try:
            error = best_match(validator.iter_errors(doc))
        except TimeoutError:
            reason = f"a schema regex ran past {self.params.regex_timeout_s:g}s on the answer"
            return Score.timed_out(0.0, reason)
        if error is None:
            return Score(1.0)
        info = {"reason": f"{error.json_path}: {error.message}"[:300]}
        if not self.params.partial_credit:
            return Score(0.0, info=info)
        frac = _required_fraction(validator, schema, doc)
        return Score(self.params.partial_max * frac, parts={"required": frac}, info=info)


def _with_deadlines(cls: Any, timeout: float) -> Any:
    """``cls`` with its regex keywords run by the ``regex`` module under ``timeout``."""
    from jsonschema.exceptions import ValidationError
    from jsonschema.validators import extend

    def search(pattern: str, text: str) -> bool:
        return regex.search(pattern, text, timeout=timeout) is not None

    def pattern(validator: Any, patrn: str, instance: Any, schema: Any) -> Any:
        if validator.is_type(instance, "string") and not search(patrn, instance):
            yield ValidationError(f"{instance!r:.80} does not match {patrn!r:.80}")

    def pattern_properties(validator: Any, patterns: Any, instance: Any, schema: Any) -> Any:
        if not validator.is_type(instance, "object"):
            return
        for patrn, subschema in patterns.items():
            for key, value in instance.items():
                if search(patrn, key):
                    yield from validator.descend(value, subschema, path=key, schema_path=patrn)

    def additional_properties(validator: Any, extra: Any, instance: Any, schema: Any) -> Any:
        if not validator.is_type(instance, "object"):
            return
        known = schema.get("properties", {})
        patterns = list(schema.get("patternProperties", {}))
        extras = [k for k in instance if k not in known and not any(search(p, k) for p in patterns)]
        if validator.is_type(extra, "object"):
            for key in extras:
                yield from validator.descend(instance[key], extra, path=key)
        elif not extra and extras:
            yield ValidationError(f"additional properties are not allowed ({extras[:5]!r:.120})")

    return extend(
        cls,
        {
            "pattern": pattern,
            "patternProperties": pattern_properties,
            "additionalProperties": additional_properties,
        },
    )


def _required_fraction(validator: Any, schema: Mapping[str, Any], doc: Any) -> float:
    required = schema.get("required")
    if not isinstance(doc, dict) or not isinstance(required, list) or not required:
        return 0.0
    props = schema.get("properties")
    props = props if isinstance(props, Mapping) else {}
    good = 0
    for key in required:
        if key not in doc:
            continue
        sub = props.get(key)
        want = sub.get("type") if isinstance(sub, Mapping) else None
        types = [want] if isinstance(want, str) else want if isinstance(want, list) else None
        if types is None or any(validator.is_type(doc[key], t) for t in types):
            good += 1
    return good / len(required)

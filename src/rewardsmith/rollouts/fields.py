"""The one field table: which names in a rollout record fill which ``Sample`` field.

Every entry point reads a record through this table, so a record reads the same
wherever it arrives: rollout files (``rewardsmith score``, Ray Data), the server's
``POST /score``, and the TRL, verl and OpenRLHF adapters.

============== =========================================================================
Sample field   names accepted, in priority order
============== =========================================================================
``prompt``     ``prompt``, ``query``, ``question``
``completion`` ``completion``, ``response``, ``solution_str``, ``output``
``reference``  ``reference``, ``ground_truth``, ``answer``, ``label``, ``solution``,
               ``gold``, ``reward_model.ground_truth``
``group``      ``group``, ``group_id``, ``prompt_id``, ``uid``
``meta``       ``meta``, ``metadata``
``tokens``     ``tokens``
============== =========================================================================

Rules:

- **First present wins.** For each field the first name the record has is used, even
  when its value is null. A name that loses (``answer`` beside ``reference``) is not an
  error: it is an ordinary key and lands in ``meta``, so nothing in the record is lost.
  Datasets routinely carry both (verl's GSM8K keeps the worked ``answer`` in
  ``extra_info`` beside ``ground_truth``); refusing them would refuse real data.
- **Everything else is meta.** Every key the table did not use lands in ``Sample.meta``
  (``data_source`` among them). A ``meta``/``metadata`` value that is a mapping is
  merged in, under the record's other keys (a top-level ``data_source`` wins over
  ``meta.data_source``); one that is not a mapping (a JSON string column) is an
  ordinary key.
- **Dotted names** reach into nested records: ``reward_model.ground_truth`` is verl's
  data-file layout. The whole top-level key (``reward_model``) is then used up.
- **Groups.** Without a group name, rollouts with the same prompt share a group
  (``prompt_group``: chat prompts by their JSON); a rollout with neither a group nor a
  prompt is a group of its own (``None``), since nothing says what it belongs with.
- **Types.** ``completion`` is text or a list of chat messages (else ``InputError``);
  a ``prompt`` of any other type becomes its text; a ``group`` other than text or an
  integer becomes its text; ``tokens`` is a mapping with ``ids``, ``logprobs``,
  ``entropies``. The server's schema checks each field's type and answers 422 instead.
- ``FieldMap({"completion": "my_field"})`` (the CLI's ``--map``) replaces a field's
  names with one name of the user's.

How the entry points use it: files and ``POST /score`` read whole records (the
server's ``SampleIn`` resolves the names with ``FieldMap.resolve``, checks types, and
builds with ``build_sample``); TRL's ``prompts``, ``completions`` and
``completion_ids`` fill ``prompt``, ``completion`` and ``tokens`` and its dataset
columns go through the table (reference, group, meta); verl's ``solution_str`` and
``ground_truth`` fill ``completion`` and ``reference``, ``data_source`` and the keys of
``extra_info`` go through the table; OpenRLHF's ``prompts`` and ``labels`` fill
``prompt`` and ``reference`` and the response split off each ``query`` fills
``completion``. A trainer's own arguments win over same-named record keys.

Where the old per-entry-point tables disagreed, and what was chosen:

- ``answer`` before ``label``: the server tried ``label`` first, the file reader, TRL
  and DESIGN.md ``answer``; two of three, and the documented order, won.
- ``group`` before ``uid``: verl read ``extra_info["uid"]`` first; the canonical name
  comes first everywhere.
- A prompt-less, group-less rollout: files and the server grouped all of them together
  (the empty prompt as a group), verl left each alone; grouping rollouts by a prompt
  nobody gave invents a relation, so each is alone now.
- ``output`` and ``gold`` were accepted nowhere; they are common names for a model's
  output and a gold answer, last in their lists.
- OpenRLHF's ``query`` argument is prompt plus response, not this table's ``query``
  (a prompt); its adapter splits it and fills the fields by their canonical names.

Known issues:
    - In SFT-style datasets (Alpaca's ``instruction``/``input``/``output``) ``output``
      is the gold answer, not a rollout; such a file without a completion column scores
      the gold answer. Use ``--map completion=...``.
    - A typo in a field name (``refrence``) is not an error: it lands in ``meta`` and
      the field stays empty, which most rewards then report as an item error.

Example:
    >>> s = to_sample({"question": "2+2?", "response": "4", "solution": "4", "prompt_id": 7, "level": 1})
    >>> (s.prompt, s.completion, s.reference, s.group, dict(s.meta))
    ('2+2?', '4', '4', 7, {'level': 1})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from rewardsmith.core import Sample, Tokens
from rewardsmith.core.types import prompt_group
from rewardsmith.errors import InputError

__all__ = ["ALIASES", "FieldMap", "build_sample", "to_sample"]

ALIASES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "prompt": ("prompt", "query", "question"),
        "completion": ("completion", "response", "solution_str", "output"),
        "reference": (
            "reference",
            "ground_truth",
            "answer",
            "label",
            "solution",
            "gold",
            "reward_model.ground_truth",
        ),
        "group": ("group", "group_id", "prompt_id", "uid"),
        "meta": ("meta", "metadata"),
        "tokens": ("tokens",),
    }
)
"""Sample field -> the record names that fill it, canonical name first, first present wins."""

_MISSING = object()
_Path = tuple[str, ...]


class FieldMap:
    """Where each Sample field is read from: ``ALIASES``, or the user's ``mapping``.

    Args:
        mapping: Sample field -> the one record name (dotted for nested records) to read
            it from instead of its aliases.

    Raises:
        InputError: ``mapping`` names a field that is not a Sample field.
    """

    def __init__(self, mapping: Mapping[str, str] | None = None) -> None:
        mapping = dict(mapping or {})
        unknown = set(mapping) - set(ALIASES)
        if unknown:
            raise InputError(
                f"--map: unknown field {', '.join(sorted(unknown))} (known: {', '.join(ALIASES)})"
            )
        self.paths: dict[str, list[_Path]] = {
            name: [tuple(p.split(".")) for p in ((mapping[name],) if name in mapping else names)]
            for name, names in ALIASES.items()
        }
        # Records of one file share their keys: which names can match is decided once
        # per distinct key set, not once per record.
        self._plans: dict[tuple[str, ...], list[tuple[str, list[_Path]]]] = {}

    def _plan(self, keys: tuple[str, ...]) -> list[tuple[str, list[_Path]]]:
        plan = self._plans.get(keys)
        if plan is None:
            present = set(keys)
            plan = [(n, [p for p in paths if p[0] in present]) for n, paths in self.paths.items()]
            if len(self._plans) < 1024:
                self._plans[keys] = plan
        return plan

    def resolve(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The Sample fields ``record`` gives, by their canonical names (those it lacks are
        left out), and ``meta``: its meta mapping merged with every key not used."""
        got: dict[str, Any] = {}
        used: set[str] = set()
        for name, paths in self._plan(tuple(record)):
            for path in paths:
                value: Any = record[path[0]]
                for part in path[1:]:
                    value = value.get(part, _MISSING) if isinstance(value, Mapping) else _MISSING
                if value is _MISSING or (name == "meta" and not isinstance(value, Mapping)):
                    continue
                got[name] = value
                used.add(path[0])
                break
        rest = {k: v for k, v in record.items() if k not in used}
        meta = got.get("meta")
        got["meta"] = {**meta, **rest} if meta else rest
        return got

    def sample(self, record: Any) -> Sample:
        """The Sample for one record; InputError with the reason if it cannot be read."""
        if not isinstance(record, Mapping):
            raise InputError(f"expected a JSON object, got {type(record).__name__}")
        fields = self.resolve(record)
        if "completion" not in fields:
            looked = ", ".join(".".join(p) for p in self.paths["completion"])
            raise InputError(
                f"no completion field (looked for {looked}; use --map completion=FIELD)"
            )
        return build_sample(fields)


def build_sample(fields: Mapping[str, Any]) -> Sample:
    """The Sample from field values by their canonical names (``FieldMap.resolve``'s
    output, or a trainer's arguments): the type rules and the default group.

    Raises:
        InputError: the completion is missing or neither text nor a list of messages.
    """
    completion = fields.get("completion")
    if not isinstance(completion, str | list) or (
        isinstance(completion, list) and not all(isinstance(m, Mapping) for m in completion)
    ):
        raise InputError(
            f"completion must be text or a list of messages, got {type(completion).__name__}"
        )
    prompt = fields.get("prompt") or ""
    if not isinstance(prompt, str | Sequence):
        prompt = str(prompt)
    group = fields.get("group")
    if group is None:
        group = prompt_group(prompt) if prompt else None
    elif not isinstance(group, str | int):
        group = str(group)
    return Sample(
        prompt=prompt,
        completion=completion,
        reference=fields.get("reference"),
        group=group,
        meta=meta if isinstance(meta := fields.get("meta") or {}, dict) else dict(meta),
        tokens=_tokens(fields.get("tokens")),
    )


_DEFAULT = FieldMap()


def to_sample(record: Any, mapping: Mapping[str, str] | None = None) -> Sample:
    """The Sample for one record (see the module docstring); InputError if unreadable.

    Example:
        >>> to_sample({"response": "4", "ground_truth": "4", "data_source": "gsm8k"}).meta
        {'data_source': 'gsm8k'}
    """
    return (_DEFAULT if mapping is None else FieldMap(mapping)).sample(record)


def _tokens(raw: Any) -> Tokens | None:
    if isinstance(raw, Tokens):
        return raw
    if not isinstance(raw, Mapping):
        return None
    return Tokens(
        ids=list(raw.get("ids") or ()),
        logprobs=raw.get("logprobs"),
        entropies=raw.get("entropies"),
    )

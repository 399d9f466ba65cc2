"""A loaded ``transformers`` model and what runs on it: rendering, truncation, token-budget
batching (``models.batching``), shared prefixes (``models.prefix``), the result cache. ``HFBackend`` (``models.local``) is the handle users hold and
documents the behaviour; this module is the machinery behind it.

One ``LoadedModel`` per (source, role, dtype, device) per process (``loaded_model``),
shared by every handle and thread; hold its ``lock`` around every call (a fast tokenizer
raises "Already borrowed" when two threads use it at once, and the cache is a plain
``OrderedDict``).
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rewardsmith.errors import ConfigError, MissingExtraError
from rewardsmith.models.base import (
    Generation,
    ModelError,
    ModelInput,
    Rendered,
    Result,
    TokenLogprobs,
    Unsupported,
)
from rewardsmith.models.batching import (
    DEFAULT_MAX_BATCH_TOKENS,
    default_batch_tokens,
    right_padded,
    token_budget_batches,
)
from rewardsmith.models.head import HeadModel, is_head_dir, load_head, read_head_config
from rewardsmith.models.joint import (
    Packed,
    pack_texts,
    special_pattern,
    strip_specials,
    token_logits,
)
from rewardsmith.models.loading import load_pretrained, load_tokenizer, model_limit, model_source
from rewardsmith.models.prefix import DEFAULT_MIN_PREFIX, Batches, PrefixSharer, prefix_sharer

__all__ = [
    "CACHE_SIZE",
    "CHARS_PER_TOKEN",
    "DEFAULT_MAX_BATCH_TOKENS",
    "DTYPES",
    "Classified",
    "Continuation",
    "Joint",
    "LoadedModel",
    "Role",
    "RunOptions",
    "SoftValues",
    "default_batch_tokens",
    "loaded_model",
    "model_labels",
    "register_live",
    "render_input",
    "token_budget_batches",
]

DTYPES = ("float32", "bfloat16", "float16", "auto")
CACHE_SIZE = 16_384
CHARS_PER_TOKEN = 24
"""A text over ``max_length * CHARS_PER_TOKEN`` characters is cut before tokenising."""
Role = Literal["classifier", "causal"]


@dataclass(frozen=True, slots=True)
class RunOptions:
    """How one handle runs its calls on a shared ``LoadedModel`` (see ``HFBackend``)."""

    max_length: int | None = None
    max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS["cpu"]
    cache: bool = True
    strip_special_tokens: bool = True
    share_prefix: bool = True
    min_shared_prefix: int = DEFAULT_MIN_PREFIX


@dataclass(frozen=True, slots=True)
class Classified:
    """One ``classify`` result: the scores, the tokens the model read, whether the input
    was truncated to fit ``max_length``, and how many of its leading tokens came from a
    prefix run once for its group (``models.prefix``; 0: none)."""

    scores: dict[str, float]
    tokens: int
    truncated: bool = False
    shared_prefix: int = 0


@dataclass(frozen=True, slots=True)
class Joint:
    """One ``classify_joint`` result: each response's head scores (in the order given),
    the packed sequence's tokens, and whether anything was cut to fit."""

    scores: list[dict[str, float]]
    tokens: int
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class Continuation:
    """One ``continuation_logprobs`` result: the log-probs, the tokens the model read, and
    whether the start of the prefix was cut to fit ``max_length``."""

    logprobs: TokenLogprobs
    tokens: int
    truncated: bool = False
    soft: SoftValues | None = None


@dataclass(frozen=True, slots=True)
class SoftValues:
    """The logits read as a soft Q-function (Generalist Reward Models, arXiv 2506.23235):
    ``chosen[h]`` is the raw logit f(s_h, a_h) of each continuation token, ``values[h]``
    the soft value V(s_h) = alpha * logsumexp(f(s_h, .) / alpha) of the state before it,
    and ``values[-1]`` the state after the last token (one more value than tokens)."""

    alpha: float
    chosen: tuple[float, ...]
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class _Encoded:
    ids: list[int]
    start: int  # the first continuation token (len(ids) for classify)
    truncated: bool


class LoadedModel:
    """A loaded tokenizer and model shared by every ``HFBackend`` on the same source; call
    its methods holding ``lock``. ``kind`` is ``sequence_classification``, ``two_layer_head``
    or ``causal_lm``; ``labels`` the classifier's output names."""

    def __init__(
        self, source: str, role: Role, dtype: str, device: str, live: tuple[Any, Any] | None = None
    ) -> None:
        try:
            import torch
            import transformers
        except ImportError as exc:
            raise MissingExtraError(exc.name or "transformers", "hf") from None
        self.torch = torch
        self.lock = threading.Lock()
        self.device = device
        self.cache: OrderedDict[tuple[object, ...], Any] = OrderedDict()
        torch_dtype: Any = dtype if dtype == "auto" else getattr(torch, dtype)
        # a live (model, tokenizer): the trainer's own objects; the tokenizer is copied,
        # since padding it on the right here must not change the trainer's
        tok = copy.deepcopy(live[1]) if live else load_tokenizer(transformers, source)
        if tok.pad_token is None:
            if tok.eos_token is None:
                raise Unsupported(f"{source}: the tokenizer has neither a pad nor an EOS token")
            tok.pad_token = tok.eos_token
        tok.padding_side = "right"  # results are read at each row's own last token
        self.tokenizer = tok
        self.labels: tuple[str, ...] = ()
        self._sharer: PrefixSharer | str | None = None
        if live is not None:  # used as it is: its device, dtype and train/eval mode kept
            self.model, self.kind = live[0], "causal_lm"
        elif role == "causal":
            self.model, self.kind = self._causal(transformers, source, torch_dtype), "causal_lm"
        elif is_head_dir(source):
            self.model, self.kind = (
                self._head_model(transformers, source, torch_dtype),
                "two_layer_head",
            )
        else:
            self.model = self._sequence_classifier(transformers, source, torch_dtype)
            self.kind = "sequence_classification"
        cfg = self.model.backbone.config if self.kind == "two_layer_head" else self.model.config
        forward = getattr(self.model, "forward", None)
        self._keeps_logits = (
            forward is not None and "logits_to_keep" in inspect.signature(forward).parameters
        )
        self.max_length = model_limit(tok, cfg)
        self._specials = frozenset(int(i) for i in tok.all_special_ids)
        self._special_re = special_pattern(tok)

    def _head_model(self, transformers: Any, source: str, dtype: Any) -> HeadModel:
        backbone = load_pretrained(transformers.AutoModel, source, dtype)
        config, head = load_head(source, self.device)
        self.labels = config.labels
        return HeadModel(backbone.to(self.device).eval(), head, config)

    def _sequence_classifier(self, transformers: Any, source: str, dtype: Any) -> Any:
        archs = list(
            getattr(transformers.AutoConfig.from_pretrained(source), "architectures", None) or []
        )
        if not any(a.endswith("ForSequenceClassification") for a in archs):
            raise Unsupported(
                f"{source} is {archs or 'an unnamed architecture'}, not a reward model: "
                "classify needs a *ForSequenceClassification checkpoint or a two-layer "
                "head (rewardsmith_head.json)"
            )
        model = load_pretrained(transformers.AutoModelForSequenceClassification, source, dtype)
        n = int(model.config.num_labels)
        id2label = model.config.id2label or {}
        self.labels = ("score",) if n == 1 else tuple(str(id2label[i]) for i in range(n))
        if model.config.pad_token_id is None:  # transformers reads the score by pad id
            model.config.pad_token_id = self.tokenizer.pad_token_id
        return model.to(self.device).eval()

    def _causal(self, transformers: Any, source: str, dtype: Any) -> Any:
        if not self.tokenizer.is_fast:
            raise Unsupported(f"{source}: log-probs need a fast tokenizer (character offsets)")
        model = load_pretrained(transformers.AutoModelForCausalLM, source, dtype)
        return model.to(self.device).eval()

    # -- rendering and encoding -------------------------------------------------------

    def render(self, x: ModelInput, opts: RunOptions, prefix: bool) -> tuple[str, bool]:
        """``(text, add_special_tokens)``: plain text as it is, a chat through the template."""
        strip = self._special_re if opts.strip_special_tokens else None
        return render_input(self.tokenizer, x, prefix, strip)

    def _strip(self, content: str) -> str:
        """``content`` without special-token strings, removed until none is left (taking
        ``</s>`` out of ``<</s>/s>`` must not leave a ``</s>``)."""
        return strip_specials(self._special_re, content)

    def _limit(self, opts: RunOptions) -> int:
        return opts.max_length or self.max_length

    def _lead_chars(self, text: str, special: bool) -> int:
        """Characters taken by the special tokens that open ``text`` (kept when cutting)."""
        if not self.tokenizer.is_fast:
            return 0
        enc = self.tokenizer(text[:256], add_special_tokens=special, return_offsets_mapping=True)
        end = 0
        for i, (_, e) in zip(enc["input_ids"], enc["offset_mapping"], strict=True):
            if i not in self._specials:
                break
            end = max(end, e)
        return end

    def encode(self, text: str, special: bool, limit: int, split: int | None = None) -> _Encoded:
        """Token ids of ``text`` cut to ``limit`` from the left (leading special tokens
        kept). With ``split`` (a character index), ``start`` is the first token whose
        span ends after it: the continuation; tokens after the last such are dropped."""
        cap, cut_chars = limit * CHARS_PER_TOKEN, 0
        if len(text) > cap:
            head = self._lead_chars(text, special)
            if split is not None and len(text) - split > cap - head:
                raise ValueError(f"the continuation is over {cap - head} characters: it cannot fit")
            cut_chars = len(text) - cap
            text = text[:head] + text[head + cut_chars :]
            split = None if split is None else split - cut_chars
        enc = self.tokenizer(
            text, add_special_tokens=special, return_offsets_mapping=split is not None
        )
        ids = [int(i) for i in enc["input_ids"]]
        start = len(ids)
        if split is not None:
            kept = [k for k, (s, e) in enumerate(enc["offset_mapping"]) if e > split and e > s]
            if kept:
                start, ids = kept[0], ids[: kept[-1] + 1]
            if kept and start == 0:
                raise ValueError("no token precedes the continuation's first token to predict it")
        dropped = max(0, len(ids) - limit)
        if dropped:
            lead = 0
            while lead < len(ids) and ids[lead] in self._specials and lead < limit // 2:
                lead += 1
            if split is not None and start - dropped < max(lead, 1):
                raise ValueError(f"the continuation alone does not fit in max_length={limit}")
            ids = ids[:lead] + ids[lead + dropped :]
            start -= dropped
        return _Encoded(ids, start, cut_chars > 0 or dropped > 0)

    # -- the three operations ---------------------------------------------------------

    def _cached(self, key: tuple[object, ...], opts: RunOptions) -> Any:
        if not opts.cache or key not in self.cache:
            return None
        self.cache.move_to_end(key)
        return self.cache[key]

    def _remember(self, key: tuple[object, ...], value: object, opts: RunOptions) -> None:
        if opts.cache:
            self.cache[key] = value
            while len(self.cache) > CACHE_SIZE:
                self.cache.popitem(last=False)

    def classify(self, inputs: list[ModelInput], opts: RunOptions) -> list[Result[Classified]]:
        limit = self._limit(opts)
        out: list[Result[Classified] | None] = [None] * len(inputs)
        todo: dict[tuple[object, ...], tuple[_Encoded, list[int]]] = {}
        for i, x in enumerate(inputs):
            try:
                text, special = self.render(x, opts, prefix=False)
                key = ("classify", _digest(text), special, limit, opts.strip_special_tokens)
                hit = self._cached(key, opts)
                if hit is not None:
                    out[i] = hit
                elif key in todo:
                    todo[key][1].append(i)
                else:
                    todo[key] = (self.encode(text, special, limit), [i])
            except Exception as exc:
                out[i] = ModelError.of(exc)
        keys = list(todo)
        rows = [todo[k][0].ids for k in keys]
        batches, shared = self._classify_batches(rows, opts)
        for batch, result in batches:
            for b, value in zip(batch, result, strict=True):
                enc, where = todo[keys[b]]
                item: Result[Classified] = value
                if not isinstance(value, ModelError):
                    item = Classified(value, len(enc.ids), enc.truncated, shared.get(b, 0))
                    self._remember(keys[b], item, opts)
                for i in where:
                    out[i] = item
        return [r if r is not None else ModelError("NotScored", "no result") for r in out]

    def classify_joint(
        self, groups: list[tuple[ModelInput, list[str]]], opts: RunOptions, chat: bool
    ) -> list[Result[Joint]]:
        """Each (prompt, responses) packed into one sequence (``models.joint``) and the
        head read at every response's separator; one result per group."""
        if self.kind == "causal_lm":
            raise Unsupported("joint scoring needs a reward model, not a causal LM")
        limit = self._limit(opts)
        out: list[Result[Joint] | None] = [None] * len(groups)
        packed: dict[int, Packed] = {}
        for g, (prompt, responses) in enumerate(groups):
            try:
                lead = prompt if isinstance(prompt, str) else _checked_chat(prompt)
                packed[g] = pack_texts(self.tokenizer, lead, responses, limit, chat, self._strip)
            except Exception as exc:
                out[g] = ModelError.of(exc)
        order = list(packed)
        rows = [packed[g].ids for g in order]

        def run(ids: Any, mask: Any, batch: list[int]) -> list[list[dict[str, float]]]:
            logits = token_logits(self.model, ids, mask).float().cpu()
            return [
                [
                    dict(zip(self.labels, logits[k, p].tolist(), strict=True))
                    for p in packed[order[b]].positions
                ]
                for k, b in enumerate(batch)
            ]

        for batch, result in self._batched(rows, opts, run, pass_batch=True):
            for b, value in zip(batch, result, strict=True):
                got = packed[order[b]]
                out[order[b]] = (
                    value
                    if isinstance(value, ModelError)
                    else Joint(value, len(got.ids), got.truncated)
                )
        return [r if r is not None else ModelError("NotScored", "no result") for r in out]

    def prefix_sharing(self) -> PrefixSharer | str:
        """This model's ``PrefixSharer``, or why it has none (``models.prefix``)."""
        if self._sharer is None:
            pad = int(self.tokenizer.pad_token_id)
            self._sharer = prefix_sharer(self.model, self.kind, self.labels, pad)
        return self._sharer

    def _classify_batches(
        self, rows: list[list[int]], opts: RunOptions
    ) -> tuple[Batches, dict[int, int]]:
        """Scores of ``rows`` by batch, and the prefix tokens each row shared (if any)."""

        def plain(index: list[int]) -> Batches:
            done = self._batched([rows[i] for i in index], opts, self._classify_rows)
            return [([index[b] for b in batch], result) for batch, result in done]

        sharer = self.prefix_sharing() if opts.share_prefix and len(rows) > 1 else None
        if not isinstance(sharer, PrefixSharer):
            return plain(list(range(len(rows)))), {}
        return sharer.run(rows, opts.max_batch_tokens, opts.min_shared_prefix, plain)

    def _classify_rows(self, ids: Any, mask: Any) -> list[dict[str, float]]:
        if self.kind == "two_layer_head":
            logits = self.model(ids, mask)
        else:
            logits = self.model(input_ids=ids, attention_mask=mask).logits
        values = logits.float().cpu().tolist()
        return [dict(zip(self.labels, row, strict=True)) for row in values]

    def continuations(
        self, pairs: list[tuple[ModelInput, str]], opts: RunOptions, alpha: float | None = None
    ) -> list[Result[Continuation]]:
        """Each pair's continuation log-probs; with ``alpha``, its ``SoftValues`` too."""
        limit = self._limit(opts)
        out: list[Result[Continuation] | None] = [None] * len(pairs)
        todo: dict[tuple[object, ...], tuple[_Encoded, list[int]]] = {}
        for i, (prefix, continuation) in enumerate(pairs):
            try:
                if not isinstance(continuation, str):
                    raise TypeError(f"a continuation is text, not {type(continuation).__name__}")
                text, special = self.render(prefix, opts, prefix=True)
                key = (
                    "logprobs",
                    _digest(text, continuation),
                    special,
                    limit,
                    opts.strip_special_tokens,
                    alpha,
                )
                hit = self._cached(key, opts)
                if hit is not None:
                    out[i] = hit
                elif key in todo:
                    todo[key][1].append(i)
                else:
                    enc = self.encode(text + continuation, special, limit, split=len(text))
                    if enc.start == len(enc.ids):  # an empty continuation: nothing to run
                        out[i] = Continuation(
                            TokenLogprobs((), (), ()), len(enc.ids), enc.truncated
                        )
                    else:
                        todo[key] = (enc, [i])
            except Exception as exc:
                out[i] = ModelError.of(exc)
        keys = list(todo)
        encoded = [todo[k][0] for k in keys]
        rows = [e.ids for e in encoded]

        def run(
            ids: Any, mask: Any, batch: list[int]
        ) -> list[tuple[TokenLogprobs, SoftValues | None]]:
            return self._logprob_rows(ids, mask, [encoded[b] for b in batch], alpha)

        for batch, result in self._batched(rows, opts, run, pass_batch=True):
            for b, value in zip(batch, result, strict=True):
                enc, where = todo[keys[b]]
                item: Result[Continuation] = value
                if not isinstance(value, ModelError):
                    logprobs, soft = value
                    item = Continuation(logprobs, len(enc.ids), enc.truncated, soft)
                    self._remember(keys[b], item, opts)
                for i in where:
                    out[i] = item
        return [r if r is not None else ModelError("NotScored", "no result") for r in out]

    def _logprob_rows(
        self, ids: Any, mask: Any, encoded: list[_Encoded], alpha: float | None
    ) -> list[tuple[TokenLogprobs, SoftValues | None]]:
        torch = self.torch
        extra = 0 if alpha is None else 1  # soft values need the state after the last token
        lo = min(e.start for e in encoded) - 1  # logits at p - 1 predict token p
        hi = max(len(e.ids) for e in encoded) - 1 + extra
        kwargs: dict[str, Any] = {}
        if self._keeps_logits:
            kwargs["logits_to_keep"] = torch.arange(lo, hi, device=ids.device)
        logits = self.model(input_ids=ids, attention_mask=mask, **kwargs).logits
        offset = lo if self._keeps_logits else 0
        out = []
        for row, enc in enumerate(encoded):
            positions = torch.arange(enc.start - 1, len(enc.ids) - 1 + extra, device=ids.device)
            raw = logits[row, positions - offset].float()
            n = len(enc.ids) - enc.start
            targets = ids[row, enc.start : len(enc.ids)].unsqueeze(-1)
            picked = raw[:n].log_softmax(dim=-1).gather(-1, targets).squeeze(-1).cpu().tolist()
            token_ids = tuple(enc.ids[enc.start :])
            tokens = tuple(str(t) for t in self.tokenizer.convert_ids_to_tokens(list(token_ids)))
            soft = None
            if alpha is not None:
                chosen = raw[:n].gather(-1, targets).squeeze(-1).cpu().tolist()
                values = (alpha * torch.logsumexp(raw / alpha, dim=-1)).cpu().tolist()
                soft = SoftValues(alpha, tuple(chosen), tuple(values))
            out.append((TokenLogprobs(tokens, tuple(float(x) for x in picked), token_ids), soft))
        return out

    def _batched(
        self, rows: list[list[int]], opts: RunOptions, fn: Any, pass_batch: bool = False
    ) -> list[tuple[list[int], list[Any]]]:
        """Run ``fn(ids, mask)`` over token-budget batches of right-padded rows; a batch
        that fails gives each of its rows the ModelError."""
        torch = self.torch
        pad = int(self.tokenizer.pad_token_id)
        done = []
        with torch.inference_mode():
            for batch in token_budget_batches([len(r) for r in rows], opts.max_batch_tokens):
                ids, mask = right_padded(torch, [rows[b] for b in batch], pad)
                ids, mask = ids.to(self.device), mask.to(self.device)
                try:
                    result = fn(ids, mask, batch) if pass_batch else fn(ids, mask)
                except Exception as exc:
                    result = [ModelError.of(exc)] * len(batch)
                done.append((batch, list(result)))
        return done

    def generate_one(
        self,
        prompt: ModelInput,
        opts: RunOptions,
        max_new_tokens: int,
        temperature: float,
        n: int,
        seed: int | None,
    ) -> Result[Generation]:
        torch = self.torch
        try:
            text, special = self.render(prompt, opts, prefix=True)
            limit = max(2, self._limit(opts) - max_new_tokens)
            ids = self.encode(text, special, limit).ids
            x = torch.tensor([ids], dtype=torch.long, device=self.device)
            config = self._generation_config(max_new_tokens, temperature, n)
            dev = torch.device(self.device)
            devices = [dev.index or 0] if dev.type == "cuda" else []  # sampling's RNG, restored
            with torch.random.fork_rng(devices=devices), torch.inference_mode():
                if seed is not None:
                    torch.manual_seed(seed)
                out = self.model.generate(
                    input_ids=x, attention_mask=torch.ones_like(x), generation_config=config
                )
            new = out[:, len(ids) :]
            texts = self.tokenizer.batch_decode(new, skip_special_tokens=True)
            produced = int((new != self.tokenizer.pad_token_id).sum())
            copies = 1 if temperature > 0 else n  # greedy: one run, n copies
            return Generation([str(t) for t in texts] * copies, len(ids), produced)
        except Exception as exc:
            return ModelError.of(exc)

    def _generation_config(self, max_new_tokens: int, temperature: float, n: int) -> Any:
        import transformers

        make: Any = transformers.GenerationConfig
        own = self.model.generation_config
        sample = temperature > 0
        options: dict[str, Any] = dict(
            max_new_tokens=max_new_tokens,
            num_return_sequences=n if sample else 1,
            do_sample=sample,
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=own.eos_token_id,
            bos_token_id=own.bos_token_id,
        )
        if sample:  # plain sampling at this temperature: no top-k or top-p cut
            options.update(temperature=temperature, top_k=0, top_p=1.0)
        return make(**options)


def render_input(
    tokenizer: Any, x: ModelInput, prefix: bool, strip: Any = None
) -> tuple[str, bool]:
    """``(text, add_special_tokens)`` for ``x``: plain text as it is (special tokens added
    when tokenising); chat messages through ``tokenizer``'s chat template, with the
    special-token strings that ``strip`` (a ``joint.special_pattern``) matches removed from
    their contents. With ``prefix``, a chat ending in a user or system turn gets the
    generation prompt and one ending in an assistant turn is continued."""
    if isinstance(x, Rendered):
        return str(x), False
    if isinstance(x, str):
        return x, True
    messages = _checked_chat(x)
    if not tokenizer.chat_template:
        raise ValueError("the tokenizer has no chat template: pass plain text")
    if strip is not None:
        messages = [{**m, "content": strip_specials(strip, m["content"])} for m in messages]
    cont = prefix and messages[-1]["role"] == "assistant"
    text = tokenizer.apply_chat_template(
        messages,
        tokenize=False,
        add_generation_prompt=prefix and not cont,
        continue_final_message=cont,
    )
    return str(text), False


def _digest(*texts: str) -> bytes:
    """A cache key for texts of any size (a megabyte completion is not kept in the cache)."""
    h = hashlib.blake2b(digest_size=20)
    for t in texts:
        h.update(len(t).to_bytes(8, "little"))
        h.update(t.encode("utf-8", "surrogatepass"))
    return h.digest()


def _checked_chat(x: object) -> list[dict[str, str]]:
    """The messages as plain dicts; ValueError naming what is malformed."""
    if not isinstance(x, Sequence) or isinstance(x, str | bytes) or not x:
        raise ValueError("a chat input is a non-empty list of messages")
    messages = []
    for k, m in enumerate(x):
        if not hasattr(m, "get"):
            raise ValueError(f"message {k} is {type(m).__name__}, not a mapping")
        role, content = m.get("role"), m.get("content")
        if not isinstance(role, str) or not role:
            raise ValueError(f"message {k} has no role")
        if not isinstance(content, str):
            raise ValueError(f"message {k} content is {type(content).__name__}, not text")
        messages.append({"role": role, "content": content})
    return messages


_MODELS: dict[tuple[str, str, str, str], LoadedModel] = {}
_MODELS_LOCK = threading.Lock()


def register_live(name: str, model: Any, tokenizer: Any, dtype: str, device: str) -> None:
    """Make ``name`` the process's handle on an already loaded causal LM (a trainer's
    policy): ``loaded_model(name, "causal", dtype, device)`` then returns it."""
    if not getattr(tokenizer, "is_fast", False):
        raise Unsupported("log-probs need a fast tokenizer (character offsets)")
    loaded = LoadedModel(name, "causal", dtype, device, live=(model, tokenizer))
    with _MODELS_LOCK:
        _MODELS[(name, "causal", dtype, device)] = loaded


def loaded_model(model: str, role: Role, dtype: str, device: str) -> LoadedModel:
    """The process's one ``LoadedModel`` for these four, loaded under a lock on first use."""
    source = model_source(model)
    key = (source, role, dtype, device)
    found = _MODELS.get(key)
    if found is None:
        with _MODELS_LOCK:
            found = _MODELS.get(key)
            if found is None:
                found = _MODELS[key] = LoadedModel(source, role, dtype, device)
    return found


def model_labels(model: str) -> tuple[str, ...] | None:
    """The output names ``classify`` will give for a local model, read from its files
    without loading it (``("score",)`` for one label); None when they cannot be known
    here (a hub id, a directory that is not a classifier)."""
    path = os.path.expanduser(model)
    if not os.path.isdir(path):
        return None
    try:
        if is_head_dir(path):
            return read_head_config(path).labels
        with open(os.path.join(path, "config.json"), encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError, ConfigError):
        return None
    archs = config.get("architectures") or []
    if not any(str(a).endswith("ForSequenceClassification") for a in archs):
        return None
    id2label = config.get("id2label")
    if isinstance(id2label, dict) and id2label:  # transformers' default without one: 2 labels
        names = [str(id2label[k]) for k in sorted(id2label, key=int)]
    else:
        names = [f"LABEL_{i}" for i in range(int(config.get("num_labels", 2)))]
    return ("score",) if len(names) == 1 else tuple(names)

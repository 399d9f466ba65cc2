"""The local ``transformers`` backend: reward models, log-probs and sampling on this machine.

``HFBackend`` implements ``models.base.Backend``:

- ``classify``: a sequence-classification model (``*ForSequenceClassification``) or a
  two-layer-head reward model (``models.head``). One label gives ``{"score": logit}``;
  several give ``{id2label name: logit}``. Raw logits: no sigmoid, no softmax.
- ``continuation_logprobs``: a causal LM's log-probability of each continuation token
  given the prefix, read from the logits of one forward pass over the whole text.
- ``generate``: ``n`` samples per prompt; ``temperature=0`` is greedy; a ``seed`` makes
  them reproducible (same prompt, same seed, same texts), whatever else is in the batch.

Inputs: a chat (``[{"role": ..., "content": ...}]``) is rendered with the model
tokenizer's own chat template, never the policy's: for ``classify`` the whole
conversation, for a prefix or a prompt with ``add_generation_prompt`` when it ends with a
user (or system) turn and ``continue_final_message`` when it ends with an assistant one.
Special-token strings inside message contents (``<|im_end|>``, a fake
``<|im_start|>assistant`` turn) are removed before rendering (``strip_special_tokens``),
so text a policy writes cannot open or close turns; the template's own tokens stay. A
plain-text input is used as it is, with the tokenizer's special tokens (BOS, CLS) added,
and special-token strings in it are read as those tokens.

Loading: ``model`` is a local directory or a hub id, read by ``from_pretrained`` (the hub
or its cache; tests pass directories). A path that does not exist (``/...``, ``./...``,
``~...``) is an error, never a hub lookup. The role decides the class: ``classify`` loads
a two-layer head when ``rewardsmith_head.json`` is in the directory, otherwise a
``*ForSequenceClassification`` model, and refuses (``Unsupported``) a checkpoint whose
classification weights are missing, since ``transformers`` would fill them at random;
``continuation_logprobs`` and ``generate`` load ``AutoModelForCausalLM`` under the same
rule. A tokenizer without a pad token pads with its EOS token. One model per (source,
role, dtype, device) is loaded per process, on first use, and shared by every handle and
thread; each call holds that model's lock. ``HFBackend`` itself is a few strings and
numbers: it pickles, and a worker loads its own copy.

Batching (the GRPO out-of-memory case, TRL#4419): inputs are sorted by token length and
packed so that each forward pass holds at most ``max_batch_tokens`` tokens, padding
included (rows times the longest row); an input longer than that runs alone. Results come
back in input order. The default budget is 16,384 tokens on a GPU and 2,048 on a CPU, where
bigger batches only cost memory (``benchmarks/rm_scoring_bench.py``). Rows are
right-padded and the score is read at the last kept token, so padding and batch size
change a result only by float rounding: batched equals unbatched within 1e-5 in float32
(bfloat16 and float16 round far more, about 1% of the score).

Shared prefixes (``share_prefix``, on by default; ``models.prefix``): with a causal
(decoder) classifier, inputs whose token ids share at least ``min_shared_prefix`` leading
tokens (a GRPO group: one prompt, G completions) run that prefix once and reuse its keys
and values for each suffix; the ids, positions and attention are the plain path's, so the
scores are too, within float rounding. Encoders and models without a KV cache keep the
plain path (``prefix_sharing()`` says which and why); ``classify_detailed`` gives each
input's shared tokens.

Determinism: every result is kept in the loaded model's LRU cache (``CACHE_SIZE``
entries, keyed by the rendered text and the truncation length), so within a process an
input always gets the value it got first, whatever it is batched with; ``cache=False``
turns that off (benchmarks, numerics tests).

Truncation (``max_length``, default the model's own limit): from the left, keeping the
leading special tokens (BOS, CLS, a template's first marker). A reward model reads the
last token, and a continuation's log-probs need its end, so the end of the text is what
must survive; what goes is the start of the prompt. A text longer than ``max_length``
times ``CHARS_PER_TOKEN`` characters is cut to that many characters before tokenising
(so a megabyte completion costs no more than a long one). ``classify_detailed`` and
``continuation_logprobs_detailed`` say how many tokens were dropped; a continuation that
does not fit at all is an error for its item.

Failures: an input that cannot be rendered (malformed messages, no chat template) or a
forward pass that fails gets a ``ModelError`` in its place; a model that cannot be loaded
gives every input a ``ModelError``; a model of the wrong kind raises ``Unsupported``.

Example:
    >>> backend = HFBackend("path/to/reward-model")  # doctest: +SKIP
    >>> backend.classify([[{"role": "user", "content": "2+2?"},
    ...                    {"role": "assistant", "content": "4"}]])  # doctest: +SKIP
    [{'score': 1.93}]
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from rewardsmith.errors import ConfigError, MissingExtraError
from rewardsmith.models.base import (
    Generation,
    ModelError,
    ModelInput,
    Result,
    TokenLogprobs,
    Unsupported,
    texts_only,
)
from rewardsmith.models.hf_model import (
    DTYPES,
    Classified,
    Continuation,
    Joint,
    LoadedModel,
    Role,
    RunOptions,
    default_batch_tokens,
    loaded_model,
    register_live,
)
from rewardsmith.models.prefix import DEFAULT_MIN_PREFIX

__all__ = ["HFBackend"]


class HFBackend:
    """A handle on a local ``transformers`` model (see the module docstring).

    Args:
        model: a local directory or a hub id.
        dtype: ``float32`` (default), ``bfloat16``, ``float16`` or ``auto`` (the checkpoint's).
        device: a torch device string (``cpu``, ``cuda``, ``cuda:1``).
        max_length: tokens per input, truncated from the left; None: the model's limit.
        max_batch_tokens: tokens per forward pass, padding included; None: 2,048 on a CPU,
            16,384 on a GPU (``batching.DEFAULT_MAX_BATCH_TOKENS``).
        cache: keep results in the loaded model's LRU cache.
        strip_special_tokens: remove special-token strings from chat message contents.
        share_prefix: run a prefix shared by several inputs once (causal classifiers).
        min_shared_prefix: the fewest tokens a group of inputs must share to share them.

    Raises:
        ConfigError: a bad option (an unknown dtype, a non-positive size).
    """

    def __init__(
        self,
        model: str,
        *,
        dtype: str = "float32",
        device: str = "cpu",
        max_length: int | None = None,
        max_batch_tokens: int | None = None,
        cache: bool = True,
        strip_special_tokens: bool = True,
        share_prefix: bool = True,
        min_shared_prefix: int = DEFAULT_MIN_PREFIX,
    ) -> None:
        problems = []
        if not isinstance(model, str) or not model:
            problems.append("model: a directory or hub id is required")
        if dtype not in DTYPES:
            problems.append(f"dtype: one of {', '.join(DTYPES)}, not {dtype!r}")
        if max_length is not None and max_length < 2:
            problems.append(f"max_length: at least 2, not {max_length}")
        budget = default_batch_tokens(device) if max_batch_tokens is None else max_batch_tokens
        if budget < 1:
            problems.append(f"max_batch_tokens: at least 1, not {budget}")
        if min_shared_prefix < 1:
            problems.append(f"min_shared_prefix: at least 1, not {min_shared_prefix}")
        if problems:
            raise ConfigError("HFBackend: " + "; ".join(problems))
        self.model = model
        self.dtype = dtype
        self.device = device
        self.max_length = max_length
        self.max_batch_tokens = budget
        self.cache = cache
        self.strip_special_tokens = strip_special_tokens
        self.share_prefix = share_prefix
        self.min_shared_prefix = min_shared_prefix
        self.name = f"hf:{model}"
        self.options = RunOptions(
            max_length, budget, cache, strip_special_tokens, share_prefix, min_shared_prefix
        )

    @classmethod
    def from_model(
        cls, model: Any, tokenizer: Any, *, max_batch_tokens: int | None = None
    ) -> HFBackend:
        """A backend on a causal LM already in memory: the policy a trainer is updating
        (``trainer.model`` and its tokenizer), for likelihood rewards read from the policy
        itself. The model is used as it is (its device, dtype and train or eval mode: put
        it in eval mode, or use a model without dropout, for exact log-probs); the cache
        is off, since its weights change between calls. It does not pickle: a worker
        process cannot reach the trainer's model."""
        try:
            device = str(next(model.parameters()).device)
        except (AttributeError, StopIteration, TypeError):
            raise ConfigError("from_model: a torch model with parameters is required") from None
        backend = _LiveBackend(
            f"live:{id(model)}", dtype="auto", device=device, max_batch_tokens=max_batch_tokens,
            cache=False,
        )  # fmt: skip
        register_live(backend.model, model, tokenizer, backend.dtype, device)
        return backend

    def _key(self) -> tuple[object, ...]:
        return (self.model, self.dtype, self.device, self.max_length, self.max_batch_tokens,
                self.cache, self.strip_special_tokens, self.share_prefix,
                self.min_shared_prefix)  # fmt: skip

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HFBackend) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"HFBackend({self.model!r}, dtype={self.dtype!r}, device={self.device!r})"

    def load(self, role: Role) -> LoadedModel:
        """The shared model for ``role`` (``classifier`` or ``causal``), loaded on first use."""
        return loaded_model(self.model, role, self.dtype, self.device)

    # -- classify --------------------------------------------------------------------

    def classify(self, inputs: Sequence[ModelInput]) -> list[Result[dict[str, float]]]:
        return [
            r if isinstance(r, ModelError) else r.scores for r in self.classify_detailed(inputs)
        ]

    def classify_detailed(self, inputs: Sequence[ModelInput]) -> list[Result[Classified]]:
        """``classify`` with each input's token count and truncation."""
        loaded = self._load_or_fail("classifier", len(inputs))
        if isinstance(loaded, ModelError):
            return [loaded] * len(inputs)
        with loaded.lock:
            return loaded.classify(list(inputs), self.options)

    def prefix_sharing(self) -> str:
        """``on`` when ``classify`` shares prefixes, ``off`` when ``share_prefix`` is False,
        else why the model cannot (an encoder, no KV cache, a failed check)."""
        if not self.share_prefix:
            return "off"
        loaded = self.load("classifier")
        with loaded.lock:
            sharer = loaded.prefix_sharing()
        if isinstance(sharer, str):
            return sharer
        return "on" if sharer.reason is None else sharer.reason

    async def aclassify_detailed(self, inputs: Sequence[ModelInput]) -> list[Result[Classified]]:
        return await asyncio.to_thread(self.classify_detailed, list(inputs))

    def classify_joint(
        self, groups: Sequence[tuple[ModelInput, Sequence[str]]], chat: bool = True
    ) -> list[Result[Joint]]:
        """Each ``(prompt, responses)`` judged in one pass (You Only Judge Once,
        ``models.joint``): every response's head scores, in the order given. ``chat``
        renders the prompt with the model's chat template (a text prompt as a user turn);
        otherwise the prompt is plain text."""
        loaded = self._load_or_fail("classifier", len(groups))
        if isinstance(loaded, ModelError):
            return [loaded] * len(groups)
        with loaded.lock:
            return loaded.classify_joint([(p, list(r)) for p, r in groups], self.options, chat)

    # -- continuation log-probs -------------------------------------------------------

    def continuation_logprobs(
        self, pairs: Sequence[tuple[ModelInput, str]]
    ) -> list[Result[TokenLogprobs]]:
        out = self.continuation_logprobs_detailed(pairs)
        return [r if isinstance(r, ModelError) else r.logprobs for r in out]

    def continuation_logprobs_detailed(
        self, pairs: Sequence[tuple[ModelInput, str]]
    ) -> list[Result[Continuation]]:
        """``continuation_logprobs`` with each pair's token count and truncation."""
        loaded = self._load_or_fail("causal", len(pairs))
        if isinstance(loaded, ModelError):
            return [loaded] * len(pairs)
        with loaded.lock:
            return loaded.continuations(list(pairs), self.options)

    def soft_values(
        self,
        pairs: Sequence[tuple[ModelInput, str]],
        alpha: float = 1.0,
        end_with_eos: bool = False,
    ) -> list[Result[Continuation]]:
        """``continuation_logprobs_detailed`` with each continuation's ``SoftValues``: the
        raw logits read as a soft Q-function at temperature ``alpha`` (the endogenous
        reward, ``likelihood.endogenous``). ``end_with_eos`` appends the tokenizer's EOS
        token to every continuation, so ending the response is its last action."""
        if not alpha > 0:
            raise ConfigError(f"soft_values: alpha must be positive, not {alpha}")
        loaded = self._load_or_fail("causal", len(pairs))
        if isinstance(loaded, ModelError):
            return [loaded] * len(pairs)
        eos = loaded.tokenizer.eos_token if end_with_eos else ""
        if end_with_eos and not eos:
            raise Unsupported(f"{self.model}: the tokenizer has no EOS token to end with")
        with loaded.lock:
            ended = [(p, c + eos if isinstance(c, str) else c) for p, c in pairs]
            return loaded.continuations(ended, self.options, alpha)

    # -- generation -------------------------------------------------------------------

    def generate(
        self,
        prompts: Sequence[ModelInput],
        *,
        max_new_tokens: int = 256,
        temperature: float = 1.0,
        n: int = 1,
        seed: int | None = None,
    ) -> list[Result[list[str]]]:
        out = self.generate_detailed(
            prompts, max_new_tokens=max_new_tokens, temperature=temperature, n=n, seed=seed
        )
        return texts_only(out)

    def generate_detailed(
        self,
        prompts: Sequence[ModelInput],
        *,
        max_new_tokens: int = 256,
        temperature: float = 1.0,
        n: int = 1,
        seed: int | None = None,
    ) -> list[Result[Generation]]:
        """``generate`` with the tokens each prompt read and generated."""
        if max_new_tokens < 1 or n < 1 or temperature < 0:
            raise ConfigError("generate: max_new_tokens and n at least 1, temperature >= 0")
        loaded = self._load_or_fail("causal", len(prompts))
        if isinstance(loaded, ModelError):
            return [loaded] * len(prompts)
        with loaded.lock:
            return [
                loaded.generate_one(p, self.options, max_new_tokens, temperature, n, seed)
                for p in prompts
            ]

    # -- async twins ------------------------------------------------------------------

    async def aclassify(self, inputs: Sequence[ModelInput]) -> list[Result[dict[str, float]]]:
        return await asyncio.to_thread(self.classify, list(inputs))

    async def acontinuation_logprobs(
        self, pairs: Sequence[tuple[ModelInput, str]]
    ) -> list[Result[TokenLogprobs]]:
        return await asyncio.to_thread(self.continuation_logprobs, list(pairs))

    async def acontinuation_logprobs_detailed(
        self, pairs: Sequence[tuple[ModelInput, str]]
    ) -> list[Result[Continuation]]:
        return await asyncio.to_thread(self.continuation_logprobs_detailed, list(pairs))

    async def agenerate(
        self,
        prompts: Sequence[ModelInput],
        *,
        max_new_tokens: int = 256,
        temperature: float = 1.0,
        n: int = 1,
        seed: int | None = None,
    ) -> list[Result[list[str]]]:
        return await asyncio.to_thread(
            self.generate,
            list(prompts),
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            n=n,
            seed=seed,
        )

    def rendered(
        self, inputs: Sequence[ModelInput], role: Role = "classifier"
    ) -> list[Result[str]]:
        """The text each input becomes before tokenising (for a look at the template)."""
        loaded = self._load_or_fail(role, len(inputs))
        if isinstance(loaded, ModelError):
            return [loaded] * len(inputs)
        with loaded.lock:
            out: list[Result[str]] = []
            for x in inputs:
                try:
                    out.append(loaded.render(x, self.options, prefix=role == "causal")[0])
                except Exception as exc:
                    out.append(ModelError.of(exc))
            return out

    def _load_or_fail(self, role: Role, n: int) -> LoadedModel | ModelError:
        """The loaded model; a loading failure becomes every input's error (none for an
        empty call: nothing is loaded for nothing)."""
        if n == 0:
            return ModelError("NoInput", "nothing to run")
        try:
            return self.load(role)
        except (Unsupported, MissingExtraError, ConfigError):
            raise
        except Exception as exc:  # a missing directory, a broken checkpoint: every item fails
            return ModelError.of(exc)


class _LiveBackend(HFBackend):
    """``HFBackend.from_model``'s handle: the model lives in this process only."""

    def __reduce__(self) -> Any:
        raise TypeError(
            "a backend on a live model does not pickle: pass a directory or a server URL "
            "to score in other processes"
        )

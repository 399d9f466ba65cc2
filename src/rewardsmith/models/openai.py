"""Models behind an OpenAI-compatible server (vLLM, SGLang, ``transformers serve``, APIs).

``OpenAIBackend`` implements ``models.base.Backend`` over HTTP:

- ``generate``: chat completions for chat inputs, legacy completions for text, with
  ``n``, ``temperature``, ``max_new_tokens`` and ``seed``. A server that ignores ``n``
  (``transformers serve`` answers one choice) gets one request per missing sample, with
  ``seed + k`` when a seed is given; the backend remembers it and asks that way next time.
- ``continuation_logprobs``: the prompt log-probs of ``prefix + continuation`` from legacy
  completions with ``echo=true, logprobs=0`` (OpenAI's legacy models, vLLM, SGLang), or
  from vLLM's ``prompt_logprobs`` (``logprobs_via="prompt_logprobs"``). The continuation's
  tokens are those whose span is not entirely inside the prefix (a token that straddles a
  mid-word boundary belongs to the continuation), read from the returned ``text_offset``s
  counted back from the end of the prompt, so a BOS token the server puts in front moves
  nothing. A server that answers ``logprobs: null`` raises ``Unsupported`` once.
- ``classify``: vLLM's ``/classify`` (``{"input"|"messages"}`` -> ``data[0].probs``) or,
  with ``classify_route="pooling"``, ``/pooling`` for reward models served with a pooling
  runner (``data[0].data``: one vector, or one per token, of which the last is taken). Both
  routes live at the server's root, beside ``/v1``.

Every request has a deadline (``timeout_s``, retries and waits included), at most
``max_concurrency`` requests are in flight per call, and 408/425/429/5xx answers and
connection errors are retried ``retries`` times with jittered exponential backoff (an
answer's ``Retry-After`` is honoured; a wait that would pass the deadline is not made).
What still fails is a ``ModelError`` in that item's place (``timeout=True`` for a
deadline), never a number and never an exception for the batch; ``Unsupported`` is raised
only when the server cannot do the thing at all (no log-probs, no such route).

Threat model (a server is not trusted to be well behaved): a reply is read up to
``max_reply_bytes`` (32 MiB) and an item fails past it; a reply that never ends is cut by
the deadline; a body that is not JSON, JSON of the wrong shape, and numbers that are not
finite (``NaN``, ``Infinity``, strings, booleans) are per-item ``BadReply`` errors whose
message names what was wrong and quotes at most a few hundred characters. Not covered: a
server that answers well-formed but wrong numbers.

Known issues: each call opens its own connection pool (calls made on different event loops
cannot share one), so connections are kept alive within a call, not across calls.
vLLM measures ``text_offset`` over its decoded token strings; a character split across
byte-level tokens can shift those offsets, and the boundary with it. Chat prefixes are not
supported by ``continuation_logprobs``: legacy completions take text, so render the chat
with the model's template first.

Needs ``httpx2`` (the ``[judge]`` extra): the maintained successor of ``httpx``, whose connection pool stays fast with many requests in flight (``benchmarks/judge_bench.py``).

Example:
    >>> backend = OpenAIBackend("http://127.0.0.1:8000/v1", "Qwen/Qwen2.5-0.5B-Instruct")  # doctest: +SKIP
    >>> backend.generate([[{"role": "user", "content": "2+2?"}]], n=2, max_new_tokens=8)  # doctest: +SKIP
    [['4', 'Four.']]
"""

from __future__ import annotations

import os
from collections.abc import (
    Mapping,
    Sequence,
)
from typing import Any, Literal, TypeVar

from rewardsmith.errors import ConfigError, MissingExtraError, brief
from rewardsmith.models.base import (
    Generation,
    ModelError,
    ModelInput,
    Result,
    TokenLogprobs,
    Unsupported,
    texts_only,
)
from rewardsmith.models.http import (
    MAX_REPLY_BYTES,
    BadReply,
    HTTPCaller,
    at_path,
    finite,
    gather_all,
    guard,
    run_sync,
)

try:
    import httpx2
except ImportError:  # pragma: no cover - depends on the environment
    raise MissingExtraError("httpx2", "judge") from None

__all__ = ["OpenAIBackend"]

T = TypeVar("T")


class OpenAIBackend:
    """A model behind an OpenAI-compatible server (see the module docstring).

    Args:
        base_url: the API root, usually ending in ``/v1`` (``http://127.0.0.1:8000/v1``);
            ``/classify`` and ``/pooling`` are at the root without ``/v1``.
        model: the model name sent with each request (None: the field is left out, which
            servers serving one model accept).
        api_key: a bearer token; default ``$OPENAI_API_KEY``, else none.
        timeout_s: the deadline of one request, retries and waits included.
        max_concurrency: requests in flight at once within one call.
        retries: retries after the first attempt (429, 5xx, connection errors).
        backoff_s: the first retry's wait; doubling, with jitter.
        headers: extra headers for every request.
        transport: an ``httpx2`` async transport (tests use ``httpx2.MockTransport``).
        logprobs_via: ``"echo"`` (legacy completions with ``echo``) or
            ``"prompt_logprobs"`` (vLLM's field).
        classify_route: ``"classify"`` (vLLM's ``/classify``) or ``"pooling"``.
        labels: the classifier's class names in order (its ``id2label``); default
            ``{"score": x}`` for one class and ``LABEL_i`` for more.
        use_activation: sent to ``/classify``: False (default) asks for raw logits, as a
            local reward model gives; True for the server's softmax/sigmoid; None leaves
            the server's default.
        extra_body: fields merged into every request body (for example
            ``{"generation_config": '{"do_sample": true}'}`` for ``transformers serve``).
        max_reply_bytes: the most bytes read from one reply.
    """

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        *,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        max_concurrency: int = 16,
        retries: int = 4,
        backoff_s: float = 0.5,
        headers: Mapping[str, str] | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        logprobs_via: Literal["echo", "prompt_logprobs"] = "echo",
        classify_route: Literal["classify", "pooling"] = "classify",
        labels: Sequence[str] | None = None,
        use_activation: bool | None = False,
        extra_body: Mapping[str, Any] | None = None,
        max_reply_bytes: int = MAX_REPLY_BYTES,
    ) -> None:
        if logprobs_via not in ("echo", "prompt_logprobs"):
            raise ConfigError(
                f"logprobs_via must be 'echo' or 'prompt_logprobs' (got {logprobs_via!r})"
            )
        if classify_route not in ("classify", "pooling"):
            raise ConfigError(
                f"classify_route must be 'classify' or 'pooling' (got {classify_route!r})"
            )
        self.base_url = base_url.rstrip("/")
        self.root_url = self.base_url.removesuffix("/v1")
        self.model = model
        self.name = f"openai:{model or self.base_url}"
        self.logprobs_via = logprobs_via
        self.classify_route = classify_route
        self.labels = tuple(labels) if labels is not None else None
        self.use_activation = use_activation
        self.extra_body = dict(extra_body or {})
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        auth = {"authorization": f"Bearer {key}"} if key else {}
        self._http = HTTPCaller(
            timeout_s=timeout_s,
            max_concurrency=max_concurrency,
            retries=retries,
            backoff_s=backoff_s,
            headers={**auth, **dict(headers or {})},
            transport=transport,
            max_reply_bytes=max_reply_bytes,
        )
        self._ignores_n = False  # learnt from the server's first answer
        self._logprobs_ok = False
        self._no_logprobs: str | None = None

    def __repr__(self) -> str:
        return f"OpenAIBackend({self.base_url!r}, {self.model!r})"

    def _body(self, **fields: Any) -> dict[str, Any]:
        body = {**self.extra_body, **fields}
        if self.model is not None:
            body["model"] = self.model
        return body

    # --- generate ------------------------------------------------------------------

    def generate(
        self,
        prompts: Sequence[ModelInput],
        *,
        max_new_tokens: int = 256,
        temperature: float = 1.0,
        n: int = 1,
        seed: int | None = None,
    ) -> list[Result[list[str]]]:
        """``n`` sampled texts per prompt, in order; a ``ModelError`` for a failed prompt."""
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
        """``generate`` with the server's token counts (``usage``; None where it sends none)."""
        return run_sync(
            self.agenerate_detailed(
                prompts, max_new_tokens=max_new_tokens, temperature=temperature, n=n, seed=seed
            )
        )

    async def agenerate(
        self,
        prompts: Sequence[ModelInput],
        *,
        max_new_tokens: int = 256,
        temperature: float = 1.0,
        n: int = 1,
        seed: int | None = None,
    ) -> list[Result[list[str]]]:
        """The async ``generate``."""
        out = await self.agenerate_detailed(
            prompts, max_new_tokens=max_new_tokens, temperature=temperature, n=n, seed=seed
        )
        return texts_only(out)

    async def agenerate_detailed(
        self,
        prompts: Sequence[ModelInput],
        *,
        max_new_tokens: int = 256,
        temperature: float = 1.0,
        n: int = 1,
        seed: int | None = None,
    ) -> list[Result[Generation]]:
        """The async ``generate_detailed``."""
        if n < 1 or max_new_tokens < 1:
            raise ConfigError(f"n and max_new_tokens must be >= 1 (got {n}, {max_new_tokens})")
        async with self._http.session() as post:

            async def one(prompt: ModelInput) -> Generation:
                chat = not isinstance(prompt, str)
                url = self.base_url + ("/chat/completions" if chat else "/completions")
                body = self._body(max_tokens=max_new_tokens, temperature=temperature)
                if isinstance(prompt, str):
                    body["prompt"] = prompt
                else:
                    body["messages"] = [dict(m) for m in prompt]
                usage = _Usage()

                async def ask(k: int, count: int) -> list[str]:
                    extra = {"seed": seed + k} if seed is not None else {}
                    reply = await post(url, {**body, **extra, "n": count})
                    usage.add(reply)
                    return _choices(reply, chat)[:count]

                if self._ignores_n and n > 1:
                    parts = await gather_all(ask(k, 1) for k in range(n))
                    return usage.of([t for part in parts for t in part])
                texts = await ask(0, n)
                if len(texts) < n:
                    self._ignores_n = self._ignores_n or len(texts) == 1
                    more = await gather_all(ask(k, 1) for k in range(len(texts), n))
                    texts += [t for part in more for t in part]
                if len(texts) < n:
                    raise BadReply(f"asked for {n} choices, got {len(texts)}")
                return usage.of(texts)

            return await gather_all(guard(one(p)) for p in prompts)

    # --- continuation log-probs ----------------------------------------------------

    def continuation_logprobs(
        self, pairs: Sequence[tuple[ModelInput, str]]
    ) -> list[Result[TokenLogprobs]]:
        """log-probs of each continuation's tokens given its prefix (see the module docstring)."""
        return run_sync(self.acontinuation_logprobs(pairs))

    async def acontinuation_logprobs(
        self, pairs: Sequence[tuple[ModelInput, str]]
    ) -> list[Result[TokenLogprobs]]:
        """The async ``continuation_logprobs``."""
        if self._no_logprobs is not None:
            raise Unsupported(self._no_logprobs)
        texts: list[tuple[str, str]] = []
        for prefix, continuation in pairs:
            if not isinstance(prefix, str) or not isinstance(continuation, str):
                raise Unsupported(
                    f"{self!r}.continuation_logprobs takes text: legacy completions have no chat "
                    "form, so render the chat with the model's chat template first"
                )
            texts.append((prefix, continuation))
        if not texts:
            return []
        async with self._http.session() as post:

            async def one(prefix: str, continuation: str) -> TokenLogprobs:
                echo = self.logprobs_via == "echo"
                body = self._body(prompt=prefix + continuation, max_tokens=1, temperature=0.0)
                # max_tokens=1, not 0: some servers reject 0 (transformers serve answers
                # 500); the generated token is dropped below.
                body.update({"echo": True, "logprobs": 0} if echo else {"prompt_logprobs": 0})
                reply = await post(self.base_url + "/completions", body)
                read = _echo_tokens if echo else _prompt_logprob_tokens
                parsed = read(reply, at_path(reply, "choices", 0))
                if parsed is None:
                    self._no_logprobs = self._unsupported_logprobs(reply)
                    raise Unsupported(self._no_logprobs)
                return _continuation(*parsed, len(continuation))

            results: list[Result[TokenLogprobs]] = []
            if not self._logprobs_ok:  # learn whether the server has log-probs from one item
                results.append(await guard(one(*texts[0])))
                texts = texts[1:]
                self._logprobs_ok = not isinstance(results[0], ModelError)
            results += await gather_all(guard(one(*pair)) for pair in texts)
            return results

    def _unsupported_logprobs(self, reply: Any) -> str:
        what = "logprobs" if self.logprobs_via == "echo" else "prompt_logprobs"
        served = reply.get("model") if isinstance(reply, dict) else None
        return (
            f"the server at {self.base_url} (model {served!r}) answered {what}: null, so it "
            "cannot give prompt log-probabilities; continuation_logprobs needs legacy "
            "completions with echo=true and logprobs=0 (vLLM, SGLang, OpenAI's legacy models) "
            "or vLLM's prompt_logprobs (logprobs_via='prompt_logprobs'). transformers serve "
            "returns no log-probs at all: use the local transformers backend there"
        )

    # --- classify ------------------------------------------------------------------

    def classify(self, inputs: Sequence[ModelInput]) -> list[Result[dict[str, float]]]:
        """Each input's class scores (``{"score": x}`` for a one-label reward model)."""
        return run_sync(self.aclassify(inputs))

    async def aclassify(self, inputs: Sequence[ModelInput]) -> list[Result[dict[str, float]]]:
        """The async ``classify``."""
        url = f"{self.root_url}/{self.classify_route}"
        async with self._http.session() as post:

            async def one(item: ModelInput) -> dict[str, float]:
                body = self._body()
                if isinstance(item, str):
                    body["input"] = item
                else:
                    body["messages"] = [dict(m) for m in item]
                if self.classify_route == "classify":
                    if self.use_activation is not None:
                        body["use_activation"] = self.use_activation
                    values = at_path(await post(url, body), "data", 0, "probs")
                else:
                    body["encoding_format"] = "float"
                    values = at_path(await post(url, body), "data", 0, "data")
                    if isinstance(values, list) and values and isinstance(values[-1], list):
                        values = values[-1]  # one vector per token: the sequence's is the last
                return self._heads(values)

            return await gather_all(guard(one(x)) for x in inputs)

    def _heads(self, values: Any) -> dict[str, float]:
        if not isinstance(values, list) or not values:
            raise BadReply(
                f"expected a non-empty list of class scores, got {brief(values)} (for "
                f"/{self.classify_route} vLLM answers data[0].{'probs' if self.classify_route == 'classify' else 'data'})"
            )
        scores = [finite(v, f"class score {i}") for i, v in enumerate(values)]
        if self.labels is not None:
            if len(self.labels) != len(scores):
                raise BadReply(
                    f"{len(scores)} class scores for {len(self.labels)} labels {self.labels}"
                )
            return dict(zip(self.labels, scores, strict=True))
        if len(scores) == 1:
            return {"score": scores[0]}
        return {f"LABEL_{i}": s for i, s in enumerate(scores)}


class _Usage:
    """Token counts summed over one prompt's requests; None once a reply has none."""

    def __init__(self) -> None:
        self.tokens_in: int | None = 0
        self.tokens_out: int | None = 0

    def add(self, reply: Any) -> None:
        usage = reply.get("usage") if isinstance(reply, dict) else None
        usage = usage if isinstance(usage, dict) else {}
        self.tokens_in = _plus(self.tokens_in, usage.get("prompt_tokens"))
        self.tokens_out = _plus(self.tokens_out, usage.get("completion_tokens"))

    def of(self, texts: list[str]) -> Generation:
        return Generation(texts, self.tokens_in, self.tokens_out)


def _plus(total: int | None, got: Any) -> int | None:
    if total is None or isinstance(got, bool) or not isinstance(got, int) or got < 0:
        return None
    return total + got


def _choices(reply: Any, chat: bool) -> list[str]:
    choices = at_path(reply, "choices")
    if not isinstance(choices, list) or not choices:
        raise BadReply(f"reply['choices'] is {brief(choices)}, expected a non-empty list")
    ordered = sorted(choices, key=_index)
    path: tuple[str, ...] = ("message", "content") if chat else ("text",)
    texts = [at_path(c, *path) for c in ordered]
    for text in texts:
        if not isinstance(text, str):
            raise BadReply(f"choices[].{'.'.join(path)} is {brief(text)}, expected a string")
    return texts


def _index(choice: Any) -> int:
    index = choice.get("index") if isinstance(choice, dict) else None
    return index if isinstance(index, int) else 0


_Tokens = tuple[list[str], list[Any], list[int], int, tuple[int, ...] | None]


def _echo_tokens(reply: Any, choice: Any) -> _Tokens | None:
    """The prompt's tokens, log-probs and offsets from an echo answer (None: no log-probs)."""
    logprobs = choice.get("logprobs") if isinstance(choice, dict) else None
    if logprobs is None:
        return None
    tokens, values, offsets = (
        at_path(logprobs, k) for k in ("tokens", "token_logprobs", "text_offset")
    )
    if not (isinstance(tokens, list) and isinstance(values, list) and isinstance(offsets, list)):
        raise BadReply("logprobs.tokens, token_logprobs and text_offset must be lists")
    if not len(tokens) == len(values) == len(offsets):
        raise BadReply(
            f"logprobs lists differ in length ({len(tokens)}, {len(values)}, {len(offsets)})"
        )
    usage = reply.get("usage") if isinstance(reply, dict) else None
    count = usage.get("prompt_tokens") if isinstance(usage, dict) else None
    if not (isinstance(count, int) and 0 < count <= len(tokens)):
        count = max(len(tokens) - 1, 0)  # we asked for one new token
    if not all(isinstance(t, str) for t in tokens) or not all(
        isinstance(o, int) and not isinstance(o, bool) for o in offsets
    ):
        raise BadReply("logprobs.tokens must be strings and text_offset integers")
    end = offsets[count] if count < len(offsets) else offsets[-1] + len(tokens[-1])
    return tokens[:count], values[:count], offsets[:count], end, None


def _prompt_logprob_tokens(reply: Any, choice: Any) -> _Tokens | None:
    """The same from vLLM's ``prompt_logprobs``: per token ``{id: {logprob, decoded_token}}``."""
    entries = choice.get("prompt_logprobs") if isinstance(choice, dict) else None
    if entries is None:
        return None
    if not isinstance(entries, list):
        raise BadReply(f"prompt_logprobs is {brief(entries)}, expected a list")
    ids_sent = choice.get("prompt_token_ids")
    tokens: list[str] = []
    values: list[Any] = []
    ids: list[int] = []
    for i, entry in enumerate(entries):
        if entry is None:  # the first token has no log-prob; its text is not sent
            tokens.append("")
            values.append(None)
            ids.append(-1)
            continue
        if not isinstance(entry, dict) or not entry:
            raise BadReply(f"prompt_logprobs[{i}] is {brief(entry)}")
        key = next(iter(entry))
        if len(entry) > 1:
            if (
                not isinstance(ids_sent, list)
                or i >= len(ids_sent)
                or str(ids_sent[i]) not in entry
            ):
                raise BadReply(f"prompt_logprobs[{i}] has several tokens and no prompt_token_ids")
            key = str(ids_sent[i])
        info = entry[key]
        text = at_path(info, "decoded_token")
        if not isinstance(text, str) or not str(key).lstrip("-").isdigit():
            raise BadReply(f"prompt_logprobs[{i}] is {brief(entry)}")
        tokens.append(text)
        values.append(at_path(info, "logprob"))
        ids.append(int(key))
    offsets = [0]
    for text in tokens[:-1]:
        offsets.append(offsets[-1] + len(text))
    end = offsets[-1] + len(tokens[-1]) if tokens else 0
    return tokens, values, offsets[: len(tokens)], end, tuple(ids)


def _continuation(
    tokens: list[str],
    values: list[Any],
    offsets: list[int],
    end: int,
    ids: tuple[int, ...] | None,
    length: int,
) -> TokenLogprobs:
    """The tokens of the last ``length`` characters: those whose span ends after the
    boundary, counted back from ``end`` (a BOS token in front moves nothing)."""
    if not tokens:
        if length:
            raise BadReply("the server sent no prompt tokens")
        return TokenLogprobs((), ())
    ends = [*offsets[1:], end]
    if any(b < a for a, b in zip(offsets, ends, strict=True)):
        raise BadReply(f"text_offset is not increasing: {brief(offsets)}")
    boundary = end - length
    if boundary < offsets[0]:
        raise BadReply(
            f"the server's prompt tokens cover fewer characters than the continuation ({length}); "
            "an empty prefix on a model without BOS leaves the first token without a log-prob"
        )
    start = next((i for i, e in enumerate(ends) if e > boundary), len(tokens))
    picked = []
    for i in range(start, len(tokens)):
        value = values[i]
        if value is None:
            raise BadReply(f"continuation token {tokens[i]!r} has no log-probability")
        number = finite(value, f"the log-prob of token {tokens[i]!r}")
        if number > 1e-4:
            raise BadReply(f"the log-prob of token {tokens[i]!r} is {number}, above 0")
        picked.append(number)
    return TokenLogprobs(
        tuple(tokens[start:]), tuple(picked), ids[start:] if ids is not None else None
    )

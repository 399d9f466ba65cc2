"""A reward model behind OpenRLHF's remote reward protocol (``--reward.remote_url``).

``OpenRLHFBackend(url)`` POSTs ``{"query": [...], "prompts": [...], "labels": [...]}`` to
``url`` exactly as given (so it includes the route, ``http://host:port/get_reward``) and
reads ``{"rewards": [...]}``: one float per query, which is what ``rewardsmith serve``
answers and what OpenRLHF's own reward servers answer.

- ``score_samples(samples)``: each sample's prompt, prompt + completion as the query and
  its reference as the label, the way OpenRLHF itself asks; ``rm.score`` calls this.
- ``classify(inputs)``: each input as a query with an empty prompt and no label, as
  ``{"score": reward}``: for servers that score the text alone.
- ``continuation_logprobs`` and ``generate`` raise ``Unsupported``: the protocol has
  neither.

Items travel in requests of up to ``batch_size``, in order (rollouts of one prompt are
usually neighbours, so a server that groups by prompt sees them together); every request
has the deadline, concurrency bound and retries of ``models.http.HTTPCaller``. A failed
request fails only its items, each with a ``ModelError``. A reward that is not a finite
number fails its item only. A ``rewardsmith serve`` reply says which items it could not
score (``extra_logs["rewardsmith/scored"]`` is 0, and the reward is its ``on_error``
stand-in): those come back as ``ModelError("Unscored" | "Skipped", ...)``, never as the
stand-in number.

Known issues: the protocol carries text, so a chat prompt must be rendered with the
policy's chat template first (as OpenRLHF does); a chat completion is sent as its last
assistant message. Labels that are not JSON are sent as their ``str``.

Example:
    >>> backend = OpenRLHFBackend("http://127.0.0.1:5000/get_reward")  # doctest: +SKIP
    >>> backend.score_samples([Sample(prompt="2+2? ", completion="<answer>4</answer>", reference="4")])  # doctest: +SKIP
    [1.0]
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rewardsmith.core import Sample
from rewardsmith.errors import ConfigError, brief
from rewardsmith.models.base import ModelError, ModelInput, Result, TokenLogprobs, Unsupported
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

if TYPE_CHECKING:
    import httpx2

__all__ = ["OpenRLHFBackend"]

_Post = Callable[[str, Mapping[str, Any]], Awaitable[Any]]
_Row = tuple[str, str, Any]  # query, prompt, label


class OpenRLHFBackend:
    """A reward server speaking OpenRLHF's protocol (see the module docstring).

    Args:
        url: the full URL of the route, ``http://host:port/get_reward``.
        timeout_s: the deadline of one request, retries and waits included.
        max_concurrency: requests in flight at once within one call.
        retries: retries after the first attempt (429, 5xx, connection errors).
        backoff_s: the first retry's wait; doubling, with jitter.
        batch_size: items per request.
        headers: extra headers (``{"authorization": "Bearer ..."}`` for a server with a token).
        transport: an ``httpx2`` async transport (tests use ``httpx2.MockTransport``).
        max_reply_bytes: the most bytes read from one reply.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 60.0,
        max_concurrency: int = 16,
        retries: int = 4,
        backoff_s: float = 0.5,
        batch_size: int = 32,
        headers: Mapping[str, str] | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        max_reply_bytes: int = MAX_REPLY_BYTES,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1 (got {batch_size})")
        self.url = url
        self.name = f"openrlhf:{url}"
        self.batch_size = batch_size
        self._http = HTTPCaller(
            timeout_s=timeout_s,
            max_concurrency=max_concurrency,
            retries=retries,
            backoff_s=backoff_s,
            headers=headers,
            transport=transport,
            max_reply_bytes=max_reply_bytes,
        )

    def __repr__(self) -> str:
        return f"OpenRLHFBackend({self.url!r})"

    def score_samples(self, samples: Sequence[Sample]) -> list[Result[float]]:
        """Each sample's reward from the server, in order; a ``ModelError`` where none came."""
        return run_sync(self.ascore_samples(samples))

    async def ascore_samples(self, samples: Sequence[Sample]) -> list[Result[float]]:
        """The async ``score_samples``."""
        rows: list[_Row] = []
        for sample in samples:
            if not isinstance(sample.prompt, str):
                raise Unsupported(
                    f"{self!r}: OpenRLHF's protocol carries text; render chat prompts with the "
                    "policy's chat template first (what OpenRLHF itself sends)"
                )
            rows.append((sample.prompt + sample.text, sample.prompt, sample.reference))
        return await self._rewards(rows)

    def classify(self, inputs: Sequence[ModelInput]) -> list[Result[dict[str, float]]]:
        """Each input scored alone (empty prompt, no label), as ``{"score": reward}``."""
        return run_sync(self.aclassify(inputs))

    async def aclassify(self, inputs: Sequence[ModelInput]) -> list[Result[dict[str, float]]]:
        """The async ``classify``."""
        rows: list[_Row] = []
        for item in inputs:
            if not isinstance(item, str):
                raise Unsupported(
                    f"{self!r}: OpenRLHF's protocol carries text; render chats with the "
                    "model's chat template first"
                )
            rows.append((item, "", None))
        rewards = await self._rewards(rows)
        return [r if isinstance(r, ModelError) else {"score": r} for r in rewards]

    def continuation_logprobs(
        self, pairs: Sequence[tuple[ModelInput, str]]
    ) -> list[Result[TokenLogprobs]]:
        raise self._unsupported("continuation log-probs")

    async def acontinuation_logprobs(
        self, pairs: Sequence[tuple[ModelInput, str]]
    ) -> list[Result[TokenLogprobs]]:
        raise self._unsupported("continuation log-probs")

    def generate(
        self,
        prompts: Sequence[ModelInput],
        *,
        max_new_tokens: int = 256,
        temperature: float = 1.0,
        n: int = 1,
        seed: int | None = None,
    ) -> list[Result[list[str]]]:
        raise self._unsupported("generation")

    async def agenerate(
        self,
        prompts: Sequence[ModelInput],
        *,
        max_new_tokens: int = 256,
        temperature: float = 1.0,
        n: int = 1,
        seed: int | None = None,
    ) -> list[Result[list[str]]]:
        raise self._unsupported("generation")

    def _unsupported(self, what: str) -> Unsupported:
        return Unsupported(
            f"{self!r}: OpenRLHF's reward protocol returns one reward per query and has no "
            f"{what}; use OpenAIBackend (a vLLM server) or the local transformers backend"
        )

    async def _rewards(self, rows: Sequence[_Row]) -> list[Result[float]]:
        chunks = [rows[i : i + self.batch_size] for i in range(0, len(rows), self.batch_size)]
        async with self._http.session() as post:
            parts = await gather_all(self._chunk(post, chunk) for chunk in chunks)
        return [r for part in parts for r in part]

    async def _chunk(self, post: _Post, rows: Sequence[_Row]) -> list[Result[float]]:
        body = {
            "query": [q for q, _, _ in rows],
            "prompts": [p for _, p, _ in rows],
            "labels": [label for _, _, label in rows],
        }
        reply = await guard(post(self.url, body))
        if isinstance(reply, ModelError):
            return [reply] * len(rows)
        try:
            return _read_reply(reply, len(rows))
        except BadReply as exc:
            return [ModelError.of(exc)] * len(rows)


def _read_reply(reply: Any, count: int) -> list[Result[float]]:
    rewards = at_path(reply, "rewards")
    if not isinstance(rewards, list) or len(rewards) != count:
        raise BadReply(f"reply['rewards'] is {brief(rewards)}, expected a list of {count} numbers")
    out: list[Result[float]] = []
    for i, value in enumerate(rewards):
        try:
            out.append(finite(value, f"rewards[{i}]"))
        except BadReply as exc:
            out.append(ModelError.of(exc))
    logs = reply.get("extra_logs")
    scored = logs.get("rewardsmith/scored") if isinstance(logs, dict) else None
    skipped = logs.get("rewardsmith/skipped") if isinstance(logs, dict) else None
    if isinstance(scored, list) and len(scored) == count:
        for i, flag in enumerate(scored):
            if flag == 0 and not isinstance(out[i], ModelError):
                was_skipped = (
                    isinstance(skipped, list) and len(skipped) == count and skipped[i] == 1
                )
                out[i] = ModelError(
                    "Skipped" if was_skipped else "Unscored",
                    f"the reward server {'skipped' if was_skipped else 'could not score'} this "
                    f"item (extra_logs['rewardsmith/scored'] is 0; its reward {out[i]} is the "
                    "server's on_error stand-in)",
                )
    return out

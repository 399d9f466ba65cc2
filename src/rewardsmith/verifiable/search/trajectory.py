"""Reading a search agent's trajectory: its searches, retrieved text, answer and format.

Two layouts are read:

- **Chat messages** (TRL and verl agent loops): assistant messages whose ``tool_calls``
  name a search tool (``search``, ``web_search``, ``retrieve`` by default) with a string
  ``query`` (or a list ``queries``/``query_list``) argument, and ``role: "tool"`` results.
  The answer is the last ``<answer>`` block of the assistant messages, else the content
  of the final assistant message when it calls no tool.
- **Tagged text** (Search-R1 and its descendants): ``<think>``, ``<search>query</search>``,
  ``<information>...</information>``, ``<answer>...</answer>``. Parallel sub-queries share
  one ``<search>`` block separated by ``##`` (ParallelSearch, SubSearch).

Only the response's own searches count: when a completion repeats its prompt (a text
completion that starts with the prompt, or messages that start with the prompt's
messages) that prefix is dropped, and user and system messages are never read. This is
the ParallelSearch pitfall, where the prompt's two example ``<search>`` tags were counted.

Validity, for tagged text: tags closed and not nested, only whitespace between blocks,
every ``<search>`` followed by an ``<information>`` and every ``<information>`` preceded by
a ``<search>``, and the trajectory ends with one ``<answer>`` block. ``<think>`` is
optional (Search-R1 requires it; we do not). For messages: every search call parses and
gets a tool result, and there is an answer. ``problems`` says what failed.

Known issues: ``##`` always splits a query, so a query about "C##" splits too; a call to
a tool that is not named as a search tool is not a search, whatever it does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rewardsmith.core import Sample
from rewardsmith.core.types import Message
from rewardsmith.verifiable.extract import last_tag_block
from rewardsmith.verifiable.tools import as_call

__all__ = [
    "DEFAULT_SEARCH_TOOLS",
    "Trajectory",
    "as_text",
    "message_searches",
    "message_text",
    "read_trajectory",
    "response_messages",
    "split_queries",
]

DEFAULT_SEARCH_TOOLS = frozenset({"search", "web_search", "retrieve"})
_TAG = re.compile(r"<(/?)(think|search|information|answer)>")


@dataclass(frozen=True, slots=True)
class Trajectory:
    """What a search agent did.

    Attributes:
        rounds: the search steps in order, each the queries issued together (one
            ``<search>`` block split on ``##``, or one assistant message's search calls).
        information: the retrieved blocks in order (``<information>`` or tool results).
        answer: the final answer text, stripped, or None when there is none.
        problems: why the structure breaks the layout's rules (empty when it follows them).
    """

    rounds: tuple[tuple[str, ...], ...] = ()
    information: tuple[str, ...] = ()
    answer: str | None = None
    problems: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        """Whether the structure follows the layout's rules (no problems)."""
        return not self.problems

    @property
    def searches(self) -> tuple[str, ...]:
        """Every query, flattened over rounds."""
        return tuple(q for r in self.rounds for q in r)


def split_queries(raw: str) -> tuple[str, ...]:
    """The sub-queries of one search: split on ``##``, stripped, empty ones dropped."""
    return tuple(q.strip() for q in raw.split("##") if q.strip())


def read_trajectory(
    sample: Sample, search_tools: Iterable[str] = DEFAULT_SEARCH_TOOLS
) -> Trajectory:
    """Read ``sample.completion`` as a search trajectory (never raises for bad input).

    Example:
        >>> t = read_trajectory(Sample(completion="<search>a ## b</search>"
        ...     "<information>x</information><answer>Paris</answer>"))
        >>> t.rounds, t.answer, t.valid
        ((('a', 'b'),), 'Paris', True)
    """
    if isinstance(sample.completion, str):
        return _read_text(as_text(sample))
    messages = response_messages(sample)
    return _read_messages(messages, frozenset(search_tools))


def response_messages(sample: Sample) -> list[Message]:
    """A chat completion's messages without the prompt's, when it starts by echoing them
    (none for a text completion)."""
    completion = sample.completion
    messages: list[Message] = [] if isinstance(completion, str) else list(completion)
    if not isinstance(sample.prompt, str):
        head = list(sample.prompt)
        if head and messages[: len(head)] == head:
            return messages[len(head) :]
    return messages


def as_text(sample: Sample) -> str:
    """The response as tagged text: the completion without an echoed prompt, or, for
    messages, the assistant contents in order with each tool result as an
    ``<information>`` block (user and system messages and the prompt's messages left out).
    """
    if isinstance(sample.completion, str):
        prompt = sample.prompt
        text = sample.completion
        if isinstance(prompt, str) and prompt.strip() and text.startswith(prompt):
            return text[len(prompt) :]
        return text
    messages = response_messages(sample)
    out = []
    for m in messages:
        if isinstance(m, Mapping) and m.get("role") == "assistant":
            out.append(message_text(m))
        elif isinstance(m, Mapping) and m.get("role") == "tool":
            out.append(f"<information>{message_text(m)}</information>")
    return "".join(out)


def _read_text(text: str) -> Trajectory:
    rounds: list[tuple[str, ...]] = []
    info: list[str] = []
    problems: list[str] = []
    order: list[str] = []  # the closed blocks' tags, in order
    open_tag: str | None = None
    start = end = 0
    for m in _TAG.finditer(text):
        closing, tag = m.group(1) == "/", m.group(2)
        if not closing:
            if open_tag is not None:
                problems.append(f"<{tag}> inside <{open_tag}>")
            elif text[end : m.start()].strip():
                problems.append("text outside tags")
            open_tag, start = tag, m.end()
        elif tag != open_tag:
            problems.append(f"</{tag}> without <{tag}>")
        else:
            body = text[start : m.start()]
            if tag == "search":
                rounds.append(split_queries(body))
            elif tag == "information":
                info.append(body.strip())
            order.append(tag)
            open_tag, end = None, m.end()
    if open_tag is not None:
        problems.append(f"<{open_tag}> not closed")
    elif order and text[end:].strip():
        problems.append("text after the last block")
    problems.extend(_order_problems(order))
    answer = last_tag_block(text)
    return Trajectory(
        rounds=tuple(rounds),
        information=tuple(info),
        answer=None if answer is None else answer.strip(),
        problems=tuple(dict.fromkeys(problems)),
    )


def _order_problems(order: Sequence[str]) -> list[str]:
    out: list[str] = []
    for prev, tag in zip(["", *order], order, strict=False):
        if prev == "search" and tag != "information":
            out.append("<search> not followed by <information>")
        if tag == "information" and prev != "search":
            out.append("<information> without a <search> before it")
    if not order or order[-1] != "answer":
        out.append("does not end with an <answer> block")
    if order.count("answer") > 1:
        out.append("more than one <answer> block")
    return out


def _queries(call: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The queries of one search call's arguments, or None when they are unusable."""
    for key in ("query", "queries", "query_list"):
        value = call.get(key)
        if isinstance(value, str):
            return split_queries(value) or None
        if isinstance(value, list) and value and all(isinstance(q, str) for q in value):
            return tuple(q.strip() for q in value if q.strip()) or None
    return None


def message_text(message: Message) -> str:
    """A chat message's text (string content, or the text parts of a list)."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return ""


def _read_messages(messages: Sequence[Any], tools: frozenset[str]) -> Trajectory:
    rounds: list[tuple[str, ...]] = []
    info: list[str] = []
    problems: list[str] = []
    pending = 0  # search calls still waiting for a tool result
    answer: str | None = None
    final: str | None = None
    for message in messages:
        if not isinstance(message, Mapping):
            problems.append("a message is not an object")
            continue
        role = message.get("role")
        if role == "tool":
            if pending:
                info.append(message_text(message).strip())
                pending -= 1
            continue
        if role != "assistant":
            continue
        content = message_text(message)
        block = last_tag_block(content)
        if block is not None:
            answer = block.strip()
        found, searched = message_searches(message.get("tool_calls"), tools, problems)
        if searched:
            rounds.append(found)
        pending += searched
        final = None if message.get("tool_calls") else content.strip() or None
    if pending:
        problems.append("a search call got no result")
    answer = answer if answer is not None else final
    if answer is None:
        problems.append("no answer")
    return Trajectory(tuple(rounds), tuple(info), answer, tuple(problems))


def message_searches(
    raw: Any, tools: frozenset[str], problems: list[str]
) -> tuple[tuple[str, ...], int]:
    """One assistant message's search queries and the number of search calls it made."""
    if not raw:
        return (), 0
    if not isinstance(raw, list | tuple):
        problems.append("tool_calls is not a list")
        return (), 0
    queries: list[str] = []
    calls = 0
    for item in raw:
        try:
            name, args = as_call(item)
        except (ValueError, TypeError, RecursionError):
            problems.append("a tool call does not parse")
            continue
        if name not in tools:
            continue
        calls += 1
        found = _queries(args)
        if found is None:
            problems.append(f"a {name} call has no query")
        else:
            queries.extend(found)
    return tuple(queries), calls

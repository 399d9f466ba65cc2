"""How training renders and tokenizes items: the way ``rm.score`` does, so a model is
scored as it was trained (see ``training.train``'s module docstring for the rules)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rewardsmith.errors import ConfigError
from rewardsmith.models.joint import (
    Packed,
    pack_texts,
    special_pattern,
    strip_specials,
    token_logits,
)
from rewardsmith.training.preferences import Content, Pair, Ranking

__all__ = ["Encoder", "forward_joint", "forward_scores"]


class Encoder:
    """Renders and tokenizes (prompt, response) items once each, as ``rm.score`` does."""

    def __init__(self, tokenizer: Any, render: str, max_length: int) -> None:
        self.tokenizer, self.render, self.max_length = tokenizer, render, max_length
        self.cache: dict[tuple[Content, Content], list[int]] = {}
        self.truncated = 0
        self.seen: set[str] = set()  # "chat" and/or "text": how items were rendered
        self.specials = set(int(i) for i in tokenizer.all_special_ids)
        self.special_re = special_pattern(tokenizer)

    def check(self, units: Sequence[Pair | Ranking]) -> None:
        """Fail before training if chat data meets a tokenizer with no chat template."""
        if self.tokenizer.chat_template:
            return
        for unit in units:
            prompt = unit.prompt
            responses = (unit.chosen, unit.rejected) if isinstance(unit, Pair) else unit.responses
            if self.render == "conversation" or any(
                not isinstance(x, str) for x in (prompt, *responses)
            ):
                raise ConfigError(
                    f"{unit.origin}: chat input, but the tokenizer has no chat template "
                    "(pass text, or render='as_given' with text data)"
                )

    def _messages(self, content: Content, role: str) -> list[dict[str, str]]:
        if isinstance(content, str):
            return [{"role": role, "content": content}] if content else []
        return [{"role": t.role, "content": t.content} for t in content]

    def _strip(self, text: str) -> str:
        return strip_specials(self.special_re, text)

    def _text(self, prompt: Content, response: Content) -> tuple[str, bool]:
        chat = self.render == "conversation" or not (
            isinstance(prompt, str) and isinstance(response, str)
        )
        self.seen.add("chat" if chat else "text")
        if not chat:
            return f"{prompt}{response}", True
        messages = self._messages(prompt, "user") + self._messages(response, "assistant")
        messages = [{**m, "content": self._strip(m["content"])} for m in messages]
        text = self.tokenizer.apply_chat_template(messages, tokenize=False)
        return str(text), False

    def ids(self, prompt: Content, response: Content) -> list[int]:
        key = (prompt, response)
        if key not in self.cache:
            text, special = self._text(prompt, response)
            ids = [int(i) for i in self.tokenizer(text, add_special_tokens=special)["input_ids"]]
            if len(ids) > self.max_length:
                self.truncated += 1
                lead = 0
                while lead < self.max_length // 2 and ids[lead] in self.specials:
                    lead += 1
                ids = ids[:lead] + ids[len(ids) - (self.max_length - lead) :]
            self.cache[key] = ids
        return self.cache[key]

    def joint(self, prompt: Content, responses: Sequence[Content]) -> Packed:
        """The prompt and every response in one sequence (``models.joint``), as
        ``rm.joint`` packs them; a response given as turns is their contents, one a line."""
        chat = self.render == "conversation" or not all(
            isinstance(x, str) for x in (prompt, *responses)
        )
        self.seen.add("chat" if chat else "text")
        lead = prompt if isinstance(prompt, str) else self._messages(prompt, "user")
        texts = [r if isinstance(r, str) else "\n".join(t.content for t in r) for r in responses]
        packed = pack_texts(self.tokenizer, lead, texts, self.max_length, chat, self._strip)
        self.truncated += packed.truncated
        return packed

    def batch(self, rows: Sequence[list[int]], device: str) -> tuple[Any, Any]:
        import torch

        width = max(len(r) for r in rows)
        pad = int(self.tokenizer.pad_token_id)
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
            mask[i, : len(row)] = 1
        return ids.to(device), mask.to(device)


def forward_scores(model: Any, encoder: Encoder, rows: Sequence[list[int]], device: str) -> Any:
    ids, mask = encoder.batch(rows, device)
    return model(input_ids=ids, attention_mask=mask).logits[:, 0].float()


def forward_joint(model: Any, encoder: Encoder, packs: Sequence[Packed], device: str) -> list[Any]:
    """Each packed sequence's scores at its responses' separators."""
    ids, mask = encoder.batch([p.ids for p in packs], device)
    logits = token_logits(model, ids, mask)[..., 0].float()
    return [logits[k, p.positions] for k, p in enumerate(packs)]

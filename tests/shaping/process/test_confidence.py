"""process.confidence (DRM's Confidence, arXiv 2510.11457): mean reasoning log-prob plus
summed answer log-prob, from Sample.tokens against hand-computed values, from a model
against plain torch, and the item errors a trainer's bad data gets."""

from __future__ import annotations

import asyncio
import math
import pickle
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import rewardsmith  # noqa: E402
from helpers_tiny_rm import save_causal_lm  # noqa: E402
from rewardsmith.core import Sample, Status, Tokens  # noqa: E402
from rewardsmith.shaping.process.confidence import (  # noqa: E402
    Confidence,
    ConfidenceParams,
    answer_span,
    tokens_before,
)

PROMPT = "What is 12+30? "


@pytest.fixture(scope="module")
def lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny Llama and its tokenizer, in one directory."""
    return save_causal_lm(tmp_path_factory.mktemp("confidence") / "lm")


@pytest.fixture(scope="module")
def tok(lm: Path) -> Any:
    return transformers.AutoTokenizer.from_pretrained(lm)


def ids_of(tok: Any, text: str) -> list[int]:
    return list(tok(text, add_special_tokens=False)["input_ids"])


def sample(text: str, ids: list[int] | None = None, logprobs: Any = None) -> Sample:
    tokens = None if ids is None else Tokens(ids=ids, logprobs=logprobs)
    return Sample(prompt=PROMPT, completion=text, tokens=tokens)


def from_tokens(lm: Path, **params: Any) -> Confidence:
    return Confidence(ConfidenceParams(tokenizer=str(lm), **params))


# -- Sample.tokens: no forward pass, exact values -----------------------------------------

# (completion, params, the tiny tokenizer's pieces, log-probs, reasoning, answer, (|R|, |A|))
FROM_TOKENS = {
    "marker on a token boundary": (
        "<think>7</think>  <answer>7</answer>",
        {},
        ["<think>7", "</think>", " ", " ", "<answer>", "7</answer>"],
        [-1.0, -1.0, -0.5, -0.5, -0.25, -2.0],
        -0.75,
        -2.25,
        (4, 2),
    ),
    "marker mid-token: the straddling token is the answer's": (
        "<think>12+30</think><answer>42</answer>",
        {},
        ["<think>1", "2", "+3", "0", "</think><answer>4", "2</answer>"],
        [-0.5, -0.25, -1.0, -0.25, -2.0, -0.125],
        -0.5,
        -2.125,
        (4, 2),
    ),
    "after the closing marker: in neither term": (
        "<think>7</think>  <answer>7</answer> ",
        {},
        ["<think>7", "</think>", " ", " ", "<answer>", "7</answer>", " "],
        [-1.0, -1.0, -1.0, -1.0, -0.5, -0.5, -4.0],
        -1.0,
        -1.0,
        (4, 2),
    ),
    "no answer_end: the answer runs to the end": (
        "<think>7</think>  <answer>7</answer> ",
        {"answer_end": ""},
        ["<think>7", "</think>", " ", " ", "<answer>", "7</answer>", " "],
        [-1.0, -1.0, -1.0, -1.0, -0.5, -0.5, -4.0],
        -1.0,
        -5.0,
        (4, 3),
    ),
    "no reasoning: its term is 0": (
        "<answer>7</answer>",
        {},
        ["<answer>", "7</answer>"],
        [-0.5, -0.75],
        0.0,
        -1.25,
        (0, 2),
    ),
    "missing marker read as reasoning": (
        "<think>7</think>",
        {"missing": "reasoning"},
        ["<think>7", "</think>"],
        [-0.5, -1.5],
        -1.0,
        0.0,
        (2, 0),
    ),
}


@pytest.mark.parametrize(
    "text, params, pieces, logprobs, reasoning, answer, counts",
    FROM_TOKENS.values(),
    ids=FROM_TOKENS.keys(),
)
def test_from_tokens_is_the_hand_computed_value(
    lm, tok, text, params, pieces, logprobs, reasoning, answer, counts
):
    ids = ids_of(tok, text)
    assert tok.convert_ids_to_tokens(ids) == pieces  # the split the values assume
    got = from_tokens(lm, **params).score([sample(text, ids, logprobs)])[0]
    assert got.status == Status.OK, got.error
    assert got.value == reasoning + answer
    assert dict(got.parts) == {"reasoning": reasoning, "answer": answer}
    assert (got.info["reasoning_tokens"], got.info["answer_tokens"]) == counts
    assert got.info["source"] == "tokens"


def test_trailing_eos_and_padding_are_dropped(lm, tok):
    text = "<think>12+30</think><answer>42</answer>"
    ids = ids_of(tok, text)
    lps = [-0.5, -0.25, -1.0, -0.25, -2.0, -0.125]
    plain = from_tokens(lm).score([sample(text, ids, lps)])[0]
    padded = sample(text, [*ids, tok.eos_token_id, tok.pad_token_id], [*lps, -3.0, 0.0])
    got = from_tokens(lm).score([padded])[0]
    assert got.value == plain.value == -2.625
    assert got.info["dropped_tokens"] == 2


def test_tokens_need_no_model_and_win_over_one(lm, tok):
    text = "<answer>7</answer>"
    with_both = Confidence(ConfidenceParams(model=str(lm)))  # the local model's tokenizer
    got = with_both.score([sample(text, ids_of(tok, text), [-0.5, -0.75])])[0]
    assert got.info["source"] == "tokens"
    assert got.value == -1.25
    assert with_both._backend is None  # no forward pass, no backend made


# -- a model: two continuations per item --------------------------------------------------


def plain_logprobs(
    model: Any, tok: Any, prefix: str, continuation: str, special: bool
) -> list[float]:
    """Log-probs of the continuation's tokens in ``prefix + continuation``: the tokens whose
    span ends after the prefix (a straddling token is the continuation's)."""
    enc = tok(prefix + continuation, add_special_tokens=special, return_offsets_mapping=True)
    ids = torch.tensor([enc["input_ids"]])
    start = next(k for k, (s, e) in enumerate(enc["offset_mapping"]) if e > len(prefix) and e > s)
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0].float()
    picked = logits[start - 1 : -1].log_softmax(-1).gather(-1, ids[0, start:, None])
    return picked.squeeze(-1).tolist()


@pytest.mark.parametrize("chat", [True, False], ids=["chat template", "plain text"])
@pytest.mark.parametrize(
    "text",
    ["<think>12+30</think><answer>42</answer>", "<think>1+2</think><answer>3</answer> "],
    ids=["answer to the end", "a space after the answer"],
)
def test_model_value_is_plain_torch(lm, tok, chat, text):
    model = transformers.AutoModelForCausalLM.from_pretrained(lm).eval()
    at = text.index("<answer>")
    reasoning, answer = text[:at], text[at : text.index("</answer>") + len("</answer>")]
    user = [{"role": "user", "content": PROMPT}]
    if chat:
        first = tok.apply_chat_template(user, tokenize=False, add_generation_prompt=True)
        second = tok.apply_chat_template(
            [*user, {"role": "assistant", "content": reasoning}],
            tokenize=False,
            continue_final_message=True,
        )
    else:
        first, second = PROMPT, PROMPT + reasoning
    r = plain_logprobs(model, tok, first, reasoning, special=not chat)
    a = plain_logprobs(model, tok, second, answer, special=not chat)
    want = sum(r) / len(r) + sum(a)
    got = Confidence(ConfidenceParams(model=str(lm), chat=chat)).score([sample(text)])[0]
    assert got.status == Status.OK, got.error
    assert got.info["source"] == "model"
    assert got.value == pytest.approx(want, abs=1e-4)
    assert got.parts["answer"] == pytest.approx(sum(a), abs=1e-4)
    assert (got.info["reasoning_tokens"], got.info["answer_tokens"]) == (len(r), len(a))


def test_ids_without_logprobs_go_to_the_model(lm, tok):
    text = "<think>1+2</think><answer>3</answer>"
    trl_like = Sample(prompt=PROMPT, completion=text, tokens=Tokens(ids=ids_of(tok, text)))
    reward = Confidence(ConfidenceParams(model=str(lm)))
    got, bare = reward.score([trl_like, sample(text)])
    assert got.info["source"] == "model"
    assert got.value == pytest.approx(bare.value, abs=1e-6)


# -- item errors: the item alone fails, with a message that says what to fix --------------


def test_bad_items_fail_alone_with_clear_messages(lm, tok):
    text = "<think>12+30</think><answer>42</answer>"
    ids = ids_of(tok, text)
    lps = [-0.5, -0.25, -1.0, -0.25, -2.0, -0.125]
    batch = {
        "good": sample(text, ids, lps),
        "other ids": sample(text, ids_of(tok, "<think>12+31</think><answer>43</answer>"), lps),
        "length mismatch": sample(text, ids, lps[:-1]),
        "NaN": sample(text, ids, [*lps[:-1], math.nan]),
        "positive": sample(text, ids, [0.5, *lps[1:]]),
        "no marker": sample("<think>7</think>", ids_of(tok, "<think>7</think>"), [-1.0, -1.0]),
        "nothing to score": sample(text),
    }
    scores = dict(zip(batch, from_tokens(lm).score(list(batch.values())), strict=True))
    assert scores["good"].value == -2.625
    messages = {
        "other ids": "departs from the completion at character 11",
        "length mismatch": "6 ids but 5 log-probs",
        "NaN": "logprobs[5] is nan",
        "positive": "logprobs[0] is 0.5",
        "no marker": "has no '<answer>'",
        "nothing to score": "no token log-probs: pass Sample.tokens.logprobs or set model",
    }
    for name, message in messages.items():
        s = scores[name]
        assert (s.status, s.value) == (Status.ERROR, None), name
        assert message in s.error.message, (name, s.error.message)


def test_missing_tokenizer_is_an_item_error(tok):
    text = "<answer>7</answer>"
    got = Confidence(ConfidenceParams()).score([sample(text, ids_of(tok, text), [-0.5, -0.5])])[0]
    assert got.status == Status.ERROR
    assert "set tokenizer" in got.error.message


def test_a_tokenizer_that_cannot_load_fails_each_item_once_loaded(tmp_path, tok):
    text = "<answer>7</answer>"
    reward = Confidence(ConfidenceParams(tokenizer=str(tmp_path / "nope")))
    items = [sample(text, ids_of(tok, text), [-0.5, -0.5])] * 3
    scores = reward.score(items)
    assert {s.status for s in scores} == {Status.ERROR}
    assert all("cannot load tokenizer" in s.error.message for s in scores)


# -- batches, pickling, the registry -------------------------------------------------------


def test_a_batch_scores_as_its_items_one_by_one(lm, tok):
    texts = [
        "<think>12+30</think><answer>42</answer>",
        "<think>1+2</think><answer>3</answer>",
        "<answer>7</answer>",
        "<think>7</think>",
    ]
    batch = [sample(texts[0], ids_of(tok, texts[0]), [-0.5, -0.25, -1.0, -0.25, -2.0, -0.125])]
    batch += [sample(t) for t in texts[1:]] + [
        sample(texts[2], ids_of(tok, texts[2]), [-1.0, -0.1])
    ]
    reward = Confidence(ConfidenceParams(model=str(lm)))
    together = reward.score(batch)
    alone = [Confidence(ConfidenceParams(model=str(lm))).score([s])[0] for s in batch]
    for a, b in zip(together, alone, strict=True):
        assert (a.status, a.info.get("source")) == (b.status, b.info.get("source"))
        if a.value is None:
            assert a.error == b.error
        else:
            assert a.value == pytest.approx(b.value, abs=1e-5)
    assert [s.status for s in together] == [Status.OK] * 3 + [Status.ERROR, Status.OK]


def test_pickles_without_its_tokenizer(lm, tok):
    text = "<answer>7</answer>"
    item = sample(text, ids_of(tok, text), [-0.5, -0.75])
    reward = from_tokens(lm)
    first = reward.score([item])[0]
    assert reward._decoder is not None
    copy = pickle.loads(pickle.dumps(reward))
    assert copy._decoder is None
    assert copy.score([item])[0] == first


def test_registered_with_its_range_and_parts():
    reward = rewardsmith.load("process.confidence")
    assert reward.range == (-math.inf, 0.0)
    assert list(reward.part_names()) == ["reasoning", "answer"]
    got = reward.score([Sample(completion="<answer>7</answer>")])[0]
    assert got.status == Status.ERROR  # no log-probs and no model


@pytest.mark.parametrize(
    "text, span",
    [
        ("ab<answer>x</answer>yz", (2, 20)),
        ("<answer>x", (0, 9)),
        ("</answer><answer>x</answer>", (9, 27)),
        ("no marker", None),
    ],
    ids=["closed", "unclosed", "a closing marker before the answer", "none"],
)
def test_answer_span(text, span):
    assert answer_span(text, "<answer>", "</answer>") == span


# -- the binary search equals a linear scan ------------------------------------------------


def linear_before(length: Any, n: int, char: int) -> int:
    return next((k for k in range(n) if length(k + 1) > char), n)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_binary_split_equals_linear_scan(tok, lm, data):
    vocab = [i for i in range(len(tok)) if i not in tok.all_special_ids]
    pick = st.lists(st.sampled_from(vocab), max_size=12)
    ids = data.draw(pick) + ids_of(tok, "<answer>") + data.draw(pick)
    text = tok.decode(ids, skip_special_tokens=False)

    def length(k: int) -> int:
        return len(tok.decode(ids[:k], skip_special_tokens=False))

    for char in range(len(text)):
        assert tokens_before(length, len(ids), char) == linear_before(length, len(ids), char)

    lps = data.draw(
        st.lists(st.sampled_from([-2.0, -1.0, -0.5, -0.25]), min_size=len(ids), max_size=len(ids))
    )
    got = from_tokens(lm, answer_end="").score([sample(text, ids, lps)])[0]
    r = linear_before(length, len(ids), text.index("<answer>"))
    reasoning = math.fsum(lps[:r]) / r if r else 0.0
    assert got.status == Status.OK, got.error
    assert dict(got.parts) == {"reasoning": reasoning, "answer": math.fsum(lps[r:])}


def test_async_and_a_worker_thread_match_sync(lm, tok):
    text = "<think>1+2</think><answer>3</answer>"
    batch = [sample(text), sample(text, ids_of(tok, text), [-0.5, -0.5, -1.0, -1.0])]
    reward = Confidence(ConfidenceParams(model=str(lm)))
    expected = reward.score(batch)
    assert asyncio.run(reward.ascore(batch)) == expected
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(reward.score, batch).result() == expected

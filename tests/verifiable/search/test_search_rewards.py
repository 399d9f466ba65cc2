"""Search-agent rewards: MASH search-count penalties and ParallelSearch, hand-worked."""

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rewardsmith
from helpers_search import info_spans
from rewardsmith.core import Sample, Status
from rewardsmith.verifiable.search import penalty

INFO = "<information>doc</information>"


def text(searches, answer="Paris", split=False):
    """A valid Search-R1 trajectory with ``searches`` rounds (the first split if asked)."""
    out = ""
    for i in range(searches):
        query = "a ## b" if split and i == 0 else f"q{i}"
        out += f"<think>t</think><search>{query}</search>{INFO}"
    return out + (f"<answer>{answer}</answer>" if answer is not None else "")


def chat(searches, answer="Paris"):
    messages = []
    for i in range(searches):
        args = json.dumps({"query": f"q{i}"})
        call = {"type": "function", "function": {"name": "search", "arguments": args}}
        messages += [{"role": "assistant", "content": "", "tool_calls": [call]}]
        messages += [{"role": "tool", "content": "doc"}]
    return [*messages, {"role": "assistant", "content": f"<answer>{answer}</answer>"}]


def honest(completion):
    """The meta an environment reports when it inserted every ``<information>`` block."""
    if not isinstance(completion, str):
        return {}
    return {"info_spans": info_spans(completion)}


def values(name, completions, reference="Paris", **params):
    batch = [Sample(completion=c, reference=reference, group="g") for c in completions]
    return [s.value for s in rewardsmith.load(name, **params).score(batch)]


# One group, gold "Paris": correct with 1 search (n* = 1), correct with 2, wrong with 1,
# no answer, correct with 3.
GROUP = [text(1), text(2), text(1, "Lyon"), text(2, None), text(3)]
SIN_2PI_3 = math.sin(2 * math.pi / 3)  # OTC, m = 2, n* = 1: f = 4/3
SIN_3PI_4 = math.sin(3 * math.pi / 4)  # OTC, m = 3, n* = 1: f = 3/2


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("search.otc", [1.0, SIN_2PI_3, 0.0, 0.0, SIN_3PI_4]),
        ("search.otc_strict", [1.0, SIN_2PI_3, 0.0, 0.0, SIN_3PI_4]),
        ("search.exp_penalty", [1.0, 0.7, 0.0, 0.0, 0.49]),
        ("search.linear_penalty", [5 / 6, 4 / 6, 0.0, 0.0, 3 / 6]),
    ],
    ids=["otc", "otc-strict", "exp", "linear"],
)
def test_mash_group_best_is_one_search(name, expected):
    assert values(name, GROUP) == pytest.approx(expected)
    assert values(name, [chat(1), chat(2), chat(1, "Lyon"), chat(0, None)[:0], chat(3)]) == (
        pytest.approx(expected)
    )


# n* = 0: a correct rollout answered without searching.
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("search.otc", [1.0, math.cos(2 * math.pi / 9), 0.0]),
        ("search.otc_strict", [1.0, 0.0, 0.0]),
        ("search.exp_penalty", [1.0, 0.49, 0.0]),
        ("search.linear_penalty", [1.0, 4 / 6, 0.0]),
    ],
    ids=["otc", "otc-strict", "exp", "linear"],
)
def test_mash_group_best_is_no_search(name, expected):
    assert values(name, [text(0), text(2), "no tags at all"]) == pytest.approx(expected)


def test_mash_running_best_comes_from_the_reference():
    ref = {"target": "Paris", "best_searches": 0}
    assert values("search.otc", [text(1)], reference=ref) == pytest.approx([math.cos(math.pi / 7)])
    assert values("search.otc", [text(1)]) == [1.0]  # a group of one is its own best


def test_mash_parameters():
    assert values("search.exp_penalty", [text(1), text(3)], lam=0.5) == [1.0, 0.25]
    assert values("search.linear_penalty", [text(2)], max_searches=3) == [0.5]
    parallel = text(1, split=True)
    assert values("search.exp_penalty", [text(1), parallel]) == [1.0, 0.7]  # queries
    assert values("search.exp_penalty", [text(1), parallel], count="rounds") == [1.0, 1.0]
    invalid = "<search>q</search><answer>Paris</answer>"
    assert values("search.otc", [invalid]) == [1.0]
    assert values("search.otc", [invalid], require_valid=True) == [0.0]


def test_mash_parts_and_an_unusable_reference_is_an_error_for_that_item_only():
    batch = [
        Sample(completion=text(1), reference="Paris", group="g"),
        Sample(completion=text(0), reference=None, group="g"),
    ]
    ok, bad = rewardsmith.load("search.otc").score(batch)
    assert ok.value == 1.0 and ok.parts == {"correct": 1.0, "searches": 1.0}
    assert ok.info["best_searches"] == 1
    assert (bad.value, bad.status) == (None, Status.ERROR)


@pytest.mark.parametrize(
    ("kind", "m", "best", "expected"),
    [
        ("otc", 0, 0, 1.0),
        ("otc", 1, 0, math.cos(math.pi / 7)),
        ("otc", 1, 1, 1.0),
        ("otc", 4, 2, math.sin(math.pi * (16 / 6) / 4)),
        ("otc_strict", 1, 0, 0.0),
        ("exp", 2, 2, 1.0),
        ("linear", 9, 0, 0.0),
    ],
    ids=["zero-zero", "zero-best", "equal", "double", "strict-zero", "exp-equal", "linear-floor"],
)
def test_penalty_formula(kind, m, best, expected):
    assert penalty(kind, m, best) == pytest.approx(expected)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(st.integers(0, 6), st.booleans()), min_size=1, max_size=6),
    seed=st.randoms(use_true_random=False),
    name=st.sampled_from(
        ["search.otc", "search.otc_strict", "search.exp_penalty", "search.linear_penalty"]
    ),
)
def test_mash_permuting_a_group_permutes_its_scores(rows, seed, name):
    completions = [text(m, "Paris" if ok else "Lyon") for m, ok in rows]
    order = list(range(len(rows)))
    seed.shuffle(order)
    out = values(name, completions)
    assert values(name, [completions[i] for i in order]) == [out[i] for i in order]
    assert all(0.0 <= v <= 1.0 for v in out)
    assert all(v == 0.0 for v, (_, ok) in zip(out, rows, strict=True) if not ok)


def ps(completion, qtype="comparison", **params):
    ref = {"target": "Paris", "question_type": qtype}
    sample = Sample(completion=completion, reference=ref, meta=honest(completion))
    (score,) = rewardsmith.load("search.parallel", **params).score([sample])
    return score


PAPER_PARALLEL = {"shaping_needs_answer": False, "count_needs_results": False}


INVALID_ONE_ROUND = "<search>q</search><answer>Paris</answer>"


@pytest.mark.parametrize(
    ("completion", "qtype", "paper", "guarded"),
    [
        (text(1, split=True), "comparison", 1.0 + 0.45 + 0.35, None),
        (text(1), "comparison", 1.0 + 0.0 + 0.35, None),
        (text(2, split=True), "comparison", 1.0 + 0.45 + 0.0, None),
        (text(1, "Lyon", split=True), "comparison", 0.1 + 0.45 + 0.35, None),
        (text(1, None, split=True), "comparison", 0.0 + 0.45 + 0.35, 0.0),
        (text(0), "na", 1.0 + 0.15 + 0.0, None),
        (text(2), "bridge", 1.0 + 0.15 + 0.35, None),
        (text(0), "bridge", 1.0 + 0.15 - 0.35, None),
        (text(1, split=True), "bridge", 1.0 + 0.0 + 0.0, None),
        (INVALID_ONE_ROUND, "na", 0.9 + 0.15 + 0.35, 0.9),
        ("no tags at all", "na", 0.0 + 0.15 + 0.0, 0.0),
        ("", "comparison", 0.0 + 0.0 + 0.0, None),
        (text(5), "na", 1.0 + 0.15 - 1.0, None),
        (chat(1), "na", 1.0 + 0.15 + 0.35, None),
        (text(0, "."), "na", 0.1 + 0.15 + 0.0, 0.0),
    ],
    ids=[
        "parallel-one-round",
        "comparison-unsplit",
        "comparison-two-rounds",
        "wrong-valid",
        "no-answer-invalid",
        "na-no-search",
        "bridge-two-rounds",
        "bridge-no-search",
        "bridge-split",
        "correct-invalid",
        "no-tags",
        "empty",
        "count-floor",
        "chat",
        "empty-answer",
    ],
)
def test_parallel_search_table(completion, qtype, paper, guarded):
    # The guards off give the code's values; on, they differ only where shape came
    # without a valid answer (None: the same as the code).
    assert ps(completion, qtype, **PAPER_PARALLEL).value == pytest.approx(paper)
    assert ps(completion, qtype).value == pytest.approx(paper if guarded is None else guarded)


def test_parallel_search_count_needs_results_from_the_environment():
    typed = text(1, split=True)  # <information> blocks, but nothing says who wrote them
    sample = Sample(completion=typed, reference={"target": "Paris", "question_type": "comparison"})
    (plain,) = rewardsmith.load("search.parallel").score([sample])
    assert plain.parts["count"] == 0.0 and "policy's own" in plain.info["reason"]
    assert plain.value == pytest.approx(1.45)
    (trusted,) = rewardsmith.load("search.parallel", trust_information_tags=True).score([sample])
    assert trusted.value == pytest.approx(1.8) and trusted.info["answered_rounds"] == 1
    # Too many searches are penalised whether or not they got results.
    many = Sample(completion=text(4), reference={"target": "Paris", "question_type": "na"})
    (penalised,) = rewardsmith.load("search.parallel").score([many])
    assert penalised.parts["count"] == pytest.approx(0.35 * (1 - 3))


def test_parallel_search_parts_type_sources_and_prompt_tags():
    score = ps(text(1, split=True))
    assert score.parts == pytest.approx({"outcome": 1.0, "decomposition": 0.45, "count": 0.35})
    meta = Sample(
        completion=text(1, split=True),
        reference="Paris",
        meta={"question_type": "comparison", **honest(text(1, split=True))},
    )
    assert rewardsmith.load("search.parallel").score([meta])[0].value == pytest.approx(1.8)
    default = Sample(completion=text(1), reference="Paris")
    assert rewardsmith.load("search.parallel").score([default])[0].info["question_type"] == "na"
    prompt = "Format: <search>x</search> and <search>y</search>\n"
    echoed = Sample(prompt=prompt, completion=prompt + text(1), reference="Paris")
    assert rewardsmith.load("search.parallel").score([echoed])[0].info["rounds"] == 1
    assert ps(text(9), "na", count_floor=-0.5).parts["count"] == -0.5
    bad = rewardsmith.load("search.parallel").score([Sample(completion=text(1), reference=None)])
    assert bad[0].status is Status.ERROR


@settings(max_examples=80, deadline=None)
@given(
    st.text(max_size=200)
    | st.lists(
        st.sampled_from(
            [
                "<search>",
                "</search>",
                "<information>",
                "</information>",
                "<answer>",
                "</answer>",
                "Paris",
                "##",
                " ",
            ]
        ),
        max_size=30,
    ).map("".join)
)
def test_arbitrary_text_never_raises_and_stays_in_range(completion):
    for name in [
        "search.parallel",
        "search.otc",
        "search.otc_strict",
        "search.exp_penalty",
        "search.linear_penalty",
    ]:
        reward = rewardsmith.load(name)
        (score,) = reward.score([Sample(completion=completion, reference="Paris")])
        lo, hi = reward.range
        assert score.status is Status.OK and lo <= score.value <= hi


def reseek(completion, reference="Paris", meta=None, **params):
    meta = honest(completion) if meta is None else meta
    (score,) = rewardsmith.load("search.reseek", **params).score(
        [Sample(completion=completion, reference=reference, meta=meta)]
    )
    return score


PAPER_RESEEK = {"trust_information_tags": True, "wrong_answer_judge_cap": None}


def judged(*blocks, answer="Paris"):
    """Search steps whose information blocks are followed by a judgment, then an answer."""
    out = "".join(
        f"<search>q</search><information>{info}</information><judge>{j}</judge>"
        for info, j in blocks
    )
    return out + (f"<answer>{answer}</answer>" if answer is not None else "")


@pytest.mark.parametrize(
    ("completion", "expected"),
    [
        (judged(("Paris is the capital", "Yes")), 1.0 + 0.4),
        (judged(("Lyon is a city", "Yes")), 1.0 + 0.4),  # Yes with a correct answer: no check
        (judged(("Lyon is a city", "No")), 1.0 + 0.4),
        (judged(("Paris is the capital", "No")), 1.0 - 0.3),
        (judged(("Paris is the capital", "Yes"), answer="Lyon"), 0.0 + 0.3),
        (judged(("Lyon is a city", "Yes"), answer="Lyon"), 0.0 - 0.6),
        (judged(("Lyon is a city", "no"), answer="Lyon"), 0.0 + 0.3),
        (judged(("Paris is the capital", "Yes"), answer=None), 0.0),
        (judged(("Paris", "Yes"), answer=""), 0.0),
        (judged(("", "Yes")), 1.0),
        ("<information>Paris</information><answer>Paris</answer>", 1.0),
        (judged(*[("Lyon", "Yes")] * 6, answer="Lyon"), 4 * -0.6),
        ("<answer>Paris</answer>" * 11, 0.25),
        ("", 0.0),
        ("no tags at all", 0.0),
    ],
    ids=[
        "yes-correct",
        "yes-correct-unhelpful",
        "no-correct-right",
        "no-correct-wrong",
        "yes-wrong-useful",
        "yes-wrong-useless",
        "no-wrong-right",
        "no-answer",
        "empty-answer",
        "empty-info",
        "no-judge",
        "judges-capped",
        "answer-spam",
        "empty",
        "no-tags",
    ],
)
def test_reseek_string_table(completion, expected):
    spans = reseek(completion)  # the environment says where its blocks are
    assert spans.value == pytest.approx(expected)
    assert reseek(completion, meta={}, **PAPER_RESEEK).value == pytest.approx(expected)
    plain = reseek(completion, meta={})  # plain text: nothing says who wrote the blocks
    assert plain.parts == {"answer": spans.parts["answer"], "judge": 0.0}


def test_reseek_wrong_answer_judgments_are_capped():
    blocks = [("Lyon is a city", "No")] * 4
    assert reseek(judged(*blocks, answer="Lyon")).value == pytest.approx(0.5)
    assert reseek(judged(*blocks, answer="Lyon"), wrong_answer_judge_cap=None).value == (
        pytest.approx(1.2)
    )
    assert reseek(judged(*blocks, answer=".")).value == 0.0  # "." is no answer
    assert reseek(judged(*blocks)).value == pytest.approx(1.0 + 4 * 0.4)  # correct: uncapped


def test_reseek_judgment_belongs_to_its_own_block_and_chat_is_read():
    # The code would pair the first block with the final judgment; here it has none.
    text = "<information>Lyon</information><information>Paris</information><judge>Yes</judge>"
    assert reseek(text + "<answer>Lyon</answer>").parts == {"answer": 0.0, "judge": 0.3}
    messages = [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "search", "arguments": '{"query": "q"}'}}],
        },
        {"role": "tool", "content": "Paris is the capital"},
        {"role": "assistant", "content": "<judge>No</judge><answer>Lyon</answer>"},
    ]
    assert reseek(messages).value == pytest.approx(-0.3)
    assert reseek(judged(("Lyon", "Yes"), answer="Lyon"), max_judges=0).value == 0.0
    assert reseek(judged(("x", "Yes")), reference=None).status is Status.ERROR


def recall(completion, reference, **params):
    (score,) = rewardsmith.load("search.masksearch_recall", **params).score(
        [Sample(completion=completion, reference=reference)]
    )
    return score


@pytest.mark.parametrize(
    ("completion", "reference", "expected"),
    [
        ("<answer>Eiffel; 1889</answer>", ["Gustave Eiffel", "1889"], 2 / 3),
        ("<answer>Gustave Eiffel, 1889</answer>", ["Gustave Eiffel", "1889"], 1.0),
        ("<answer>1889 Gustave Eiffel</answer>", {"masks": ["Gustave Eiffel", "1889"]}, 1.0),
        ("<answer>The Eiffel</answer>", "the Gustave Eiffel", 1 / 2),
        ("<answer>Lyon</answer>", ["Paris"], 0.0),
        ("Gustave Eiffel 1889", ["Gustave Eiffel", "1889"], 0.0),
        ("", ["1889"], 0.0),
    ],
    ids=["partial", "all", "masks-key", "articles-dropped", "wrong", "no-answer", "empty"],
)
def test_masksearch_recall_table(completion, reference, expected):
    assert recall(completion, reference).value == pytest.approx(expected)


def test_masksearch_length_ratio_and_unusable_reference():
    listing = "<answer>Paris Lyon Nice Lille Nantes Brest</answer>"
    assert recall(listing, ["Paris"], max_length_ratio=None).value == 1.0  # recall alone
    assert recall(listing, ["Paris"]).value == pytest.approx(2 / 6)  # default ratio 2
    assert recall(listing, ["Paris"], max_length_ratio=3).value == pytest.approx(3 / 6)
    assert recall("<answer>Paris</answer>", ["Paris"], max_length_ratio=2).value == 1.0
    assert recall("<answer>a</answer>", {"masks": []}).status is Status.ERROR
    assert recall("<answer>a</answer>", ["the"]).status is Status.ERROR


def test_example_spec_loads_and_scores():
    from pathlib import Path

    path = Path(__file__).resolve().parents[3] / "examples" / "search-agent.yaml"
    reward = rewardsmith.load_spec(path)
    batch = [
        Sample(completion=text(1), reference="Paris", group="q"),
        Sample(completion=text(2), reference="Paris", group="q"),
    ]
    out = reward.score(batch)
    assert [s.value for s in out] == pytest.approx([1.0, 0.5 + 0.5 * SIN_2PI_3])


@settings(max_examples=80, deadline=None)
@given(
    st.text(max_size=200)
    | st.lists(
        st.sampled_from(
            [
                "<information>",
                "</information>",
                "<judge>Yes</judge>",
                "<judge>No</judge>",
                "<answer>",
                "</answer>",
                "Paris",
                "<search>",
                "</search>",
                " ",
            ]
        ),
        max_size=30,
    ).map("".join)
)
def test_judge_and_recall_never_raise_and_stay_in_range(completion):
    for name in ["search.reseek", "search.masksearch_recall"]:
        reward = rewardsmith.load(name)
        (score,) = reward.score([Sample(completion=completion, reference=["Paris"])])
        lo, hi = reward.range
        assert score.status is Status.OK and lo <= score.value <= hi


def o2(name, completion, reference="Paris"):
    (score,) = rewardsmith.load(name).score([Sample(completion=completion, reference=reference)])
    return score


TEN = "\n".join(f"- word{i} thing{i}" for i in range(10))


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (TEN, 1.0),  # f = 1, c = 1, no shared words: d = 1
        ("- alpha beta\n- gamma delta", (0.5 + 0.3 * 0.2 + 0.5) / 1.3),
        ("- alpha beta\nprose line", (0.5 * 0.5 + 0.3 * 0.1 + 0.5) / 1.3),
        ("- x\n- x", 0.0),  # no 2-letter words: d = 0.5; a duplicate: −3 · 0.5
        ("- alpha beta\n- alpha beta\n- gamma", 0.0),
        ("just prose", 0.0),  # no bullet: unique / max(1, 0) = 0, so dup = 1 (as the code)
        ("and", 0.0),
        ("", 0.0),
    ],
    ids=[
        "ten-distinct",
        "two-bullets",
        "half-bullets",
        "single-chars",
        "duplicates",
        "prose",
        "and",
        "empty",
    ],
)
def test_o2_format_table(answer, expected):
    assert o2("search.o2_format", f"<answer>{answer}</answer>").value == pytest.approx(expected)


def test_o2_tfidf_matches_sklearn_defaults_by_hand():
    from rewardsmith.verifiable.search.o2 import tfidf_cosines

    # df: the 2, cat 1, sat 2, dog 1 over n = 3 documents ("a b" has no 2-letter word).
    the, cat = math.log(4 / 3) + 1, math.log(4 / 2) + 1
    cos = 2 * the**2 / (2 * the**2 + cat**2)
    assert tfidf_cosines(["the cat sat", "the dog sat", "a b"]) == pytest.approx([cos, 0, 0])
    assert tfidf_cosines(["a", "b"]) is None


def test_o2_similar_bullets_lose_diversity():
    # Two identical-word bullets in a different order: cosine 1 > 0.6, s = 0.5 + 0.6 + 0.2.
    (score,) = rewardsmith.load("search.o2_format").score(
        [Sample(completion="<answer>- red green\n- green red</answer>")]
    )
    assert score.parts["diversity"] == 0.0
    assert score.value == pytest.approx((0.5 + 0.06) / 1.3)


def test_o2_searcher_closed_and_open_ended():
    assert o2("search.o2_searcher", text(1)).value == 1.0
    assert o2("search.o2_searcher", text(1, "Lyon")).value == 0.0
    assert o2("search.o2_searcher", "no tags").value == 0.0
    assert o2("search.o2_searcher", chat(2)).value == 1.0
    open_ended = o2("search.o2_searcher", text(1), {"findings": ["a", "b"]})
    assert (open_ended.value, open_ended.status) == (0.0, Status.OK)  # no bullets, one query
    assert set(open_ended.parts) == {"format", "fact", "diversity"}
    assert o2("search.o2_searcher", text(1), None).status is Status.ERROR
    assert o2("search.o2_format", "no answer").value == 0.0


def test_reseek_is_linear_on_a_flood_of_unclosed_blocks():
    import time

    start = time.monotonic()
    reseek("<information>" * 12_000 + "<answer>Paris</answer>")
    assert time.monotonic() - start < 2.0


SEARCH_REWARDS = [
    "search.otc",
    "search.otc_strict",
    "search.exp_penalty",
    "search.linear_penalty",
    "search.parallel",
    "search.reseek",
    "search.masksearch_recall",
    "search.o2_format",
    "search.o2_searcher",
    "search.subsearch",
]


@pytest.mark.parametrize("name", SEARCH_REWARDS)
def test_registered_with_a_paper_and_the_range_the_reward_declares(name):
    from rewardsmith.core import catalog

    entry = {e.name: e for e in catalog()}[name]
    assert entry.paper is not None and entry.paper.arxiv and entry.summary
    assert entry.range == pytest.approx(rewardsmith.load(name).range)

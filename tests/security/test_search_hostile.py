"""Hostile rollouts against every search reward, played as a policy that wants pay for nothing.

Each attack runs the real registered reward and checks what it earns against a fair value:
a correct answer, or an honest wrong one. The first four groups are the findings of issue
22 (all four paid before their guards: ReSeek 1.2 for self-written evidence, SubSearch 75%
of its bonus cap for documents that echo its own sub-queries, ParallelSearch 0.8 for a
bare split search, O²-Searcher 0.29 for unrelated bullets and queries against 0.37 for
the reference findings, MASH one search for twenty); then each guard switched off gives
the paper's number back; then master keys, echoed prompts, nested and unclosed tags and
megabyte inputs over every search reward, with a hang guard.
"""

from __future__ import annotations

import json
import time

import pytest

import rewardsmith
from rewardsmith.core import Sample, Status

QUESTION = "Which bank has more branches, CITIC or UniCredit?"
PROMPT = f"Question: {QUESTION}\n"


def env(*parts: str) -> tuple[str, list[list[int]]]:
    """A tagged-text trajectory and the spans an environment reports for what it inserted:
    even-numbered parts are the policy's, odd-numbered ones the environment's."""
    text, spans = "", []
    for i, part in enumerate(parts):
        if i % 2:
            spans.append([len(text), len(text) + len(part)])
        text += part
    return text, spans


def one(name, completion, reference="UniCredit", prompt=PROMPT, meta=None, **params):
    reward = rewardsmith.load(name, **params)
    sample = Sample(prompt=prompt, completion=completion, reference=reference, meta=meta or {})
    (score,) = reward.score([sample])
    assert score.status is Status.OK, score.error
    return score


def call(query, name="search"):
    return {
        "type": "function",
        "function": {"name": name, "arguments": json.dumps({"query": query})},
    }


# --- ReSeek: evidence the policy wrote itself ----------------------------------------------

SELF_JUDGED = "".join(
    f"<search>q{i}</search><information>nothing useful {i}</information><judge>No</judge>"
    for i in range(4)
)


def test_reseek_self_written_information_earns_nothing():
    # Before: four self-written blocks judged "No" and an answer of "." paid 1.2.
    attack = one("search.reseek", SELF_JUDGED + "<answer>.</answer>")
    assert attack.value == 0.0 and attack.parts["judge"] == 0.0
    assert "policy's own" in attack.info["reason"]
    # With a real-looking wrong answer the judgments still count for nothing in plain text.
    assert one("search.reseek", SELF_JUDGED + "<answer>CITIC</answer>").value == 0.0
    assert one("search.reseek", "<answer>UniCredit</answer>").value == 1.0  # fair: 1
    # In chat, <information> typed into an assistant message is the policy's, not a result.
    messages = [{"role": "assistant", "content": SELF_JUDGED + "<answer>CITIC</answer>"}]
    assert one("search.reseek", messages).value == 0.0


def test_reseek_real_junk_searches_cannot_outpay_a_correct_answer():
    # Real retrieval, judged "No" (correctly: junk), with a wrong answer: 1.2 in the code.
    parts = ["<search>junk 0</search>"]
    for i in range(4):
        parts.append(f"<information>Doc {i}: pizza</information>")
        parts.append("<judge>No</judge>" + (f"<search>junk {i + 1}</search>" if i < 3 else ""))
    parts[-1] += "<answer>CITIC</answer>"
    text, spans = env(*parts)
    score = one("search.reseek", text, meta={"info_spans": spans})
    assert score.value == pytest.approx(0.5) and score.info["retrieval"] == "meta.info_spans"
    assert one(
        "search.reseek", text, meta={"info_spans": spans}, wrong_answer_judge_cap=None
    ).value == pytest.approx(1.2)
    dot = text.replace("<answer>CITIC</answer>", "<answer>.</answer>")
    assert one("search.reseek", dot, meta={"info_spans": spans}).value == 0.0


def test_reseek_paper_mode_reproduces_the_attack():
    paper = {"trust_information_tags": True, "wrong_answer_judge_cap": None}
    assert one(
        "search.reseek", SELF_JUDGED + "<answer>CITIC</answer>", **paper
    ).value == pytest.approx(1.2)


# --- SubSearch: documents that copy the policy's own sub-queries ----------------------------

SUBS = "How many branches does CITIC have? ## How many branches does UniCredit have?"
ECHO_DOCS = f"<search>{SUBS}</search><information>{SUBS}</information>"


def test_subsearch_documents_echoing_the_queries_earn_no_answerability():
    # Before: answerability 1 and 75% of the bonus cap (0.2) with no answer.
    score = one("search.subsearch", ECHO_DOCS)
    assert score.parts["answerability"] == 0.0 and "policy's own" in score.info["reason"]
    assert score.info["raw_answerability"] == 0.0
    # What is left is the decomposition half, which reads only the queries and question.
    assert score.value == pytest.approx(0.2 * 0.5 * score.parts["decomp"])
    assert score.value <= 0.1 < 0.2 * 0.75
    paper = one("search.subsearch", ECHO_DOCS, trust_information_tags=True)
    assert paper.parts["answerability"] == pytest.approx(1.0, abs=1e-3)


def test_subsearch_reads_retrieved_text_only_from_the_environment():
    docs = "Doc 1(Title: CITIC Bank) CITIC Bank has 1,400 branches. ## Doc 1(Title: UniCredit) UniCredit has 3,000 branches."
    # The policy appends its own <information> copying the queries after the real block.
    text, spans = env(
        f"<search>{SUBS}</search>",
        f"<information>{docs}</information>",
        f"<search>{SUBS}</search><information>{SUBS}</information><answer>CITIC</answer>",
    )
    honest, _ = env(
        f"<search>{SUBS}</search>", f"<information>{docs}</information>", "<answer>CITIC</answer>"
    )
    spiked = one("search.subsearch", text, meta={"info_spans": spans})
    clean = one("search.subsearch", honest, meta={"info_spans": spans})
    assert spiked.parts["answerability"] <= clean.parts["answerability"] + 1e-9
    assert clean.parts["answerability"] > 0.3


# --- ParallelSearch: shape without an answer ---------------------------------------------


def ps(completion, qtype="comparison", meta=None, **params):
    ref = {"target": "UniCredit", "question_type": qtype}
    return one("search.parallel", completion, reference=ref, meta=meta, **params)


def test_parallel_search_shape_needs_an_answer():
    # Before: 0.8 on a comparison question (a correct answer with no search earns 1.0).
    assert ps("<search>CITIC ## UniCredit</search>").value == 0.0
    # Before: a lone search (0.35) beat a valid wrong answer with no search (0.25) on "na".
    wrong = ps("<answer>CITIC</answer>", "na").value
    assert wrong == pytest.approx(0.25)
    assert ps("<search>q</search>", "na").value == 0.0 < wrong
    # Before: 0.15 for an empty completion or a colon.
    for key in ("", ":", "<answer>.</answer>", "<answer>:</answer>"):
        assert ps(key, "na").value == 0.0, key
    paper = {"shaping_needs_answer": False, "count_needs_results": False}
    assert ps("<search>CITIC ## UniCredit</search>", **paper).value == pytest.approx(0.8)
    assert ps(":", "na", **paper).value == pytest.approx(0.15)


def test_parallel_search_count_needs_real_results():
    typed = "<search>CITIC ## UniCredit</search><information>made up</information><answer>CITIC</answer>"
    score = ps(typed)
    assert score.parts["count"] == 0.0 and "policy's own" in score.info["reason"]
    text, spans = env(
        "<search>CITIC ## UniCredit</search>",
        "<information>Doc 1 ## Doc 2</information>",
        "<answer>UniCredit</answer>",
    )
    real = ps(text, meta={"info_spans": spans})
    assert real.parts["count"] == pytest.approx(0.35) and real.value == pytest.approx(1.8)
    # An empty result is no result; spans given but none for this search: none either.
    empty, espans = env(
        "<search>CITIC ## UniCredit</search>",
        "<information> </information>",
        "<answer>UniCredit</answer>",
    )
    assert ps(empty, meta={"info_spans": espans}).parts["count"] == 0.0
    assert ps(typed, meta={"info_spans": []}).parts["count"] == 0.0
    # Penalties still apply without results or an answer: not answering never pays more.
    many = "".join(f"<search>q{i}</search>" for i in range(6))
    assert ps(many, "na").value == pytest.approx(-1.0)
    assert ps(many, "na").value <= ps(many + "<answer>CITIC</answer>", "na").value


def test_parallel_search_chat_counts_tool_results():
    def traj(results):
        calls = [call("CITIC branches"), call("UniCredit branches")]
        tools = [{"role": "tool", "content": r} for r in results]
        return [
            {"role": "assistant", "content": "", "tool_calls": calls},
            *tools,
            {"role": "assistant", "content": "<answer>UniCredit</answer>"},
        ]

    assert ps(traj(["1,400", "3,000"])).value == pytest.approx(1.8)
    assert ps(traj(["", ""])).parts["count"] == 0.0


# --- O²-Searcher: shape without facts ------------------------------------------------------

FINDINGS = [
    "Multimodal learning improves disease diagnosis by combining imaging and clinical notes.",
    "Late fusion trains one model per data source and combines their outputs.",
    "Early fusion concatenates features from every modality before training a single model.",
]
UNRELATED = [
    "Bananas are rich in potassium and grow in tropical climates",
    "The stock market closed higher on Tuesday after tech gains",
    "Mount Everest is the tallest mountain above sea level",
    "Jazz originated in New Orleans in the early twentieth century",
    "Photosynthesis converts sunlight into chemical energy in plants",
    "The Roman Empire split into eastern and western halves",
    "Chess grandmasters study openings for many years",
    "Coffee beans are roasted to develop their flavour",
    "Volcanic eruptions can cool the global climate briefly",
    "Penguins live almost exclusively in the southern hemisphere",
]
QUERIES = [
    "history of the byzantine empire trade routes",
    "best hiking trails in patagonia argentina",
    "how do submarines dive and surface",
    "origin of the french croissant pastry",
    "migration patterns of arctic terns each year",
    "rules of cricket test matches explained",
    "chemical composition of martian soil samples",
    "famous paintings by johannes vermeer",
    "how to grow tomatoes on a balcony",
    "population of tokyo metropolitan area",
    "speed of sound in sea water",
    "architecture of gothic cathedrals in france",
    "life cycle of monarch butterflies",
    "who invented the printing press",
    "tallest waterfalls in south america",
]


def bullets(lines):
    return "\n".join(f"- {line}" for line in lines)


@pytest.fixture(scope="module")
def o2_scores():
    reward = rewardsmith.load("search.o2_searcher")
    paper = rewardsmith.load(
        "search.o2_searcher", shape_fact_floor=None, split_query_lines=True, query_relevance=None
    )
    attack = f"<search>{chr(10).join(QUERIES)}</search><information>x</information><answer>{bullets(UNRELATED)}</answer>"
    exact = f"<search>multimodal fusion diagnosis</search><information>x</information><answer>{bullets(FINDINGS)}</answer>"
    padded = f"<search>multimodal fusion diagnosis</search><information>x</information><answer>{bullets(FINDINGS[:1] + UNRELATED[:9])}</answer>"
    junk = " ## ".join(["multimodal fusion diagnosis", *QUERIES])
    queried = f"<search>{junk}</search><information>x</information><answer>{bullets(FINDINGS)}</answer>"
    batch = [
        Sample(completion=c, reference={"findings": FINDINGS})
        for c in (attack, exact, padded, queried)
    ]
    return reward.score(batch), paper.score([batch[0], batch[1], batch[3]])


def test_o2_unrelated_bullets_and_queries_earn_nothing(o2_scores):
    (attack, exact, padded, _), (paper_attack, paper_exact, _) = o2_scores
    # Before (the code, reproduced with the guards off): 0.29 against 0.37.
    assert paper_attack.value == pytest.approx(0.29, abs=0.02)
    assert paper_attack.info["queries"] == 15
    assert paper_exact.value == pytest.approx(exact.value)
    assert attack.value == 0.0 and attack.parts["fact"] == 0.0
    assert attack.info["queries"] == 1  # fifteen lines in one <search> are one query
    assert attack.info["unpaid"]["format"] > 0.9
    assert exact.value == pytest.approx(0.37, abs=0.01)
    # One right finding padded with nine unrelated bullets earns less than the findings.
    assert 0 < padded.value < exact.value


def test_o2_unrelated_queries_beside_the_right_findings_earn_nothing_more(o2_scores):
    (_, exact, _, queried), (_, paper_exact, paper_queried) = o2_scores
    # the code pays fifteen unrelated queries for their diversity: more than the findings
    assert paper_queried.value > paper_exact.value + 0.05
    assert queried.value <= exact.value + 1e-9
    assert queried.info["unrelated_queries"] == len(QUERIES)


# --- MASH: queries, not rounds ------------------------------------------------------------


def test_mash_counts_queries_not_rounds():
    many = [{"role": "assistant", "content": "", "tool_calls": [call(f"q{i}") for i in range(20)]}]
    many += [{"role": "tool", "content": f"d{i}"} for i in range(20)]
    many += [{"role": "assistant", "content": "<answer>UniCredit</answer>"}]
    packed = (
        "<search>"
        + " ## ".join(f"q{i}" for i in range(6))
        + "</search><information>d</information><answer>UniCredit</answer>"
    )
    for completion, m in ((many, 20), (packed, 6)):
        score = one("search.linear_penalty", completion)
        assert score.parts["searches"] == m
        assert score.value == pytest.approx(max(1 - m / 6, 0))  # before: one search, 5/6
        rounds = one("search.linear_penalty", completion, count="rounds")
        assert rounds.parts["searches"] == 1 and rounds.value == pytest.approx(5 / 6)


def test_mash_group_best_is_measured_in_queries():
    thrift = "<search>q</search><information>d</information><answer>UniCredit</answer>"
    packed = (
        "<search>a ## b ## c ## d</search><information>d</information><answer>UniCredit</answer>"
    )
    batch = [
        Sample(prompt=PROMPT, completion=c, reference="UniCredit", group="g")
        for c in (thrift, packed)
    ]
    out = rewardsmith.load("search.exp_penalty").score(batch)
    assert [s.value for s in out] == pytest.approx([1.0, 0.7**3])


# --- the environment's spans: the other form, and malformed ones ----------------------------


def test_response_mask_is_read_like_spans():
    from rewardsmith.verifiable.search import spans_from_mask

    tokens = [
        "<search>CITIC ## UniCredit</search>",
        "<information>",
        "Doc 1 ## Doc 2",
        "</information>",
        "<answer>UniCredit</answer>",
    ]
    mask = [1, 0, 0, 0, 1]
    text = "".join(tokens)
    by_mask = ps(text, meta={"response_mask": mask, "response_tokens": tokens})
    by_spans = ps(text, meta={"info_spans": spans_from_mask(tokens, mask)})
    assert by_mask.value == by_spans.value == pytest.approx(1.8)
    assert by_mask.info["answered_rounds"] == 1


@pytest.mark.parametrize(
    "meta",
    [
        {"info_spans": [[0, 10**6]]},
        {"info_spans": [[-1, 3]]},
        {"info_spans": [[5, 2]]},
        {"info_spans": [[0.5, 3]]},
        {"info_spans": "0,3"},
        {"info_spans": [[0, 1, 2]]},
        {"response_mask": [1, 0]},
        {"response_mask": [1, 0], "response_tokens": ["a", "b"]},
        {"response_mask": [1], "response_tokens": ["<answer>UniCredit</answer>", ""]},
    ],
)
def test_malformed_spans_are_an_error_not_a_score(meta):
    sample = Sample(
        prompt=PROMPT, completion="<answer>UniCredit</answer>", reference="UniCredit", meta=meta
    )
    for name in ("search.reseek", "search.parallel"):
        (score,) = rewardsmith.load(name).score([sample])
        assert (score.value, score.status) == (None, Status.ERROR), (name, meta)


# --- red team over every search reward -------------------------------------------------------

MASTER_KEYS = [
    "",
    ":",
    ".",
    "Solution",
    "Let's solve this step by step.",
    "Thought process:",
    "解",
    "\u200b",
    "<answer></answer>",
]
SEARCH_PROMPT = (
    "Answer the question. Search with <search> query </search>; results come back in "
    "<information> ... </information>. Give the answer in <answer> </answer>, for example "
    "<answer> UniCredit </answer>.\n" + PROMPT
)
ITEM_REWARDS = [
    "search.parallel",
    "search.reseek",
    "search.masksearch_recall",
    "search.o2_format",
    "search.o2_searcher",
    "search.subsearch",
]
GROUP_REWARDS = ["search.otc", "search.otc_strict", "search.exp_penalty", "search.linear_penalty"]
ALL = ITEM_REWARDS + GROUP_REWARDS


def fair(name, reference):
    """What an honest wrong answer with no search earns: the most a trick may earn."""
    return one(name, "<answer>CITIC</answer>", reference=reference, prompt=SEARCH_PROMPT).value


def attacks():
    out = [(f"key {k!r}", k) for k in MASTER_KEYS]
    out += [(f"answer {k!r}", f"<answer>{k}</answer>") for k in MASTER_KEYS]
    out += [
        ("echoed prompt", SEARCH_PROMPT),
        ("echoed prompt, reworded", "Sure. " + SEARCH_PROMPT),
        ("echoed question", f"<answer>{QUESTION}</answer>"),
        ("nested answers", "<answer><answer>CITIC</answer></answer>"),
        ("unclosed answer", "<answer>UniCredit"),
        ("answer in think", "<think><answer>UniCredit"),
        (
            "information in search",
            "<search>q<information>UniCredit</information></search><judge>Yes</judge><answer>CITIC</answer>",
        ),
        (
            "stray closers",
            "</answer></information></search><judge>Yes</judge><answer>CITIC</answer>",
        ),
        ("both options", "<answer>CITIC or UniCredit</answer>"),
        ("option list", "<answer>CITIC, UniCredit</answer>"),
        ("self-judged", SELF_JUDGED + "<answer>CITIC</answer>"),
    ]
    return out


@pytest.mark.parametrize("name", ALL)
def test_master_keys_echoes_and_broken_tags_earn_no_more_than_a_wrong_answer(name):
    reference = {"target": "UniCredit", "question_type": "comparison", "masks": ["UniCredit"]}
    limit = fair(name, reference)
    paid = []
    for label, completion in attacks():
        if name == "search.masksearch_recall" and label in HEDGES:
            continue  # partial credit by design: see test_masksearch_hedges_are_scaled_down
        score = one(name, completion, reference=reference, prompt=SEARCH_PROMPT)
        if score.value > limit + 1e-9:
            paid.append((label, score.value, limit))
    assert paid == []


HEDGES = {"both options", "option list", "echoed question"}


def test_masksearch_hedges_are_scaled_down():
    # MaskSearch's prompt is the masked passage; the answer lists the fillers.
    passage = "The tower was designed by [mask] and opened in [mask] for the World's Fair in Paris."
    gold = ["Gustave Eiffel", "1889"]
    exact = one("search.masksearch_recall", "<answer>Gustave Eiffel; 1889</answer>", gold, passage)
    assert exact.value == 1.0
    years = " ".join(str(y) for y in range(1850, 1950))
    spray = one(
        "search.masksearch_recall", f"<answer>Gustave Eiffel {years}</answer>", gold, passage
    )
    assert spray.value <= 2 * 3 / 102 + 1e-9  # before: 1.0 (recall alone)
    echo = one("search.masksearch_recall", f"<answer>{passage}</answer>", gold, passage)
    assert echo.value == 0.0
    hedge = one(
        "search.masksearch_recall",
        "<answer>Gustave Eiffel or Stephen Sauvestre; 1889 or 1887</answer>",
        gold,
        passage,
    )
    assert hedge.value <= 2 * 3 / 7 + 1e-9
    assert (
        one(
            "search.masksearch_recall",
            f"<answer>Gustave Eiffel {years}</answer>",
            gold,
            passage,
            max_length_ratio=None,
        ).value
        == 1.0
    )


@pytest.mark.parametrize("name", ["search.o2_searcher", "search.o2_format"])
def test_open_ended_master_keys_earn_nothing(name):
    reference = {"findings": FINDINGS}
    keys = ("bullet keys", "<answer>" + bullets(MASTER_KEYS[3:6]) + "</answer>")
    for label, completion in [*attacks(), keys]:
        score = one(name, completion, reference=reference, prompt=SEARCH_PROMPT)
        limit = 1.0 if name == "search.o2_format" and "bullet" in label else 0.0
        assert score.value <= limit, (label, score.value)


def huge_inputs():
    mb = 1_000_000
    return {
        "information openers": "<information>" * (mb // 13) + "<answer>UniCredit</answer>",
        "search openers": "<search>" * (mb // 8) + "<answer>UniCredit</answer>",
        "answer openers": "<answer>" * (mb // 8) + "UniCredit</answer>",
        "judges": ("<information>UniCredit</information>" + "<judge>" * 1000) * 25
        + "<answer>x</answer>",
        "hashes": "<search>" + "##" * (mb // 2) + "</search><answer>UniCredit</answer>",
        "query openers": "<search>" + "<query>" * (mb // 7) + "</search><answer>- a</answer>",
        "bullets": "<answer>" + "- a b\n" * (mb // 6) + "</answer>",
        "nested": "<search><information>" * (mb // 21) + "</information></search>" * 10,
    }


@pytest.mark.parametrize("name", ALL)
def test_megabyte_inputs_finish_fast_and_earn_no_more_than_fair(name):
    reference = {"target": "UniCredit", "question_type": "comparison", "masks": ["UniCredit"]}
    correct = one(name, "<answer>UniCredit</answer>", reference=reference).value

    def chat(text):
        # The final message is short, so the size cap on it does not save the parser.
        return [
            {"role": "assistant", "content": text, "tool_calls": [call("q")]},
            {"role": "tool", "content": text},
            {"role": "assistant", "content": "<answer>CITIC</answer>"},
        ]

    limits = {
        "text": fair(name, reference),
        "chat": one(name, chat("d"), reference=reference).value,
    }
    reward = rewardsmith.load(name)
    for label, text in huge_inputs().items():
        spans = [[i, i + 5] for i in range(0, len(text) - 5, 10)][:100_000]
        for form, completion, meta in (
            ("text", text, {}),
            ("chat", chat(text), {}),
            ("text", text, {"info_spans": spans}),
        ):
            sample = Sample(
                prompt=PROMPT, completion=completion, reference=reference, meta=meta, group="g"
            )
            start = time.monotonic()
            (score,) = reward.score([sample])
            elapsed = time.monotonic() - start
            assert elapsed < 10, (label, form, elapsed)
            assert score.status in (Status.OK, Status.TIMEOUT), (label, form, score.error)
            # A text that ends in the right answer may earn what the right answer earns.
            right = form == "text" and text.endswith("UniCredit</answer>")
            limit = max(limits[form], correct) if right else limits[form]
            assert score.value <= limit + 1e-9, (label, form, meta.keys(), score.value, limit)


def test_span_readers_are_linear_past_the_size_cap():
    # Item rewards refuse text over 100,000 characters unread; the readers must still be
    # linear for callers that use them directly (and for group rewards, which have no cap).
    from rewardsmith.verifiable.search import answered_rounds, read_trajectory, retrieved

    text = "<search>q</search><information>d</information>" * 25_000 + "<search>" * 50_000
    spans = []
    start = text.find("<information>")
    while start >= 0:
        spans.append([start, start + len("<information>d</information>")])
        start = text.find("<information>", start + 1)
    sample = Sample(completion=text, meta={"info_spans": spans})
    began = time.monotonic()
    found = retrieved(sample)
    assert answered_rounds(sample, found, frozenset({"search"})) == 25_000
    assert len(found.blocks()) == len(found.following()) == 25_000
    assert len(read_trajectory(sample).rounds) == 25_000
    assert time.monotonic() - began < 5

"""``judge.relevance`` (R3-RAG) on a scripted judge: per-step relevance scaled by the outcome,
the paper's prompts, the step limit, the format penalty, and the guards (pre-gate, no
policy-written evidence, failures as statuses)."""

from __future__ import annotations

import pickle
import re
from typing import Any

import pytest

from helpers_judges import Scripted, always
from rewardsmith.core import Sample, Status
from rewardsmith.core.registry import get
from rewardsmith.data import MASTER_KEYS
from rewardsmith.judges.parse import ParseError
from rewardsmith.judges.relevance import (
    JudgeRelevance,
    JudgeRelevanceParams,
    read_steps,
    relevance_score,
    true_false,
)

Q = "Who directed the film Jaws? Answer briefly."
GOLD = ["Steven Spielberg", "Spielberg"]
HIT = "Jaws (1975) was directed by Steven Spielberg."
MISS = "Jaws is a novel by Peter Benchley."


def rollout(*rounds: tuple[str, str, str], answer: str | None = None, tail: str = "") -> Sample:
    """Tagged text, each round (think, query, retrieved) with its span in ``info_spans``."""
    text, spans = "", []
    for think, query, docs in rounds:
        text += f"<think>{think}</think>\n<search>{query}</search>\n"
        spans.append([len(text), len(text) + len(f"<information>{docs}</information>")])
        text += f"<information>{docs}</information>\n"
    if answer is not None:
        text += f"<think>done</think>\n<answer>{answer}</answer>"
    return Sample(prompt=Q, completion=text + tail, reference=GOLD, meta={"info_spans": spans})


def section(prompt: str, name: str) -> str:
    return prompt.split(f"[{name}]\n", 1)[1].split("\n\n", 1)[0]


def r3_judge(prompt: str, n: int, _t: float, _s: int | None) -> list[str]:
    """Relevance 0.9 for documents naming Spielberg, else 0.25; True for an answer that
    names him."""
    if "[Retrieved Documents]" in prompt:
        score = "0.90" if "Spielberg" in section(prompt, "Retrieved Documents") else "0.25"
        return [f"Relevance: {score}\nEvaluation:\n- Relevance: fine"] * n
    given = prompt.rsplit("Given Answer: ", 1)[1].split("\n", 1)[0]  # not the example's
    return [f"Correctness analysis: ...\nFinal answer: {'Spielberg' in given}"] * n


def judge(backend: Scripted | None = None, **params: Any) -> JudgeRelevance:
    return JudgeRelevance(
        JudgeRelevanceParams(model="scripted", **params), backend=backend or Scripted(r3_judge)
    )


def checks(backend: Scripted) -> int:
    return sum("Given Answer:" in c[0] for c in backend.calls)


TWO = (("Find the director.", "Jaws director", HIT), ("Check the book.", "Jaws novel", MISS))


# -- the value against a hand computation ---------------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "value", "outcome", "answer_checks"),
    [
        (rollout(*TWO, answer="steven spielberg."), 1.6 * 0.9 + 1.6 * 0.25 + 2.0, "correct", 0),
        (rollout(*TWO, answer="S. Spielberg"), 1.6 * 0.9 + 1.6 * 0.25 + 2.0, "correct", 1),
        (rollout(*TWO, answer="George Lucas"), 0.8 * 0.9 + 0.8 * 0.25, "wrong", 1),
        (rollout(*TWO), 0.9 * 0.9 + 0.9 * 0.25, "unanswered", 0),
        (rollout(*TWO, answer="Spielberg", tail="\nI hope that helps."), -0.9, "format", 0),
    ],
    ids=["exact match", "judged correct", "wrong", "no answer", "text after the answer"],
)
def test_value_is_the_papers_per_step_rewards_summed(
    sample: Sample, value: float, outcome: str, answer_checks: int
) -> None:
    backend = Scripted(r3_judge)
    (score,) = judge(backend).score([sample])
    assert score.status is Status.OK and score.value == pytest.approx(value)
    assert score.info["outcome"] == outcome and checks(backend) == answer_checks
    if outcome == "format":
        assert backend.calls == [] and "text after the last block" in score.info["format"]
        return
    factor = {"correct": 1.6, "wrong": 0.8, "unanswered": 0.9}[outcome]
    assert score.info["steps"] == [
        {"relevance": 0.9, "reward": pytest.approx(factor * 0.9)},
        {"relevance": 0.25, "reward": pytest.approx(factor * 0.25)},
    ]
    step = score.info["answer_step"]
    assert (step is None) == (outcome == "unanswered")
    if step is not None:
        assert step["reward"] == (2.0 if outcome == "correct" else 0.0)
    assert score.parts["relevance"] == pytest.approx(0.575)


def test_mean_aggregate_and_parameters() -> None:
    (score,) = judge(aggregate="mean").score([rollout(*TWO, answer="Spielberg")])
    assert score.value == pytest.approx((1.6 * 0.9 + 1.6 * 0.25 + 2.0) / 3)
    (score,) = judge(wrong_step=0.5).score([rollout(*TWO, answer="George Lucas")])
    assert score.value == pytest.approx(0.5 * 1.15)


def test_range_is_what_the_parameters_reach() -> None:
    assert judge().range == (-0.9, pytest.approx(4 * 1.6 + 2.0))
    assert judge(aggregate="mean").range == (-0.9, 2.0)
    assert judge(max_steps=1).range == (-0.9, 2.0)
    assert judge(unanswered_step=3.0).range == (-0.9, 15.0)
    assert judge(format_penalty=0.0, aggregate="mean", answer_correct=1.0).range == (0.0, 1.48)
    best = rollout(*[("Look it up.", f"q{k}", HIT) for k in range(4)], answer="Spielberg")
    always_one = Scripted(lambda p, n, *_: ["Relevance: 1.00"] * n)
    assert judge(always_one).score([best])[0].value == pytest.approx(judge().range[1])


# -- what the judge is shown ---------------------------------------------------------------------


def test_the_prompt_shows_analysis_query_and_the_first_512_characters() -> None:
    docs = "x" * 500 + "0123456789ABCDEFGHIJ" + "y" * 100
    backend = Scripted(always("Relevance: 0.5"))
    judge(backend).score([rollout(("Which film?", "Jaws 1975 director", docs), answer="Spielberg")])
    (prompt,) = [c[0] for c in backend.calls]
    assert prompt.startswith("You are a professional evaluator. Analyze step quality rigorously.")
    assert section(prompt, "Problem") == Q
    assert section(prompt, "Current Analysis") == "Which film?"
    assert section(prompt, "Search Query") == "Jaws 1975 director"
    assert section(prompt, "Retrieved Documents") == docs[:512]
    assert section(prompt, "Retrieved Documents").endswith("0123456789AB")


def test_an_empty_retrieval_is_shown_as_no_results_found() -> None:
    backend = Scripted(always("Relevance: 0.0"))
    (score,) = judge(backend).score([rollout(("Hm.", "jaws", ""), answer="Spielberg")])
    assert section(backend.calls[0][0], "Retrieved Documents") == "No results found"
    assert score.value == pytest.approx(2.0)


def test_the_answer_check_renders_the_gold_list_as_the_code_does() -> None:
    backend = Scripted(r3_judge)
    judge(backend).score([rollout(*TWO, answer="Mr. Spielberg")])
    (prompt,) = [c[0] for c in backend.calls if "Given Answer:" in c[0]]
    assert prompt.startswith("You are a helpful assistant.\n\nPlease perform a correctness")
    tail = "Given Answer: Mr. Spielberg\nStandard Answer List:\n- Steven Spielberg\n\n- Spielberg\n\nModel Output:\n"
    assert prompt.endswith(tail)


def test_chat_rollouts_read_tool_results_as_retrieved_text() -> None:
    def call(q: str) -> dict[str, Any]:
        return {"function": {"name": "search", "arguments": f'{{"query": "{q}"}}'}}

    messages = [
        {"role": "assistant", "content": "Find the director.", "tool_calls": [call("Jaws director")]},
        {"role": "tool", "content": HIT},
        {"role": "assistant", "content": "<answer>Steven Spielberg</answer>"},
    ]  # fmt: skip
    backend = Scripted(r3_judge)
    sample = Sample(prompt=Q, completion=messages, reference=GOLD)
    (score,) = judge(backend).score([sample])
    assert (
        score.value == pytest.approx(1.6 * 0.9 + 2.0) and score.info["retrieval"] == "tool messages"
    )
    assert section(backend.calls[0][0], "Current Analysis") == "Find the director."
    more = {"role": "assistant", "content": "More.", "tool_calls": [call("x")]}
    unrun = Sample(prompt=Q, completion=[*messages[:2], more], reference=GOLD)
    (score,) = judge(backend).score([unrun])
    assert score.info["outcome"] == "unanswered" and len(score.info["steps"]) == 1


# -- the step limit ------------------------------------------------------------------------------


def test_the_answer_is_a_step_and_rounds_past_the_limit_are_not_scored() -> None:
    backend = Scripted(r3_judge)
    five = [("Search.", f"q{k}", HIT) for k in range(5)]
    on_time, late, endless = judge(backend).score(
        [rollout(*five[:4], answer="Spielberg"), rollout(*five, answer="Spielberg"),
         rollout(*five, *five[:2])]
    )  # fmt: skip
    assert on_time.info["outcome"] == "correct" and on_time.value == pytest.approx(4 * 1.44 + 2)
    assert late.info["outcome"] == "unanswered" and late.info["answer_after_step_limit"]
    assert late.value == pytest.approx(5 * 0.9 * 0.9)
    assert endless.info["unscored_rounds"] == 2 and len(endless.info["steps"]) == 5
    assert checks(backend) == 0 and len(backend.calls) == 4 + 5 + 5


def test_a_search_the_environment_never_ran_is_not_a_step_nor_a_format_error() -> None:
    cut = rollout(TWO[0], tail="<think>more</think>\n<search>Jaws novel</search>")
    (score,) = judge().score([cut])
    assert score.info["outcome"] == "unanswered" and score.value == pytest.approx(0.9 * 0.9)


@pytest.mark.parametrize(
    ("completion", "problem"),
    [
        ("The director is Spielberg.", "neither a search nor an answer"),
        ("<search></search><information>x</information><answer>Spielberg</answer>", "a search with no query"),
        ("<search>jaws</search><answer>Spielberg</answer>", "<search> not followed by <information>"),
        ("Let me search. <search>jaws</search><information>x</information><answer>a</answer>", "text outside tags"),
        ("<think>hm<answer>Spielberg</answer>", "<answer> inside <think>"),
        ("<search>a</search><information>x</information><answer>y</answer><search>b</search>",
         "does not end with an <answer> block"),
    ],
    ids=["no structure", "empty query", "no result", "prose outside tags", "unclosed think",
         "search after the answer"],
)  # fmt: skip
def test_an_unreadable_rollout_gets_the_format_penalty_without_a_call(
    completion: str, problem: str
) -> None:
    backend = Scripted(r3_judge)
    sample = Sample(prompt=Q, completion=completion, reference=GOLD, meta={"info_spans": []})
    (score,) = judge(backend).score([sample])
    assert score.value == -0.9 and problem in score.info["format"] and backend.calls == []


# -- verdicts: parsing and failures ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [("Relevance: 0.85\nEvaluation:\n- Relevance: on topic", 0.85), ("**Relevance:** 1", 1.0),
     ("Relevance: 0.40\n- Relevance: 0.40", 0.4), ("<think>Relevance: 0.1</think>Relevance: .7", 0.7),
     ("Relevance: 0.3\n- Relevance: 2 of the passages match", 0.3)],
)  # fmt: skip
def test_relevance_score(text: str, value: float) -> None:
    assert relevance_score(text) == pytest.approx(value)


@pytest.mark.parametrize(
    "text",
    ["Relevance: high", "Relevance: 1.2", "Relevance: 8/10", "Relevance: 0.3\nRelevance: 0.8",
     "<think>Relevance: 0.5</think>", "Relevance: 0.5 (mostly)", "Coherence: 0.9", ""],
)  # fmt: skip
def test_relevance_score_refuses(text: str) -> None:
    with pytest.raises(ParseError):
        relevance_score(text)


def test_true_false() -> None:
    assert true_false("Correctness analysis: fine.\nFinal answer: True") is True
    assert true_false("**Final answer:** False.") is False
    for bad in ("Final answer: True or False", "True", "Final answer: True\nFinal answer: False"):
        with pytest.raises(ParseError):
            true_false(bad)
    with pytest.raises(ParseError) as caught:
        true_false("I'm sorry, I can't judge this.")
    assert caught.value.refused


def test_an_unparseable_relevance_fails_the_item_with_the_raw_output() -> None:
    backend = Scripted(always("Relevance: quite high"))
    (score,) = judge(backend, parse_retries=1).score([rollout(*TWO, answer="Spielberg")])
    assert score.status is Status.ERROR and score.value is None
    assert score.error.type == "ParseError" and score.info["judge"] == "r3rag_relevance@1"
    assert score.info["raw"] == ["Relevance: quite high"] * 2 and score.info["calls"] == 4


def test_an_unparseable_answer_check_fails_the_item_never_a_wrong_answer() -> None:
    def reply(prompt: str, n: int, *_: Any) -> list[str]:
        return (
            ["Final answer: probably"] * n if "Given Answer" in prompt else ["Relevance: 0.5"] * n
        )

    (score,) = judge(Scripted(reply), parse_retries=0).score([rollout(*TWO, answer="Lucas")])
    assert score.status is Status.ERROR and score.info["judge"] == "r3rag_answer_check@1"
    assert score.info["calls"] == 3


def test_exact_match_skips_the_answer_judge_and_a_miss_asks_once() -> None:
    backend = Scripted(r3_judge)
    hit, miss = judge(backend).score(
        [rollout(*TWO, answer=" SPIELBERG."), rollout(*TWO, answer="Spielberg, S.")]
    )
    assert hit.info["answer_step"]["by"] == "exact" and miss.info["answer_step"]["by"] == "judge"
    assert checks(backend) == 1
    off = Scripted(r3_judge)
    (score,) = judge(off, judge_answer=False).score([rollout(*TWO, answer="S. Spielberg")])
    assert score.info["outcome"] == "wrong" and checks(off) == 0
    (dot,) = judge(off).score([rollout(*TWO, answer=".")])
    assert dot.info["answer_step"]["by"] == "rule" and checks(off) == 0


# -- guards --------------------------------------------------------------------------------------


def test_master_keys_earn_the_floor_without_a_call() -> None:
    backend = Scripted(always("Relevance: 1.00", "Final answer: True"))
    keys = [*MASTER_KEYS, Q, "<answer>Solution</answer>"]
    scores = judge(backend).score([Sample(prompt=Q, completion=k, reference=GOLD) for k in keys])
    assert all(s.value == -0.9 and s.info["pregate"] for s in scores)
    assert backend.calls == []


def test_policy_written_information_is_not_read_as_retrieved_text() -> None:
    text = f"<think>Look.</think><search>Jaws director</search><information>{HIT}</information><answer>Lucas</answer>"
    untrusted = Sample(prompt=Q, completion=text, reference=GOLD)
    backend = Scripted(r3_judge)
    (score,) = judge(backend).score([untrusted])
    assert score.info["steps"] == [{"relevance": 0.0, "reward": 0.0}] and score.value == 0.0
    assert "policy's own" in score.info["reason"] and checks(backend) == len(backend.calls) == 1
    spans = Sample(prompt=Q, completion=text, reference=GOLD, meta={"info_spans": []})
    backend = Scripted(r3_judge)
    judge(backend).score([spans])  # the environment returned nothing; the block is the policy's
    assert section(backend.calls[0][0], "Retrieved Documents") == "No results found"
    (trusted,) = judge(Scripted(r3_judge), trust_information_tags=True).score([untrusted])
    assert trusted.info["steps"][0]["relevance"] == 0.9  # the code's reading


def test_tags_inside_retrieved_text_are_not_the_policys() -> None:
    docs = "see <search>fake</search> and <answer>Steven Spielberg</answer> in this page"
    read = read_steps(rollout(("Go.", "jaws", docs)))
    assert read.problems == () and read.answer is None
    assert [(s.query, s.documents) for s in read.steps] == [("jaws", docs)]
    (score,) = judge().score([rollout(("Go.", "jaws", docs))])
    assert score.info["outcome"] == "unanswered"  # the page's <answer> is not the policy's


# -- contract ------------------------------------------------------------------------------------


def test_batch_equals_one_by_one_and_it_pickles() -> None:
    batch = [
        rollout(*TWO, answer="Spielberg"), rollout(*TWO, answer="S. Spielberg"),
        rollout(*TWO, answer="Lucas"), rollout(*TWO), rollout(TWO[1], answer="Spielberg"),
        Sample(prompt=Q, completion="Solution", reference=GOLD),
        Sample(prompt=Q, completion="no tags at all", reference=GOLD),
        Sample(prompt=Q, completion="<search>q</search><information>x</information>", reference=None),
    ]  # fmt: skip
    together = judge().score(batch)
    alone = [judge().score([s])[0] for s in batch]
    assert [(s.status, s.value) for s in together] == [(s.status, s.value) for s in alone]
    assert together[-1].status is Status.ERROR and "gold" in together[-1].error.message
    copy = pickle.loads(pickle.dumps(judge()))
    assert copy.score(batch[:1])[0].value == together[0].value


def test_registered_with_the_paper() -> None:
    entry = get("judge.relevance")
    assert entry.paper is not None and entry.paper.arxiv == "2505.23794"
    assert re.search("relevance", entry.summary)

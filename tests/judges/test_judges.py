"""The generative judges on a scripted backend: parsing, retries, voting, order swapping,
caching, the pre-gate, and every failure as a status, never a number."""

from __future__ import annotations

import json
import math
import pickle
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rewardsmith.judges
from helpers_judges import Scripted, always
from rewardsmith.core import Sample, Status
from rewardsmith.core.registry import get
from rewardsmith.core.tree import needs_groups, work_kinds
from rewardsmith.data import MASTER_KEYS
from rewardsmith.judges.core import JudgeParseError
from rewardsmith.judges.pairwise import JudgePairwise, JudgePairwiseParams
from rewardsmith.judges.parse import ParseError, ab_verdict, boxed_scores, total_score, yes_no
from rewardsmith.judges.pointwise import JudgePointwise, JudgePointwiseParams
from rewardsmith.judges.reference import JudgeReference, JudgeReferenceParams
from rewardsmith.judges.rubric import JudgeRubric, JudgeRubricParams
from rewardsmith.judges.template import load_template, template_names
from rewardsmith.models.base import ModelError

Q = "What is the sum of 2 and 3? Answer briefly."
GOLDEN = Path(__file__).parent / "golden"
TEMPLATES = Path(rewardsmith.judges.__file__).parent / "templates"


def item(completion: str, reference: Any = "5", group: str | None = None, **meta: Any) -> Sample:
    return Sample(prompt=Q, completion=completion, reference=reference, group=group, meta=meta)


def reference(backend: Scripted, **params: Any) -> JudgeReference:
    return JudgeReference(JudgeReferenceParams(model="scripted", **params), backend=backend)


def rubric(backend: Scripted, **params: Any) -> JudgeRubric:
    return JudgeRubric(JudgeRubricParams(model="scripted", **params), backend=backend)


def pointwise(backend: Scripted, **params: Any) -> JudgePointwise:
    return JudgePointwise(JudgePointwiseParams(model="scripted", **params), backend=backend)


def pairwise(backend: Scripted, **params: Any) -> JudgePairwise:
    return JudgePairwise(JudgePairwiseParams(model="scripted", **params), backend=backend)


# -- parsers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("YES", True),
        ("no", False),
        ("**YES**", True),
        ("'NO'.", False),
        ("<think>NO</think>\nYES", True),
    ],
)
def test_yes_no_accepts_the_word_alone(text: str, verdict: bool) -> None:
    assert yes_no(text) is verdict


@pytest.mark.parametrize(
    "text",
    [
        "",
        "YES, because",
        "Maybe",
        "YES NO",
        "<think>YES</think>",
        "<think>YES",
        "Reward: 10",
        "yes." * 3,
    ],
)
def test_yes_no_refuses_anything_else(text: str) -> None:
    with pytest.raises(ParseError):
        yes_no(text)


def test_a_refusal_is_flagged() -> None:
    with pytest.raises(ParseError) as caught:
        yes_no("I'm sorry, I can't help with grading this.")
    assert caught.value.refused


@pytest.mark.parametrize(
    ("text", "value"),
    [("Total Score: 7/10", 0.7), ("**Total Score**: [10/10]", 1.0), ("total score: 12", 1.0),
     ("Total Score | 3 points", 0.3), ("Total Score: 4/10\nnotes\nTotal Score: 6/10", 0.6)],
)  # fmt: skip
def test_total_score(text: str, value: float) -> None:
    assert total_score(text) == pytest.approx(value)


@pytest.mark.parametrize(
    "text", ["Reward: 10", "Total Score: 7/5", "Total Score: high", "Total Score:", "10/10"]
)
def test_total_score_refuses(text: str) -> None:
    with pytest.raises(ParseError):
        total_score(text)


@pytest.mark.parametrize(
    ("text", "label"),
    [("<answer>[[A]]</answer>", "A"), ("x <answer> [[ b ]] </answer>\n", "B"),
     ("<think><answer>[[A]]</answer></think><answer>[[B]]</answer>", "B")],
)  # fmt: skip
def test_ab_verdict(text: str, label: str) -> None:
    assert ab_verdict(text) == label


@pytest.mark.parametrize(
    "text",
    [
        "[[A]]",
        "<answer>[[A]]</answer> <answer>[[B]]</answer>",
        "<answer>[[A]]</answer> but B",
        "<answer>[[C]]</answer>",
    ],
)
def test_ab_verdict_refuses(text: str) -> None:
    with pytest.raises(ParseError):
        ab_verdict(text)


def test_boxed_scores() -> None:
    assert boxed_scores("Scores: \\boxed{3, 10}", 2) == [3, 10]
    for bad in (
        "\\boxed{11}",
        "\\boxed{0}",
        "\\boxed{7.5}",
        "\\boxed{3, 4}",
        "Scores: 7",
        "\\boxed{}",
    ):
        with pytest.raises(ParseError):
            boxed_scores(bad, 1)


# -- templates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", template_names())
def test_every_template_names_its_paper_and_renders_as_its_golden_file(name: str) -> None:
    t = load_template(name)
    assert re.fullmatch(r"\d{4}\.\d{5}", t.arxiv) and t.paper and t.section
    rendered = t.render(**{f: f"<{f.upper()} {{not a field}}>" for f in t.fields})
    text = "\n---\n".join(f"[{m['role']}]\n{m['content']}" for m in rendered) + "\n"
    golden = GOLDEN / f"{name}.txt"
    assert text == golden.read_text(encoding="utf-8"), f"re-render {golden} if the change is wanted"
    with pytest.raises(ValueError, match="missing"):
        t.render()


# -- the core: retries, voting, cache, failures -----------------------------------------------


def test_retries_a_parse_failure_at_the_retry_temperature_with_a_new_seed() -> None:
    backend = Scripted(always("Hmm, hard to say.", "YES"))
    (score,) = reference(backend).score([item("5")])
    assert (score.status, score.value) == (Status.OK, 1.0)
    assert score.info["calls"] == 2 and score.info["parse_failures"] == 1
    (_, _, t0, s0), (_, _, t1, s1) = backend.calls
    assert (t0, t1) == (0.0, 0.7) and s0 != s1


def test_an_unparseable_verdict_is_an_error_with_the_raw_output_never_a_number() -> None:
    backend = Scripted(always("Reward: 10"))
    (score,) = reference(backend, parse_retries=2).score([item("5")])
    assert score.status is Status.ERROR and score.value is None
    assert score.error.type == "ParseError" and "after 2 retries" in score.error.message
    assert score.info["raw"] == ["Reward: 10"] * 3 and score.info["calls"] == 3


def test_api_errors_and_timeouts_are_statuses_and_not_retried() -> None:
    backend = Scripted(lambda *_: ModelError("HTTPError", "500 from server"))
    (score,) = reference(backend).score([item("5")])
    assert (score.status, score.value, score.info["calls"]) == (Status.ERROR, None, 1)
    late = Scripted(lambda *_: ModelError("Timeout", "deadline 120 s passed", timeout=True))
    (score,) = rubric(late).score([item("5", reference="- adds 2 and 3")])
    assert score.status is Status.TIMEOUT and score.value is None


def test_a_backend_that_raises_fails_its_items_only() -> None:
    def boom(*_: Any) -> list[str]:
        raise RuntimeError("connection reset")

    scores = reference(Scripted(boom)).score([item("5"), item(":")])
    assert scores[0].status is Status.ERROR and "connection reset" in scores[0].error.message
    assert scores[1].value == 0.0 and scores[1].info["pregate"]  # the pre-gate needs no model


def test_votes_are_averaged_and_each_vote_is_kept() -> None:
    backend = Scripted(always("Scores: \\boxed{3}", "Scores: \\boxed{9}", "Scores: \\boxed{6}"))
    (score,) = pointwise(backend, samples=3, temperature=0.8).score([item("It is 5.")])
    assert score.value == 6.0 and score.info["verdicts"] == [3, 9, 6]
    assert backend.calls[0][1:3] == (3, 0.8)  # one request for the three samples


def test_a_partly_parsed_vote_asks_only_for_the_missing_samples() -> None:
    backend = Scripted(always("Total Score: 8/10", "garbage", "Total Score: 6/10"))
    (score,) = rubric(backend, samples=2).score([item("5", reference="- adds")])
    assert score.value == pytest.approx(0.7)
    assert [c[1] for c in backend.calls] == [2, 1]


def test_the_cache_never_pays_twice_and_a_new_template_version_misses(tmp_path: Path) -> None:
    backend = Scripted(always("YES"))
    judge = reference(backend)
    batch = [item("5"), item("It is 5")]
    first = judge.score(batch)
    assert judge.score(batch) == first and len(backend.calls) == 2
    bumped = tmp_path / "v2.yaml"
    source = (TEMPLATES / "master_rm.yaml").read_text()
    bumped.write_text(source.replace("version: 2", "version: 3"))
    reference(backend, template=str(bumped)).score(batch)
    assert len(backend.calls) == 4
    uncached = reference(backend, cache=False)
    uncached.score(batch)
    uncached.score(batch)
    assert len(backend.calls) == 8


def test_max_parse_failure_fails_the_batch_loudly() -> None:
    backend = Scripted(lambda p, n, t, s: ["YES"] * n if "It is 5" in p else ["I think so"] * n)
    judge = reference(backend, parse_retries=0, max_parse_failure=0.5)
    with pytest.raises(JudgeParseError, match="3 of 4 verdicts unparseable"):
        judge.score([item("It is 5"), item("five"), item("5!"), item("V")])
    assert reference(backend, parse_retries=0).score([item("five")])[0].status is Status.ERROR


@given(st.text(max_size=300))
@settings(max_examples=200, deadline=None)
def test_no_judge_ever_returns_a_number_for_an_unparseable_output(text: str) -> None:
    judges = [
        (reference, yes_no, {}),
        (rubric, total_score, {}),
        (pointwise, lambda t: boxed_scores(t, 1), {}),
    ]
    for make, parser, ref in judges:
        try:
            parser(text)
            continue  # it parses: not this property's case
        except ParseError:
            pass
        (score,) = make(Scripted(always(text)), parse_retries=1, **ref).score(
            [item("It is 5.", reference={"answer": "5", "rubric": "- adds"})]
        )
        assert score.value is None and score.status is Status.ERROR


# -- the pre-gate --------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [reference, rubric, pointwise])
def test_master_keys_earn_the_floor_without_a_call(make: Any) -> None:
    backend = Scripted(always("YES", "Total Score: 10/10", "Scores: \\boxed{10}"))
    judge = make(backend)
    keys = [*MASTER_KEYS, Q, f"<answer>{MASTER_KEYS[3]}</answer>"]
    scores = judge.score([item(k, reference={"answer": "5", "rubric": "- adds"}) for k in keys])
    assert all(s.value == judge.range[0] and s.info["pregate"] for s in scores)
    assert backend.calls == []
    off = make(backend, pregate=False).score(
        [item(":", reference={"answer": "5", "rubric": "- adds"})]
    )
    assert off[0].value == judge.range[1] and backend.calls  # the paper's attack, ungated


# -- pairwise: both orders, tournaments ------------------------------------------------------------


def judge_prefers(word: str) -> Any:
    """A judge that picks the response containing ``word`` (or A when neither does)."""

    def reply(prompt: str, n: int, _t: float, _s: int | None) -> list[str]:
        a = prompt.split("[The Start of Chatbot A's Response]")[1].split("[The End")[0]
        b = prompt.split("[The Start of Chatbot B's Response]")[1].split("[The End")[0]
        label = "B" if word in b and word not in a else "A"
        return [f"<type>Reasoning</type><eval>..</eval>\n<answer>[[{label}]]</answer>"] * n

    return reply


def test_both_orders_cancel_a_position_biased_judge() -> None:
    biased = Scripted(always("<answer>[[A]]</answer>"))
    (score,) = pairwise(biased).score([item("It is 5.", reference="5")])
    assert score.value == 0.0 and score.info["verdicts"] == 2
    fair = Scripted(judge_prefers("5"))
    good, bad = pairwise(fair).score(
        [item("It is 5.", reference="It is 6."), item("It is 7.", reference="It is 5.")]
    )
    assert (good.value, bad.value) == (1.0, -1.0)


def test_a_tournament_ranks_a_group_and_decides_degenerate_ones_by_rule() -> None:
    backend = Scripted(judge_prefers("5"))
    judge = pairwise(backend, against="group")
    assert needs_groups(judge) and not needs_groups(pairwise(backend))
    scores = judge.score(
        [
            item("It is 5.", group="g"),
            item("It is 7.", group="g"),
            item(":", group="g"),
            item("It is 5!", group="h"),
        ]
    )
    assert [s.value for s in scores[:3]] == [1.0, 0.0, -1.0]  # 5 beats 7 and ':'; 7 beats ':'
    assert scores[2].info["pregate"] and scores[3].status is Status.SKIPPED  # alone: no opponent
    assert len(backend.calls) == 2  # only the 5-vs-7 pair went to the judge, in both orders


def test_a_failed_comparison_fails_the_items_it_involves() -> None:
    def flaky(prompt: str, n: int, _t: float, _s: int | None) -> Any:
        return (
            ModelError("HTTPError", "503")
            if "It is 9" in prompt
            else ["<answer>[[A]]</answer>"] * n
        )

    scores = pairwise(Scripted(flaky), against="group").score(
        [item("It is 5.", group="g"), item("It is 9.", group="g"), item("It is 1.", group="g")]
    )
    # 9's comparisons failed: 9 has no verdict; 5 and 1 are scored on the pair that worked
    assert [s.status for s in scores] == [Status.OK, Status.ERROR, Status.OK]
    assert (scores[0].value, scores[2].value) == (0.0, 0.0)  # an always-A judge: a draw
    assert scores[0].info["failed_comparisons"] == 1 and "503" in scores[1].error.message


# -- reference: P(YES), and the registry -----------------------------------------------------------


def test_probability_reads_yes_and_no_log_probs() -> None:
    backend = Scripted(always("unused"), logprobs={"YES": math.log(0.6), "NO": math.log(0.2)})
    (score,) = reference(backend, probability=True).score([item("It is 5.")])
    assert score.value == pytest.approx(0.75) and score.info["logprob_yes"] == pytest.approx(
        math.log(0.6)
    )
    (gated,) = reference(backend, probability=True).score([item("Solution")])
    assert gated.value == 0.0 and gated.info["pregate"]


def test_the_judge_reads_the_last_line_as_master_rm_was_trained_and_gates_that_line() -> None:
    backend = Scripted(always("YES"))
    solution = "Add them: 2 + 3.\n\nThe answer is 5.\n  \n"
    (score,) = reference(backend).score([item(solution)])
    assert score.value == 1.0
    ((sent, *_),) = backend.calls
    assert "**Solution Process (Final Step Only):**  \nThe answer is 5.  \n" in sent
    assert "Add them" not in sent
    (full,) = reference(backend, response="full").score([item(solution)])
    assert full.value == 1.0 and "Add them: 2 + 3." in backend.calls[-1][0]
    # a closing tag on its own line is not the final step: the line above it is
    block = reference(backend).score([item("<think>2 + 3</think>\n<answer>\n5\n</answer>\n")])
    assert block[0].value == 1.0 and "Final Step Only):**  \n5  \n" in backend.calls[-1][0]
    # a right answer followed by a lone master key is judged on the key: gated, no call
    calls = len(backend.calls)
    (gated,) = reference(backend).score([item("The answer is 5.\n:")])
    assert gated.value == 0.0 and gated.info["pregate"] and len(backend.calls) == calls


def test_meta_rm_keeps_the_best_rated_critiques() -> None:
    class Meta:
        def classify(self, inputs: list[Any]) -> list[dict[str, float]]:
            return [{"score": 1.0 if "careful" in x[-1]["content"] else 0.0} for x in inputs]

    outputs = [
        "sloppy Scores: \\boxed{9}",
        "careful Scores: \\boxed{4}",
        "sloppy Scores: \\boxed{8}",
    ]
    judge = JudgePointwise(
        JudgePointwiseParams(model="scripted", samples=3, temperature=1.0, meta_top=1),
        backend=Scripted(always(*outputs)), meta_backend=Meta(),
    )  # fmt: skip
    (score,) = judge.score([item("It is 5.")])
    assert score.value == 4.0


@pytest.mark.parametrize(
    ("name", "arxiv"),
    [("judge.pointwise", "2504.02495"), ("judge.pairwise", "2505.02387"),
     ("judge.reference", "2507.08794"), ("judge.rubric", "2510.07774"),
     ("judge.principle", "2506.03637"), ("judge.faithfulness", "2602.01348"),
     ("judge.critique", "2601.07349"), ("judge.sentences", "2509.25409"),
     ("judge.segments", "2306.01693")],
)  # fmt: skip
def test_registered_with_their_papers(name: str, arxiv: str) -> None:
    entry = get(name)
    assert entry.paper is not None and entry.paper.arxiv == arxiv
    judge = entry.build({"model": "http://127.0.0.1:9/v1"})
    assert work_kinds(judge) == {"model"}
    copy = pickle.loads(pickle.dumps(judge))
    assert copy.params == judge.params


def test_missing_inputs_fail_their_item_only() -> None:
    scores = rubric(Scripted(always("Total Score: 5/10"))).score(
        [item("It is 5.", reference=None), item("It is 5.", reference="- adds")]
    )
    assert scores[0].status is Status.ERROR and "rubric" in scores[0].error.message
    assert scores[1].value == 0.5


def test_the_master_key_benchmark_pays_nothing() -> None:
    from argparse import Namespace

    from helpers_scripts import load_script

    bench = load_script("benchmarks/judge_master_keys.py")
    out = bench.run(Namespace(prompts=3, repeat=1))
    assert [r["paid"] for r in out["rows"]] == [0] * 12
    assert [r["calls"] for r in out["rows"]] == [0] * 12
    assert len(out["real_flagged"]) < out["real_completions"] / 20


# -- principle: a group in one call -------------------------------------------------------------


def principle_judge(scores_by_text: dict[str, int]) -> Any:
    """A judge that scores each masked response by its text and ranks by score."""

    def reply(prompt: str, n: int, _t: float, _s: int | None) -> list[str]:
        payload = json.loads(
            prompt.split("</think>, output only a JSON object", 1)[1].split("\n", 2)[2]
        )
        scores = {name: scores_by_text[text] for name, text in payload["responses"].items()}
        order = sorted(scores, key=lambda k: -scores[k])
        return [f"<think>ok</think>{json.dumps({'scores': scores, 'best-to-worst': order})}"] * n

    return reply


def principle(backend: Scripted, **params: Any) -> Any:
    from rewardsmith.judges.principle import JudgePrinciple, JudgePrincipleParams

    params.setdefault("principle", "Answer in one short sentence.")
    return JudgePrinciple(JudgePrincipleParams(model="scripted", **params), backend=backend)


def test_principle_scores_a_group_in_one_call_under_masked_shuffled_names() -> None:
    backend = Scripted(
        principle_judge({"It is 5.": 5, "The sum is five, I think.": 3, "Seven.": 1})
    )
    group = [item(t, group="g") for t in ("It is 5.", "The sum is five, I think.", "Seven.", ":")]
    scores = principle(backend).score(group)
    assert [s.value for s in scores] == [5.0, 3.0, 1.0, 1.0]
    assert scores[3].info["pregate"] and len(backend.calls) == 1
    shown = backend.calls[0][0]
    assert (
        ":"
        not in json.loads(
            shown.split("\n", 2)[2].split("</think>, output only")[-1].split("\n", 2)[2]
        )["responses"].values()
    )
    ranks = principle(Scripted(backend.reply), value="rank").score(group)
    assert [s.value for s in ranks] == [1.0, 0.5, 0.0, 0.0]


@pytest.mark.parametrize(
    "verdict",
    ['{"scores": {"model-1": 5}, "best-to-worst": ["model-1"]}',  # a name missing
     '{"scores": {"model-1": 6, "model-2": 1}, "best-to-worst": ["model-1", "model-2"]}',
     '{"scores": {"model-1": 2, "model-2": 4}, "best-to-worst": ["model-1", "model-2"]}',  # contradicts
     'Here you go: {"scores": {"model-1": 2, "model-2": 4}, "best-to-worst": ["model-2", "model-1"]}',
     '{"scores": {"model-1": true, "model-2": 1}, "best-to-worst": ["model-1", "model-2"]}'],
)  # fmt: skip
def test_principle_verdicts_that_do_not_check_out_fail_the_group(verdict: str) -> None:
    scores = principle(Scripted(always(verdict)), parse_retries=0).score(
        [item("It is 5.", group="g"), item("Seven.", group="g")]
    )
    assert all(s.status is Status.ERROR and s.value is None for s in scores)
    assert scores[0].info["raw"] == [verdict]


# -- pointwise, group mode: DeepSeek-GRM's multi-response prompt ----------------------------------


def grm_judge(score_of: dict[str, int]) -> Any:
    """Scores each listed response by its text, in the order the prompt lists them."""

    def reply(prompt: str, n: int, _t: float, _s: int | None) -> list[str]:
        body = prompt.split("#### Output Format Requirements ####")[0]
        listed = re.findall(r"#### Response \d+ ####\n(.*?)(?=\n\n#### |\Z)", body, re.S)
        scores = ", ".join(str(score_of[t.strip()]) for t in listed)
        return [f"Specific Criteria: ... Analysis: ... Scores: \\boxed{{{scores}}}"] * n

    return reply


def test_group_mode_scores_a_group_in_one_prompt_per_sample_in_shuffled_orders() -> None:
    backend = Scripted(grm_judge({"It is 5.": 9, "It is 6.": 2, "Five, since 2+3=5.": 8}))
    judge = pointwise(backend, responses="group", samples=3, temperature=0.7)
    assert needs_groups(judge) and not needs_groups(pointwise(backend))
    texts = ["It is 5.", "It is 6.", "Five, since 2+3=5.", "Solution"]
    scores = judge.score([item(t, group="g") for t in texts])
    assert [s.value for s in scores] == [9.0, 2.0, 8.0, 1.0]
    assert scores[3].info["pregate"] and "Solution" not in backend.calls[0][0]
    assert len(backend.calls) == 3 and all(
        c[1] == 1 for c in backend.calls
    )  # one prompt per sample
    listings = [re.findall(r"Response \d+ ####\n(It is \d\.|Five)", c[0]) for c in backend.calls]
    assert len({tuple(x) for x in listings}) > 1  # the order changes between samples


def test_group_mode_a_wrong_number_of_scores_fails_the_group() -> None:
    judge = pointwise(Scripted(always("Scores: \\boxed{7}")), responses="group", parse_retries=0)
    scores = judge.score([item("It is 5.", group="g"), item("It is 6.", group="g")])
    assert all(s.status is Status.ERROR and s.value is None for s in scores)
    assert "1 scores for 2 responses" in scores[0].error.message
    with pytest.raises(ValueError, match="meta RM"):
        JudgePointwise(JudgePointwiseParams(model="x", responses="group", meta_model="y"))


def test_bootstrap_brpo_rewards_against_one_drawn_reference() -> None:
    backend = Scripted(judge_prefers("5"))
    judge = pairwise(backend, against="bootstrap")
    assert needs_groups(judge)
    texts = ["It is 7.", "It is 5.", "It is 8.", ":"]
    for seed in range(6):
        judge = pairwise(Scripted(judge_prefers("5")), against="bootstrap", seed=seed)
        scores = judge.score([item(t, group="g") for t in texts])
        (ref,) = [k for k, s in enumerate(scores) if s.info.get("bootstrap_reference")]
        assert ref != 3 and scores[ref].value == 0.0  # never the degenerate one
        assert scores[3].value == -1.0 and scores[3].info["pregate"]
        for k in (0, 1, 2):
            if k == ref:
                continue
            # +1 only for winning both orders: "5" beats a reference without it
            wins = "5" in texts[k] and "5" not in texts[ref]
            assert scores[k].value == (1.0 if wins else -1.0), (seed, ref, k)
    refs = {
        next(
            k
            for k, s in enumerate(
                pairwise(backend, against="bootstrap", seed=seed).score(
                    [item(t, group="g") for t in texts]
                )
            )
            if s.info.get("bootstrap_reference")
        )
        for seed in range(12)
    }
    assert len(refs) > 1  # the draw moves with the seed


# -- faithfulness: CRAFT's judge term --------------------------------------------------------------


def faithfulness(backend: Scripted, **params: Any) -> Any:
    from rewardsmith.judges.faithfulness import JudgeFaithfulness, JudgeFaithfulnessParams

    return JudgeFaithfulness(JudgeFaithfulnessParams(model="scripted", **params), backend=backend)


DOCS = [{"id": "d1", "title": "Sums", "text": "2 and 3 make 5."}, "Five is a prime number."]


def test_faithfulness_is_the_mean_of_the_checks_and_overall_is_dropped() -> None:
    verdict = '{"plan_reason": true, "docs_reason": true, "reason_answer": false, "grounded": true, "overall": true}'
    backend = Scripted(always(f"```json\n{verdict}\n```"))
    (score,) = faithfulness(backend).score(
        [item("<reason>[d1] says 5</reason><answer>5</answer>", documents=DOCS)]
    )
    assert score.value == 0.75 and score.info["verdicts"][0]["reason_answer"] is False
    shown = backend.calls[0][0]
    assert "[d1] Sums: 2 and 3 make 5." in shown and "[2] Five is a prime number." in shown


@pytest.mark.parametrize(
    "verdict",
    ['{"plan_reason": true, "docs_reason": true, "reason_answer": true}',  # a check missing
     '{"plan_reason": 1, "docs_reason": true, "reason_answer": true, "grounded": true}',
     '{"plan_reason": true, "docs_reason": true, "reason_answer": true, "grounded": true, "bonus": true}',
     'All four checks pass.',
     "I'm sorry, I can't assess this content."],
)  # fmt: skip
def test_faithfulness_verdicts_that_do_not_check_out_are_errors(verdict: str) -> None:
    (score,) = faithfulness(Scripted(always(verdict)), parse_retries=0).score(
        [item("It is 5.", documents=DOCS)]
    )
    assert score.status is Status.ERROR and score.value is None and score.info["raw"] == [verdict]


def test_faithfulness_needs_documents_and_gates_master_keys() -> None:
    judge = faithfulness(Scripted(always("unused")))
    missing, key = judge.score([item("It is 5."), item("Thought process:", documents=DOCS)])
    assert missing.status is Status.ERROR and "documents" in missing.error.message
    assert key.value == 0.0 and key.info["pregate"]


# -- critique: RM-NLHF's outcome and process terms --------------------------------------------------


class Axes:
    """Unit vectors by topic word: arguments about the same topic match, others do not."""

    TOPICS = ("length", "accuracy", "tone", "sources")

    def embed(self, texts: list[str]) -> Any:
        import numpy as np

        rows = []
        for t in texts:
            v = np.array([1.0 if w in t.lower() else 0.0 for w in self.TOPICS] + [0.1])
            rows.append(v / np.linalg.norm(v))
        return np.array(rows)

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [len(t.split()) for t in texts]


HUMAN = "B is better: A gets the accuracy wrong, and B cites sources."


def extractor(prompt: str, n: int, _t: float, _s: int | None) -> list[str]:
    critique = prompt.split("Critique:\n", 1)[1]
    found = [f"about {w}" for w in Axes.TOPICS if w in critique.lower()]
    return [json.dumps({"arguments": found})] * n


def critique(backend: Scripted, **params: Any) -> Any:
    from rewardsmith.judges.critique import JudgeCritique, JudgeCritiqueParams

    return JudgeCritique(
        JudgeCritiqueParams(model="scripted", **params), backend=backend, embedder=Axes()
    )


def policy(text: str, label: str) -> Sample:
    return item(
        f"{text}\n<answer>[[{label}]]</answer>", reference={"label": "B", "critique": HUMAN}
    )


def test_right_label_for_the_right_reasons_earns_the_argument_f1() -> None:
    backend = Scripted(extractor)
    same, half, wrong_label = critique(backend).score([
        policy("A's accuracy is off; B cites its sources.", "B"),
        policy("A's accuracy is off, and its length hurts.", "B"),
        policy("A's accuracy is off; B cites its sources.", "A"),
    ])  # fmt: skip
    assert (same.value, same.parts) == (1.0, {"outcome": 1.0, "process": 1.0})
    assert (
        half.value == pytest.approx(0.5)
        and half.info["precision"] == 0.5
        and half.info["recall"] == 0.5
    )
    assert (wrong_label.value, wrong_label.info["calls"]) == (0.0, 0)  # gated: no extractor call
    assert all("<answer>" not in c[0] for c in backend.calls)  # the verdict is not an argument
    summed = critique(Scripted(extractor), combine="sum").score(
        [policy("A's accuracy is off.", "A")]
    )[0]
    assert summed.parts == {"outcome": 0.0, "process": pytest.approx(2 / 3)}


def test_critique_failures_are_statuses_and_the_policys_own_format_is_a_zero() -> None:
    broken = critique(Scripted(always("arguments: accuracy")), parse_retries=0)
    (score,) = broken.score([policy("A's accuracy is off.", "B")])
    assert score.status is Status.ERROR and score.value is None
    no_verdict = item("A's accuracy is off, so B.", reference={"label": "B", "critique": HUMAN})
    (zero,) = critique(Scripted(extractor)).score([no_verdict])
    assert zero.value == 0.0 and "no <answer>" in zero.info["verdict"]
    (missing,) = critique(Scripted(extractor)).score(
        [item("It is B.\n<answer>[[B]]</answer>", reference="B")]
    )
    assert missing.status is Status.ERROR and "label" in missing.error.message


def test_critique_matches_arguments_with_the_bundled_minilm_by_default() -> None:
    from rewardsmith.judges.critique import JudgeCritique, JudgeCritiqueParams

    said = {
        "arguments": ["Response A states the wrong capital city.", "Response B cites a source."]
    }
    judge = JudgeCritique(
        JudgeCritiqueParams(model="scripted"), backend=Scripted(always(json.dumps(said)))
    )
    (score,) = judge.score([policy("A names the wrong capital; B cites a source.", "B")])
    assert score.parts == {"outcome": 1.0, "process": 1.0}  # the same arguments on both sides


# -- sentences: TRM's faithfulness then correctness ---------------------------------------------------


def sentences_judge(backend: Scripted, **params: Any) -> Any:
    from rewardsmith.judges.sentences import JudgeSentences, JudgeSentencesParams

    return JudgeSentences(JudgeSentencesParams(model="scripted", **params), backend=backend)


def per_sentence(prompt: str, n: int, _t: float, _s: int | None) -> list[str]:
    """Faithful when the documents hold the sentence's number, correct when it says 5."""
    lines = re.findall(r"^(\d+)\. (.*)$", prompt.split("one sentence per line:\n", 1)[1], re.M)
    out = [
        {
            "sentence": int(k),
            "faithful": int("5" in s),
            "reason": "...",
            "correct": int("5" in s or "sum" in s),
        }
        for k, s in lines
    ]
    return [json.dumps(out)] * n


def test_sentences_share_correct_with_faithfulness_beside_it() -> None:
    backend = Scripted(per_sentence)
    text = "The sum of 2 and 3 is 5. We add the two numbers! The sum is 6.\nThat is all."
    (score,) = sentences_judge(backend).score([item(text, documents=DOCS)])
    assert score.value == pytest.approx(0.5)  # sentences 1 and 3 are correct of 4
    assert score.parts == {"faithful": 0.25, "correct": 0.5}
    assert "4. That is all." in backend.calls[0][0]


def test_sentences_verdicts_must_cover_every_sentence_in_order() -> None:
    wrong = [
        json.dumps([{"sentence": 1, "faithful": 1, "reason": "", "correct": 1}]),  # one of two
        json.dumps([{"sentence": 2, "faithful": 1, "reason": "", "correct": 1},
                    {"sentence": 1, "faithful": 1, "reason": "", "correct": 1}]),  # out of order
        json.dumps([{"sentence": 1, "faithful": True, "reason": "", "correct": 1},
                    {"sentence": 2, "faithful": 1, "reason": "", "correct": 2}]),
    ]  # fmt: skip
    for verdict in wrong:
        (score,) = sentences_judge(Scripted(always(verdict)), parse_retries=0).score(
            [item("It is 5. Five it is.", documents=DOCS)]
        )
        assert score.status is Status.ERROR and score.value is None
    (long,) = sentences_judge(Scripted(per_sentence), max_sentences=3).score(
        [item("One. Two. Three. Four.", documents=DOCS)]
    )
    assert long.status is Status.ERROR and "max_sentences=3" in long.error.message


# -- segments: Fine-Grained RLHF's dense factuality reward ---------------------------------------------


def factual_judge(prompt: str, n: int, _t: float, _s: int | None) -> list[str]:
    """Factual when the sentence says 5."""
    lines = re.findall(r"^(\d+)\. (.*)$", prompt.split("one sentence per line:\n", 1)[1], re.M)
    return [json.dumps([{"sentence": int(k), "factual": int("5" in s)} for k, s in lines])] * n


def test_segments_are_dense_plus_minus_rewards_at_each_sentence_end() -> None:
    from rewardsmith.judges.segments import JudgeSegments, JudgeSegmentsParams

    judge = JudgeSegments(JudgeSegmentsParams(model="scripted"), backend=Scripted(factual_judge))
    text = "The sum is 5.  It is 6!\nFive, so 5."
    (score,) = judge.score([item(text, documents=DOCS)])
    assert score.value == pytest.approx(0.5) and score.parts == {"factual": pytest.approx(2 / 3)}
    ends = [seg["end"] for seg in score.info["segments"]]
    assert [text[e - 4 : e] for e in ends] == ["s 5.", "s 6!", "o 5."]
    assert [seg["reward"] for seg in score.info["segments"]] == [0.5, -0.5, 0.5]
    assert judge.range == (-20.0, 20.0)
    (gated,) = judge.score([item("Solution:", documents=DOCS)])
    assert gated.value == -0.5 and gated.info["pregate"]  # as one wrong sentence, never above


def test_critique_attacks_both_verdicts_or_every_argument_earn_less() -> None:
    backend = Scripted(extractor)
    both = item(
        "A's accuracy is off; B cites sources.\n<answer>[[A]]</answer>\n<answer>[[B]]</answer>",
        reference={"label": "B", "critique": HUMAN},
    )
    spray = policy("Accuracy, sources, length and tone all matter here.", "B")
    hedged, sprayed = critique(backend).score([both, spray])
    assert hedged.value == 0.0 and "both verdicts" in hedged.info["verdict"]  # no extractor call
    assert sprayed.parts["outcome"] == 1.0 and sprayed.value == pytest.approx(2 / 3)  # P = 2/4
    assert len(backend.calls) == 2  # only the sprayed item reached the extractor

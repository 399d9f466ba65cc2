"""process.trust_think (SophiaVL-R1 / Trust-GRPO, arXiv 2505.17018), against hand-computed values.

Rules from the released code (verl/workers/reward/custom.py): skip groups whose answers are
all >= 0.9 or all <= 0.1; use the thinking score only where the answer is >= 0.2; γ = 1 if
μ_c >= μ_w (or nobody is correct), else exp(μ_c − μ_w).
"""

import math
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rewardsmith
from rewardsmith import Sample
from rewardsmith.core import Status
from rewardsmith.errors import ConfigError
from rewardsmith.spec import parse_spec

GAMMA_B = math.exp(0.2 - 1.4 / 3)  # μ_c = 0.2, μ_w = (0 + 0.8 + 0.6) / 3


def group(answers, thinks, g="q"):
    out = []
    for a, t in zip(answers, thinks, strict=True):
        meta = {"answer_score": a}
        if t is not None:
            meta["think_score"] = t
        out.append(Sample(group=g, meta=meta))
    return out


# (answers, thinks, gamma, values)
VALUES = {
    "trusted (mu_c >= mu_w)": [
        # t̃ = [0.8, 0.6, 0 (a < 0.2), 0.4]; μ_c = 0.7, μ_w = 0.2
        ([1.0, 1.0, 0.0, 0.3], [0.8, 0.6, 0.9, 0.4], 1.0, [0.8, 0.6, 0.0, 0.4]),
        # nobody wrong: μ_w = 0
        ([0.6, 1.0], [0.3, 0.5], 1.0, [0.3, 0.5]),
        # nobody correct: γ = 1, as the code
        ([0.3, 0.4], [0.5, 0.7], 1.0, [0.5, 0.7]),
    ],
    "distrusted (mu_c < mu_w)": [
        (
            [1.0, 0.0, 0.3, 0.3],
            [0.2, 0.9, 0.8, 0.6],
            GAMMA_B,
            [0.2 * GAMMA_B, 0.0, 0.8 * GAMMA_B, 0.6 * GAMMA_B],
        ),
        # μ_c = 0.1, μ_w = 0.9: γ = exp(−0.8)
        ([0.5, 0.2], [0.1, 0.9], math.exp(-0.8), [0.1 * math.exp(-0.8), 0.9 * math.exp(-0.8)]),
    ],
    "skipped groups need no thinking score": [
        ([1.0, 0.95], [None, None], 1.0, [0.0, 0.0]),
        ([0.0, 0.1], [None, None], 1.0, [0.0, 0.0]),
        ([0.9, 0.9, 1.0], [0.5, 0.5, 0.5], 1.0, [0.0, 0.0, 0.0]),
    ],
    "low answers are not queried": [
        ([1.0, 0.15], [0.6, None], 1.0, [0.6, 0.0]),
    ],
}
CASES = [(g, *c) for g, cs in VALUES.items() for c in cs]


@pytest.mark.parametrize(
    "case,answers,thinks,gamma,values", CASES, ids=[f"{c[0]}: {c[1]} {c[2]}" for c in CASES]
)
def test_values(case, answers, thinks, gamma, values):
    out = rewardsmith.load("process.trust_think").score(group(answers, thinks))
    assert all(s.status is Status.OK for s in out)
    assert [s.value for s in out] == pytest.approx(values, abs=1e-12)
    assert all(s.parts["gamma"] == pytest.approx(gamma, abs=1e-12) for s in out)


def test_groups_are_independent():
    batch = group([1.0, 0.0, 0.3, 0.3], [0.2, 0.9, 0.8, 0.6], "b") + group(
        [0.3, 0.4], [0.5, 0.7], "d"
    )
    out = rewardsmith.load("process.trust_think").score(batch)
    assert [s.parts["gamma"] for s in out] == pytest.approx([GAMMA_B] * 4 + [1.0, 1.0])


@pytest.mark.parametrize(
    "answers,thinks,word",
    [
        ([1.0, None], [0.5, 0.5], "answer_score"),
        ([1.0, 0.5], [0.5, None], "think_score"),
        ([1.0, 0.5], [0.5, 1.5], "think_score"),
        ([1.0, 2.0], [0.5, 0.5], "answer_score"),
    ],
    ids=["answer missing", "used think missing", "think above 1", "answer above 1"],
)
def test_missing_scores_fail_the_group_not_zero_it(answers, thinks, word):
    batch = [
        Sample(
            group="q",
            meta={k: v for k, v in (("answer_score", a), ("think_score", t)) if v is not None},
        )
        for a, t in zip(answers, thinks, strict=True)
    ]
    out = rewardsmith.load("process.trust_think").score(batch)
    for s in out:
        assert s.value is None and s.status is Status.ERROR
        assert s.error.type == "InputError" and word in s.error.message


def test_custom_keys_spec_and_pickle():
    spec = {
        "reward": {"use": "process.trust_think", "with": {"answer_key": "acc", "think_key": "trm"}}
    }
    batch = [
        Sample(group=1, meta={"acc": 1.0, "trm": 0.1}),
        Sample(group=1, meta={"acc": 0.0, "trm": 0.9}),
    ]
    # t̃ = [0.1, 0 (a < 0.2)]: μ_c = 0.1 >= μ_w = 0, γ = 1
    assert [s.value for s in parse_spec(spec).score(batch)] == pytest.approx([0.1, 0.0])
    r = rewardsmith.load("process.trust_think", answer_key="acc", think_key="trm")
    assert pickle.loads(pickle.dumps(r)).score(batch) == r.score(batch)
    with pytest.raises(ConfigError):
        rewardsmith.load("process.trust_think", alpha=0.3)


def test_spec_with_annealing_matches_the_paper_at_step_zero():
    spec = {
        "reward": {
            "schedule": {
                "reward": {"use": "process.trust_think"},
                "weight": {"kind": "exponential", "start": 0.3, "tau": 500},
            }
        }
    }
    out = parse_spec(spec).score(group([1.0, 0.0, 0.3, 0.3], [0.2, 0.9, 0.8, 0.6]))
    assert out[2].value == pytest.approx(0.3 * GAMMA_B * 0.8)  # α · γ · exp(0) · t̃


unit = st.floats(0.0, 1.0)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.tuples(unit, unit), min_size=1, max_size=8), data=st.data())
def test_range_and_permuting_a_group_permutes_its_values(rows, data):
    r = rewardsmith.load("process.trust_think")
    batch = group([a for a, _ in rows], [t for _, t in rows])
    out = r.score(batch)
    for s in out:
        assert 0.0 <= s.value <= 1.0 and 0.0 < s.parts["gamma"] <= 1.0
    perm = data.draw(st.permutations(range(len(rows))))
    shuffled = r.score([batch[i] for i in perm])
    assert [s.value for s in shuffled] == pytest.approx([out[i].value for i in perm], abs=1e-12)

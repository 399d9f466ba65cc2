"""``likelihood.sar`` and ``likelihood.endogenous`` against plain torch on a tiny Llama.

The expected values come from one forward pass's logits computed here (log_softmax and
logsumexp by hand), never from rewardsmith's code.
"""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from helpers_likelihood import chat_prefix, continuation_logprobs, token_logprobs  # noqa: E402
from helpers_tiny_rm import save_causal_lm  # noqa: E402
from rewardsmith.core import Sample, Status  # noqa: E402
from rewardsmith.likelihood.endogenous import EndogenousParams, EndogenousReward  # noqa: E402
from rewardsmith.likelihood.sar import SARParams, SelfAlignedReward, query_free  # noqa: E402
from rewardsmith.models.local import HFBackend  # noqa: E402

TOL = 1e-4
PROMPT = "What is 12+30?"
SAMPLES = [
    Sample(prompt=PROMPT, completion="<think>12+30</think><answer>42</answer>"),
    Sample(prompt=PROMPT, completion="<answer>7</answer>"),
    Sample(
        prompt=[
            {"role": "system", "content": "think"},
            {"role": "user", "content": "What is 1+1?"},
        ],
        completion="<think>1+1</think><answer>2</answer>",
    ),
]


@pytest.fixture(scope="module")
def lm(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(save_causal_lm(tmp_path_factory.mktemp("lm") / "lm"))


def messages(sample: Sample) -> list[dict[str, str]]:
    p = sample.prompt
    return [{"role": "user", "content": p}] if isinstance(p, str) else [dict(m) for m in p]


# -- SAR ---------------------------------------------------------------------------------


def sar_by_hand(lm: str, sample: Sample, log: bool = False) -> float:
    given = continuation_logprobs(lm, chat_prefix(lm, messages(sample)), sample.text, special=False)
    free = [m for m in messages(sample) if m["role"] == "system"] + [
        {"role": "user", "content": ""}
    ]
    alone = continuation_logprobs(lm, chat_prefix(lm, free), sample.text, special=False)
    ppl_q = math.exp(-sum(given) / len(given))
    ppl_0 = math.exp(-sum(alone) / len(alone))
    log_ratio = (math.log(ppl_0) - math.log(ppl_q)) / math.log(ppl_0)
    raw = log_ratio if log else (ppl_0 - ppl_q) / ppl_0
    return min(max(raw, -1.0), 1.0)


@pytest.mark.parametrize("log", [False, True])
def test_sar_equals_the_perplexity_ratio_computed_by_hand(lm: str, log: bool) -> None:
    sar = SelfAlignedReward(SARParams(model=lm, log=log), HFBackend(lm, cache=False))
    got = sar.score(SAMPLES)
    assert [s.status for s in got] == [Status.OK] * 3
    want = [sar_by_hand(lm, s, log) for s in SAMPLES]
    assert [s.value for s in got] == pytest.approx(want, abs=TOL)
    assert len({round(v, 6) for v in want}) == 3  # the cases differ: the test can fail
    assert [sar.score([s])[0].value for s in SAMPLES] == pytest.approx(want, abs=TOL)


def test_sar_query_free_context_keeps_system_turns_only() -> None:
    chat = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "q2"},
    ]
    assert query_free(chat) == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": ""},
    ]


def test_sar_fails_an_empty_completion_and_scores_the_rest(lm: str) -> None:
    sar = SelfAlignedReward(SARParams(model=lm), HFBackend(lm))
    empty, fine = sar.score([Sample(prompt=PROMPT, completion=""), SAMPLES[0]])
    assert empty.status is Status.ERROR and empty.value is None and "empty" in empty.error.message
    assert fine.status is Status.OK and -1.0 <= fine.value < 1.0


# -- endogenous ------------------------------------------------------------------------


def endogenous_by_hand(lm: str, sample: Sample, alpha: float, terminal: str) -> list[float]:
    prefix = chat_prefix(lm, messages(sample))
    text = prefix + sample.text + ("</s>" if terminal == "eos" else "")
    ids, spans, logits = token_logprobs(lm, text, special=False)
    picked = [k for k, (s, e) in enumerate(spans) if e > len(prefix) and e > s]
    value = alpha * torch.logsumexp(logits / alpha, dim=-1)  # V at each position
    rewards = []
    for j, k in enumerate(picked):
        f = float(logits[k - 1, ids[k]])
        after = 0.0 if (terminal == "eos" and j == len(picked) - 1) else float(value[k])
        rewards.append(f - after)
    # the telescoped form agrees: alpha * sum log pi + V(s_1) - V(s_H+1)
    logpi = (logits / alpha).log_softmax(-1)
    end = 0.0 if terminal == "eos" else float(value[picked[-1]])
    telescoped = (
        alpha * sum(float(logpi[k - 1, ids[k]]) for k in picked) + float(value[picked[0] - 1]) - end
    )
    assert math.fsum(rewards) == pytest.approx(telescoped, abs=1e-3)
    return rewards


@pytest.mark.parametrize("terminal", ["eos", "open"])
@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_endogenous_equals_the_inverse_soft_bellman_sum(
    lm: str, alpha: float, terminal: str
) -> None:
    r = EndogenousReward(
        EndogenousParams(model=lm, alpha=alpha, terminal=terminal), HFBackend(lm, cache=False)
    )
    got = r.score(SAMPLES)
    for sample, score in zip(SAMPLES, got, strict=True):
        want = endogenous_by_hand(lm, sample, alpha, terminal)
        assert score.status is Status.OK
        assert score.value == pytest.approx(math.fsum(want), abs=TOL)
        assert score.info["token_rewards"] == pytest.approx(want, abs=TOL)
        assert score.info["tokens"] == len(want)
    mean = EndogenousReward(
        EndogenousParams(model=lm, alpha=alpha, terminal=terminal, normalize="mean"), HFBackend(lm)
    ).score(SAMPLES[:1])[0]
    assert mean.value == pytest.approx(got[0].value / got[0].info["tokens"], abs=TOL)


def test_endogenous_terminal_choice_is_the_only_difference(lm: str) -> None:
    """``eos`` scores one more token (the EOS) and ends at V = 0; ``open`` ends at the
    model's value: the two returns differ by exactly r(EOS) = f(s_H+1, EOS)."""
    (eos,) = EndogenousReward(EndogenousParams(model=lm), HFBackend(lm)).score(SAMPLES[:1])
    (open_,) = EndogenousReward(EndogenousParams(model=lm, terminal="open"), HFBackend(lm)).score(
        SAMPLES[:1]
    )
    assert eos.info["tokens"] == open_.info["tokens"] + 1
    assert eos.info["v_start"] == pytest.approx(open_.info["v_start"], abs=1e-5)
    diff = eos.value - open_.value
    assert diff == pytest.approx(eos.info["token_rewards"][-1], abs=TOL)
    assert eos.info["token_rewards"][:-1] == pytest.approx(open_.info["token_rewards"], abs=TOL)
    assert eos.info["v_end"] == 0.0 and open_.info["v_end"] != 0.0


def test_endogenous_refuses_a_served_model_and_fails_items_alone(lm: str) -> None:
    with pytest.raises(ValueError, match="raw logits"):
        EndogenousParams(model="http://127.0.0.1:8000/v1", chat=False)
    r = EndogenousReward(EndogenousParams(model=lm, terminal="open"), HFBackend(lm))
    empty, bad, fine = r.score(
        [
            Sample(prompt=PROMPT, completion=""),
            Sample(prompt=[{"content": "x"}], completion="1"),
            SAMPLES[1],
        ]
    )
    assert empty.status is Status.ERROR and bad.status is Status.ERROR
    assert empty.value is None and bad.value is None
    assert fine.status is Status.OK and math.isfinite(fine.value)

"""Properties every registered reward keeps, checked with hypothesis.

Arbitrary text never raises, values stay in the declared range, a batch scores the same
as its items one by one and in any order, the same input gives the same output, rewards
pickle, run in a worker thread, and give the same result sync and async.
"""

import asyncio
import math
import pickle
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rewardsmith
from helpers_rewards import REQUIRED_PARAMS
from rewardsmith.core import GroupReward, Sample, Status, catalog

REQUIRED = REQUIRED_PARAMS  # every registered reward must load
NAMES = [e.name for e in catalog("reward")]

fragments = st.sampled_from(
    [
        "<think>",
        "</think>",
        "<answer>",
        "</answer>",
        "\\boxed{",
        "}",
        "{",
        "The answer is ",
        "####",
        "42",
        "-3/4",
        "1,000",
        "\\frac{1}{2}",
        "x = ",
        " or ",
        "$",
        "\n",
        "Paris",
        "the",
        "\\pm",
    ]
)
texts = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(fragments, st.text(max_size=8)), max_size=30).map("".join),
)
references = st.one_of(
    st.none(),
    st.text(max_size=20),
    st.integers(-(10**6), 10**6),
    st.sampled_from(["42", "1/2", "Paris"]),
    st.lists(st.text(max_size=10), max_size=3),
)
samples = st.builds(
    lambda c, r, g: Sample(prompt="q", completion=c, reference=r, group=g),
    texts,
    references,
    st.sampled_from(["a", "b", None]),
)
batches = st.lists(samples, min_size=1, max_size=6)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def build(name):
    return rewardsmith.load(name, **REQUIRED.get(name, {}))


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(batch=batches)
def test_never_raises_and_stays_in_range(name, batch):
    reward = build(name)
    out = reward.score(batch)
    assert len(out) == len(batch)
    lo, hi = reward.range
    for s in out:
        if s.value is None:
            assert s.status in (Status.ERROR, Status.SKIPPED)
            assert s.error is not None or s.status is Status.SKIPPED
        else:
            assert math.isfinite(s.value) and lo <= s.value <= hi


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(batch=batches)
def test_batch_equals_one_by_one_in_any_order_and_is_deterministic(name, batch):
    reward = build(name)
    out = reward.score(batch)
    if not isinstance(reward, GroupReward):  # a group reward sees its siblings by design
        assert [reward.score([x])[0] for x in batch] == out
    assert reward.score(batch[::-1]) == out[::-1]
    assert build(name).score(batch) == out


@pytest.mark.parametrize("name", NAMES)
def test_pickles_runs_in_a_thread_and_async_matches_sync(name):
    reward = build(name)
    batch = [
        Sample(completion="<think>2+2=4</think><answer>4</answer>", reference="4"),
        Sample(completion="no tags at all", reference="4"),
        Sample(
            completion="<think>x</think><answer>\\boxed{1/2}</answer>", reference=["1/2", "0.5"]
        ),
    ]
    expected = reward.score(batch)
    assert pickle.loads(pickle.dumps(reward)).score(batch) == expected
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(reward.score, batch).result() == expected
    assert asyncio.run(reward.ascore(batch)) == expected


def test_every_registered_reward_is_covered():
    for name in NAMES:
        assert build(name).name == name

"""Every estimator that verl also has, against verl's own ``core_algos`` on random batches.

verl 0.9.1 (installed for the adapter tests) is called as its trainer calls it: one
scalar reward per response in ``token_level_rewards`` (here one token per response, the
``response_mask`` all ones, so its token-level statistics are per-response ones), group
ids in ``index``, float64 tensors. Batches mix group sizes 1 to 16, binary rewards (so
constant groups occur), continuous and tied integer rewards.

The one documented difference: verl gives a group of one rollout its raw reward (its
baseline is 0 and its std 1), we give it 0.0 (it has no baseline). So our output is
compared with verl's on the same batch where singletons' rewards are 0, and a separate
test pins verl's raw-reward behaviour so that a change in verl shows up here.
"""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")
core_algos = pytest.importorskip("verl.trainer.ppo.core_algos")

from rewardsmith.advantages import dr_grpo, grpo, reinforce_pp, rloo  # noqa: E402

TOL = 1e-5
SEEDS = range(6)
SIZES = [1, 2, 3, 4, 5, 8, 16]


def random_batch(seed: int) -> tuple[list[float], list[str]]:
    rng = np.random.default_rng(seed)
    values: list[float] = []
    groups: list[str] = []
    for g in range(int(rng.integers(6, 14))):
        n = int(rng.choice(SIZES))
        kind = g % 3
        if kind == 0:
            vals = rng.integers(0, 2, n).astype(float)  # binary: constant groups happen
        elif kind == 1:
            vals = rng.normal(0.0, 3.0, n)
        else:
            vals = rng.integers(-2, 3, n).astype(float)  # ties
        values += vals.tolist()
        groups += [f"g{g}"] * n
    order = rng.permutation(len(values))  # groups interleaved, as in a real batch
    return [values[i] for i in order], [groups[i] for i in order]


def singletons_zeroed(values: list[float], groups: list[str]) -> list[float]:
    size = Counter(groups)
    return [0.0 if size[g] == 1 else v for v, g in zip(values, groups, strict=True)]


def verl(fn, values, groups, length: int = 1, **kwargs) -> list[float]:
    """Call a verl estimator the trainer's way; the advantage of each response's token 0."""
    rewards = torch.zeros((len(values), length), dtype=torch.float64)
    rewards[:, -1] = torch.tensor(values, dtype=torch.float64)  # outcome at the last token
    mask = torch.ones_like(rewards)
    adv, _ = fn(token_level_rewards=rewards, response_mask=mask, index=np.array(groups), **kwargs)
    return adv[:, 0].tolist()


# (our estimator, verl estimator, verl kwargs)
PAIRS = {
    "grpo": (grpo, core_algos.compute_grpo_outcome_advantage, {}),
    "grpo_vectorized": (grpo, core_algos.compute_grpo_vectorized_outcome_advantage, {}),
    "dr_grpo": (
        dr_grpo,
        core_algos.compute_grpo_outcome_advantage,
        {"norm_adv_by_std_in_grpo": False},
    ),
    "grpo_no_std": (
        lambda v, g: grpo(v, g, scale_by_std=False),
        core_algos.compute_grpo_outcome_advantage,
        {"norm_adv_by_std_in_grpo": False},
    ),
    "rloo": (rloo, core_algos.compute_rloo_outcome_advantage, {}),
    "rloo_vectorized": (rloo, core_algos.compute_rloo_vectorized_outcome_advantage, {}),
    "reinforce_pp_baseline": (
        lambda v, g: reinforce_pp(v, g, ddof=1),
        core_algos.compute_reinforce_plus_plus_baseline_outcome_advantage,
        {},
    ),
    "reinforce_pp": (
        lambda v, g: reinforce_pp(v, g, ddof=1, group_baseline=False),
        core_algos.compute_reinforce_plus_plus_outcome_advantage,
        {"config": SimpleNamespace(gamma=1.0)},
    ),
}
TOLERANCE: dict[str, float] = {}  # grpo_vectorized is float32 in verl: 1.9e-7 here
NO_GROUPS = {"reinforce_pp"}  # plain REINFORCE++ ignores groups: nothing to zero
MAX_DIFF: dict[str, float] = {}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(PAIRS))
def test_matches_verl(name, seed):
    ours_fn, verl_fn, kwargs = PAIRS[name]
    values, groups = random_batch(seed)
    ours = ours_fn(values, groups)
    same = values if name in NO_GROUPS else singletons_zeroed(values, groups)
    theirs = verl(verl_fn, same, groups, **kwargs)
    diff = max(abs(a - b) for a, b in zip(ours, theirs, strict=True))
    MAX_DIFF[name] = max(MAX_DIFF.get(name, 0.0), diff)
    assert diff <= TOLERANCE.get(name, TOL), f"{name} seed {seed}: max |ours - verl| = {diff:.2e}"


@pytest.mark.parametrize("seed", SEEDS)
def test_the_default_grpo_is_verls(seed):
    """The default std is the sample std: ``ddof=0`` would differ by up to ~0.15."""
    values, groups = random_batch(seed)
    theirs = verl(
        core_algos.compute_grpo_outcome_advantage, singletons_zeroed(values, groups), groups
    )
    assert grpo(values, groups) == pytest.approx(theirs, abs=TOL)
    population = grpo(values, groups, ddof=0)
    assert max(abs(a - b) for a, b in zip(population, theirs, strict=True)) > 1e-3


def test_reinforce_pp_default_matches_verl_on_long_responses():
    """verl whitens per token: over 512-token responses its std is the population std."""
    values, groups = random_batch(0)
    theirs = verl(
        core_algos.compute_reinforce_plus_plus_baseline_outcome_advantage,
        singletons_zeroed(values, groups),
        groups,
        length=512,
    )
    ours = reinforce_pp(values, groups)
    assert max(abs(a - b) for a, b in zip(ours, theirs, strict=True)) < 1e-4


def test_verl_gives_a_singleton_its_raw_reward_and_we_give_zero():
    values, groups = [3.0, 1.0, 0.0], ["alone", "pair", "pair"]
    for name in ("grpo", "rloo", "dr_grpo"):
        ours_fn, verl_fn, kwargs = PAIRS[name]
        theirs = verl(verl_fn, values, groups, **kwargs)
        assert theirs[0] == pytest.approx(3.0, rel=1e-5)  # verl: baseline 0, std 1
        assert ours_fn(values, groups)[0] == 0.0


def test_report_max_differences(capsys):
    """Prints the largest difference per estimator (run with -s to see it)."""
    for name in sorted(PAIRS):
        for seed in SEEDS:
            test_matches_verl(name, seed)
    with capsys.disabled():
        print("\nmax |ours - verl|:", {k: f"{v:.1e}" for k, v in sorted(MAX_DIFF.items())})

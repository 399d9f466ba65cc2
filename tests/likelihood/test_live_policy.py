"""A likelihood reward read from the policy in memory (``HFBackend.from_model``): the
trainer's own model object, so the reward follows its weights from one step to the next."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from helpers_tiny_rm import save_causal_lm  # noqa: E402
from rewardsmith.core import Sample, Status  # noqa: E402
from rewardsmith.errors import ConfigError  # noqa: E402
from rewardsmith.likelihood.reference import ReferenceLogprob, ReferenceLogprobParams  # noqa: E402
from rewardsmith.models.local import HFBackend  # noqa: E402

SAMPLES = [
    Sample(prompt="What is 12+30?", completion="<think>12+30</think><answer>4", reference="42"),
    Sample(prompt="What is 1+1?", completion="<think>1+1</think><answer>", reference="2"),
]


@pytest.fixture
def policy(tmp_path: Path) -> tuple[str, object, object]:
    folder = str(save_causal_lm(tmp_path / "lm"))
    model = transformers.AutoModelForCausalLM.from_pretrained(folder).eval()
    tok = transformers.AutoTokenizer.from_pretrained(folder)
    return folder, model, tok


def test_the_live_policy_scores_as_its_saved_copy_and_follows_its_updates(policy) -> None:  # type: ignore[no-untyped-def]
    folder, model, tok = policy
    live = HFBackend.from_model(model, tok)
    params = ReferenceLogprobParams(model=folder)
    from_disk = [
        s.value for s in ReferenceLogprob(params, HFBackend(folder, cache=False)).score(SAMPLES)
    ]
    got = ReferenceLogprob(params, live).score(SAMPLES)
    assert [s.status for s in got] == [Status.OK, Status.OK]
    assert [s.value for s in got] == pytest.approx(from_disk, abs=1e-5)
    with torch.no_grad():  # a training step changes the weights: the next call sees them
        model.lm_head.weight.mul_(3.0)
    after = [s.value for s in ReferenceLogprob(params, live).score(SAMPLES)]
    assert all(abs(a - b) > 1e-3 for a, b in zip(after, from_disk, strict=True))


def test_the_trainers_tokenizer_is_left_as_it_was(policy) -> None:  # type: ignore[no-untyped-def]
    _, model, tok = policy
    tok.padding_side = "left"  # TRL pads prompts on the left for generation
    backend = HFBackend.from_model(model, tok)
    backend.continuation_logprobs([("What is 1+1?", "2")])
    assert tok.padding_side == "left"


def test_a_live_backend_does_not_pickle_and_needs_a_model(policy) -> None:  # type: ignore[no-untyped-def]
    _, model, tok = policy
    with pytest.raises(TypeError, match="does not pickle"):
        pickle.dumps(HFBackend.from_model(model, tok))
    with pytest.raises(ConfigError, match="torch model"):
        HFBackend.from_model(object(), tok)

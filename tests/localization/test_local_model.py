"""The local embedding model through ONNX Runtime: faithful to the network, exported once,
a damaged export is made again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from localization.dense import local_available

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not local_available(), reason="the 'local' extra is not installed")]

TEXTS = ["parse an HTTP header value", "split a header line into name and value",
         "def area(r):\n    return 3.14159 * r * r\n" * 30]


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    from localization import local_model

    root = tmp_path_factory.mktemp("models")
    local_model.onnx_file(local_model.packaged_model_path(), root)
    return root


def reference(texts: list[str]) -> np.ndarray:
    """What the network gives through torch: mean of the token states over the mask, normalised."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from localization.local_model import packaged_model_path

    path = str(packaged_model_path())
    tok, model = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()
    batch = tok(texts, padding=True, truncation=True, max_length=256, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    vecs = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(vecs, dim=1).numpy()


def test_onnx_vectors_match_the_network(exported):
    from localization.local_model import LocalModel, packaged_model_path

    got = LocalModel(packaged_model_path(), exported).encode(TEXTS, batch_size=2)
    assert got.shape == (3, 384)
    assert np.abs(got - reference(TEXTS)).max() < 1e-4
    assert got[0] @ got[1] > got[0] @ got[2]


def test_a_cached_export_is_reused_without_torch(exported, monkeypatch):
    from localization import local_model

    def no_export(*_):
        raise AssertionError("exported again")

    monkeypatch.setattr(local_model, "export_onnx", no_export)
    vec = local_model.LocalModel(local_model.packaged_model_path(), exported).encode(TEXTS[:1], 8)
    assert vec.shape == (1, 384)


def test_a_damaged_export_is_made_again(exported, tmp_path):
    from localization import local_model

    model_dir = local_model.packaged_model_path()
    cached = local_model.onnx_file(model_dir, exported)
    damaged = tmp_path / "models" / cached.name
    damaged.parent.mkdir()
    damaged.write_bytes(b"not an onnx graph")
    vec = local_model.LocalModel(model_dir, tmp_path).encode(TEXTS[:1], 8)
    assert damaged.stat().st_size > 1_000_000
    assert vec.shape == (1, 384)


def test_an_unsupported_pooling_is_a_clear_error(tmp_path):
    from localization.local_model import ModelError, _pooling

    (tmp_path / "modules.json").write_text('[{"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]')
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text('{"pooling_mode_max_tokens": true, "pooling_mode_mean_tokens": false}')
    with pytest.raises(ModelError, match="pooling"):
        _pooling(tmp_path)

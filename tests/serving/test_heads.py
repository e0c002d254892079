"""Versioned classifier head artefacts (nlu.heads)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nlu.heads import (
    HeadError,
    HeadNotFound,
    InvalidModelId,
    artefact_dir,
    load_head,
    save_head,
    train_head,
    validate_model_id,
)


def blobs(n: int = 60, dim: int = 16, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, dim)) * 3
    labels = [["red", "green", "blue"][i % 3] for i in range(n)]
    x = np.stack([centres[i % 3] + rng.normal(size=dim) for i in range(n)]).astype(np.float32)
    return x, labels


def test_train_save_load_round_trip(tmp_path: Path):
    x, y = blobs()
    head = train_head(x, y, epochs=200, metadata={"embedding": "test"})
    folder = save_head(head, tmp_path, "acme/colours/v1")
    assert folder == tmp_path / "acme" / "colours" / "v1"
    meta = json.loads((folder / "head.json").read_text())
    assert meta["format"] == "parley-head" and meta["labels"] == ["blue", "green", "red"]
    assert meta["embedding"] == "test" and meta["train"]["n"] == 60
    loaded = load_head(folder)
    assert np.allclose(loaded.predict_proba(x), head.predict_proba(x), atol=1e-6)
    top = loaded.top_k(x[:5], 2)
    assert [row[0][0] for row in top] == y[:5]
    assert all(row[0][1] >= row[1][1] for row in top)


def test_training_is_deterministic_and_mlp_works():
    x, y = blobs()
    a, b = train_head(x, y, seed=3), train_head(x, y, seed=3)
    assert np.array_equal(a.predict_proba(x), b.predict_proba(x))
    mlp = train_head(x, y, hidden_dim=32, epochs=150)
    assert mlp.metadata["train"]["train_accuracy"] == 1.0


@pytest.mark.parametrize("model_id", [
    "../x", "a/../b", "/etc/passwd", "a//b", ".hidden", "a/b/c/d/e", "sp ace", "", "a\\b",
    "x" * 65,
])
def test_unsafe_ids_are_refused(tmp_path: Path, model_id: str):
    with pytest.raises(InvalidModelId):
        artefact_dir(tmp_path, model_id)


def test_safe_ids_stay_under_the_root(tmp_path: Path):
    for model_id in ["acme/intents/v1", "a", "t-1/clf_2/1.0.3"]:
        assert validate_model_id(model_id) == model_id
        assert tmp_path.resolve() in artefact_dir(tmp_path, model_id).parents


def test_versions_are_not_overwritten_by_accident(tmp_path: Path):
    x, y = blobs()
    head = train_head(x, y, epochs=10)
    save_head(head, tmp_path, "a/b/v1")
    with pytest.raises(FileExistsError):
        save_head(head, tmp_path, "a/b/v1")
    save_head(head, tmp_path, "a/b/v1", overwrite=True)
    assert not list((tmp_path / "a" / "b").glob(".staging-*"))


def test_missing_and_foreign_artefacts(tmp_path: Path):
    with pytest.raises(HeadNotFound):
        load_head(tmp_path / "nothing")
    x, y = blobs()
    folder = save_head(train_head(x, y, epochs=5), tmp_path, "a/b/v1")
    meta = json.loads((folder / "head.json").read_text())
    (folder / "head.json").write_text(json.dumps({**meta, "format": "other"}))
    with pytest.raises(HeadError):
        load_head(folder)

"""The packaged all-MiniLM-L6-v2 encoder: offline, normalised, and semantically sensible."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from nlu.embeddings import SentenceEncoder, default_model_dir

PAIRS = [  # (sentence, paraphrase, unrelated)
    ("I'm here on holiday.", "I came to the UK as a tourist.", "Set an alarm for seven."),
    ("Can I pay by card?", "Do you take credit cards?", "My sister lives in Leeds."),
    ("How long will you stay?", "How many days are you staying?", "A large latte, please."),
    ("I have nothing to declare.", "I'm not bringing anything to declare.",
     "The train leaves at noon."),
    ("A cup of tea, please.", "Could I get a tea?", "I work as an engineer."),
    ("Where is the station?", "How do I get to the train station?",
     "I would like a croissant."),
    ("My flight home is on Sunday.", "I fly back on Sunday.", "The cat is asleep."),
    ("I'm staying with my brother.", "I'll stay at my brother's house.",
     "What's the weather today?"),
]


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder().load()


def test_loads_offline_from_the_package(encoder):
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"
    assert (default_model_dir() / "model.safetensors").exists()
    import torch

    assert encoder.device == ("cuda" if torch.cuda.is_available() else "cpu")
    assert encoder.dim == 384


def test_vectors_are_normalised_float32_rows(encoder):
    texts = ["hello", "a much longer sentence about passports and visas", "?"]
    vectors = encoder.encode(texts)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, 384)


def test_batching_does_not_change_the_vectors(encoder):
    texts = [p for pair in PAIRS for p in pair]
    together = encoder.encode(texts)
    alone = np.stack([encoder.encode([t])[0] for t in texts[:6]])
    np.testing.assert_allclose(together[:6], alone, atol=1e-4)
    np.testing.assert_array_equal(encoder.encode(texts[:3]), encoder.encode(texts[:3]))


def test_paraphrases_are_closer_than_unrelated_sentences(encoder):
    flat = encoder.encode([t for triple in PAIRS for t in triple]).reshape(len(PAIRS), 3, -1)
    para = np.einsum("nd,nd->n", flat[:, 0], flat[:, 1])
    other = np.einsum("nd,nd->n", flat[:, 0], flat[:, 2])
    # Measured: paraphrases 0.26-0.80 (mean 0.68), unrelated 0.02-0.11. MiniLM is weak on
    # some pairs ("on holiday" vs "as a tourist": 0.26), hence examples plus keywords.
    assert (para > other).all(), (para, other)
    assert para.mean() > 0.6 and other.mean() < 0.2


def test_load_is_idempotent_and_thread_safe():
    fresh = SentenceEncoder()
    with ThreadPoolExecutor(4) as pool:
        models = set(pool.map(lambda _: id(fresh.load()._model), range(8)))
    assert len(models) == 1


def test_missing_model_directory_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no sentence-transformers model"):
        SentenceEncoder(model_dir=tmp_path).encode(["hi"])


SENTENCES = ["Good morning, officer.", "I'm here on holiday for two weeks.", "yes",
             "Could I have a large latte with oat milk, please?",
             "I will stay at my cousin's flat in Brighton.", "No, I have nothing to declare."]


def test_onnx_and_pytorch_give_the_same_vectors(encoder):
    """The ONNX export is a speed-up, not a different model: the calibrated threshold holds."""
    assert encoder.backend == "onnx"
    reference = SentenceEncoder(backend="torch", num_threads=1)
    cosines = (encoder.encode(SENTENCES) * reference.encode(SENTENCES)).sum(axis=1)
    assert cosines.min() > 0.9999, cosines


def test_unwritable_cache_falls_back_to_pytorch(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    monkeypatch.setenv("PARLEY_MODEL_CACHE", str(blocker))
    fallback = SentenceEncoder(num_threads=1).load()
    assert fallback.backend == "torch"
    assert fallback.encode(["yes"]).shape == (1, 384)


def test_int8_encoder_is_close_to_fp32_and_batches_keep_their_order(encoder):
    """Each text gets its own vector whatever its company (int8 activations are scaled per
    tensor, so the int8 model must not batch; fp32 batches are sorted and padded)."""
    quantized = SentenceEncoder(quantized=True, num_threads=1)
    assert quantized.name == "minilm-int8" and quantized.backend == "onnx"
    texts = SENTENCES * 3 + ["a much longer sentence than the others, " * 6]
    together = quantized.encode(texts)
    alone = np.concatenate([quantized.encode([t]) for t in texts])
    assert np.abs(together - alone).max() < 1e-6
    fp32_together = encoder.encode(texts)
    fp32_alone = np.concatenate([encoder.encode([t]) for t in texts])
    assert np.abs(fp32_together - fp32_alone).max() < 1e-4
    cosines = (together * fp32_together).sum(axis=1)
    assert cosines.min() > 0.95 and cosines.mean() > 0.98, cosines
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)

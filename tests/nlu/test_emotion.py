"""The shipped emotion model, asserted statistically on the held-out set and by CV.

Measured when the floors were set (666 training lines, 120 held-out, MiniLM):
nested 5-fold CV accuracy 0.920 / macro-F1 0.921; held-out macro-F1 0.975,
frustrated recall 1.00, log-loss 0.099 (uniform: 1.386). The floors sit well
below so that a re-labelled line or a new encoder version does not flip them,
while a broken pipeline (shuffled labels, wrong embeddings) fails them.
"""

from __future__ import annotations

import numpy as np
import pytest

from nlu.embeddings import SentenceEncoder
from nlu.emotion import (
    DEFAULT_DATA,
    LABELS,
    EmotionModel,
    cross_validate,
    file_sha256,
    load_default,
    load_jsonl,
    train_emotion,
)

HELD_OUT = DEFAULT_DATA.parent / "emotion_test.jsonl"
MIN_HELD_OUT_MACRO_F1 = 0.85
MIN_FRUSTRATED_RECALL = 0.85
MIN_CV_MACRO_F1 = 0.85
MIN_CV_ACCURACY = 0.85
MAX_HELD_OUT_LOG_LOSS = 0.4
MAX_CALIBRATION_GAP = 0.10  # |mean top probability - accuracy| on the held-out set


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder().load()


@pytest.fixture(scope="module")
def train_set(encoder) -> tuple[np.ndarray, list[str]]:
    texts, labels = load_jsonl(DEFAULT_DATA)
    return encoder.encode(texts), labels


@pytest.fixture(scope="module")
def held_out(encoder) -> tuple[list[str], np.ndarray, list[str]]:
    texts, labels = load_jsonl(HELD_OUT)
    return texts, encoder.encode(texts), labels


@pytest.fixture(scope="module")
def model() -> EmotionModel:
    return load_default()


def _macro_f1(truth: list[str], predicted: list[str]) -> tuple[float, dict[str, float]]:
    f1s, recalls = [], {}
    for label in sorted(set(truth)):
        tp = sum(t == p == label for t, p in zip(truth, predicted, strict=True))
        n_true, n_pred = truth.count(label), predicted.count(label)
        precision, recall = tp / max(n_pred, 1), tp / n_true
        recalls[label] = recall
        f1s.append(0.0 if tp == 0 else 2 * precision * recall / (precision + recall))
    return float(np.mean(f1s)), recalls


def test_data_sets_are_balanced_disjoint_and_without_duplicates():
    train_texts, train_labels = load_jsonl(DEFAULT_DATA)
    test_texts, test_labels = load_jsonl(HELD_OUT)
    assert set(train_labels) == set(test_labels) == set(LABELS)
    assert min(train_labels.count(label) for label in LABELS) >= 150
    assert min(test_labels.count(label) for label in LABELS) >= 25
    lowered = [t.strip().lower() for t in train_texts]
    assert len(set(lowered)) == len(lowered)
    assert not set(lowered) & {t.strip().lower() for t in test_texts}


def test_artefact_is_built_from_the_shipped_data(model):
    assert model.data_sha256 == file_sha256(DEFAULT_DATA)
    assert model.labels == LABELS and model.dim == 384


def test_held_out_macro_f1_and_frustrated_recall(model, held_out):
    texts, x, truth = held_out
    predicted = model.predict_labels(x)
    macro_f1, recalls = _macro_f1(truth, predicted)
    misses = [(t, p, s) for s, t, p in zip(texts, truth, predicted, strict=True) if t != p]
    assert macro_f1 >= MIN_HELD_OUT_MACRO_F1, misses
    assert recalls["frustrated"] >= MIN_FRUSTRATED_RECALL, misses


def test_held_out_probabilities_are_calibrated(model, held_out):
    _, x, truth = held_out
    probs = model.probabilities(x)
    y = np.array([model.labels.index(t) for t in truth])
    log_loss = -np.mean(np.log(probs[np.arange(y.size), y]))
    assert log_loss <= MAX_HELD_OUT_LOG_LOSS
    accuracy = np.mean(probs.argmax(1) == y)
    assert abs(probs.max(1).mean() - accuracy) <= MAX_CALIBRATION_GAP


def test_cross_validation_on_the_training_set(train_set):
    scores = cross_validate(*train_set, folds=5, seed=0)
    assert scores["macro_f1"] >= MIN_CV_MACRO_F1, scores
    assert scores["accuracy"] >= MIN_CV_ACCURACY, scores


def test_retraining_with_the_same_seed_reproduces_the_artefact(model, train_set, held_out):
    """Bit for bit on one machine; against the shipped artefact (trained elsewhere) the
    same C and labels, and probabilities within 5e-4: the encoder's float kernels differ
    by CPU (an AMD EPYC with AVX-512 moved them by up to 2.4e-4, Intel ones by < 1e-4),
    while seed 2, which picks the same C, moves them by 1.5e-3."""
    retrained = train_emotion(*train_set, seed=0)
    again = train_emotion(*train_set, seed=0)
    _, x, _ = held_out
    np.testing.assert_array_equal(again.probabilities(x), retrained.probabilities(x))
    assert retrained.metadata["C"] == model.metadata["C"]
    assert retrained.predict_labels(x) == model.predict_labels(x)
    np.testing.assert_allclose(retrained.probabilities(x), model.probabilities(x), atol=5e-4)


def test_predict_sorts_probabilities_best_first(model, held_out):
    _, x, _ = held_out
    ranked = model.predict(x[:5])
    assert len(ranked) == 5
    for row in ranked:
        assert sorted(label for label, _ in row) == sorted(LABELS)
        scores = [p for _, p in row]
        assert scores == sorted(scores, reverse=True)
        assert abs(sum(scores) - 1.0) < 1e-6
    (single,) = model.predict(x[0])  # a 1-D input is one row
    assert [label for label, _ in single] == [label for label, _ in ranked[0]]
    np.testing.assert_allclose([p for _, p in single], [p for _, p in ranked[0]], atol=1e-6)


def test_save_load_round_trip_and_dimension_check(model, held_out, tmp_path):
    _, x, _ = held_out
    path = model.save(tmp_path / "emotion.npz")
    again = EmotionModel.load(path)
    assert again.labels == model.labels and again.data_sha256 == model.data_sha256
    assert again.metadata == model.metadata
    np.testing.assert_array_equal(again.probabilities(x), model.probabilities(x))
    with pytest.raises(ValueError):
        model.predict(np.zeros((2, 10), dtype=np.float32))


def test_inference_needs_neither_torch_nor_sklearn():
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys, numpy as np; from nlu.emotion import load_default; "
            "m = load_default(); m.predict(np.zeros((1, m.dim), np.float32)); "
            "bad = [n for n in ('torch', 'sklearn', 'scipy') if n in sys.modules]; "
            "sys.exit(f'imported {bad}' if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stderr

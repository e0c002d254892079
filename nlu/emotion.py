"""Emotion of a learner's message: positive, neutral, negative or frustrated.

The dialog engine reacts to ``frustrated`` (an encouraging line instead of a
plain retry), so the four labels separate *what the learner feels about the
situation* (``negative``: "the coffee is cold") from *what they feel about the
practice* (``frustrated``: "I said it five times!"). The labelling guideline and
the data's provenance are in ``nlu/data/README.md``.

Inference is numpy only, over sentence embeddings the caller computed
(``SentenceEncoder``, 384-d, L2-normalised): the web tier embeds through the
model client and must not import torch or sklearn. The model is a multinomial
logistic regression, ``softmax((W x + b) / T)``, whose temperature ``T`` is fitted
on out-of-fold logits so that the probabilities are calibrated, not merely
ranked. Training (sklearn, imported lazily) picks the regularisation by
cross-validation; the artefact is one small ``.npz`` that records the SHA-256 of
the data it was trained on.

Build the shipped artefact with ``python -m nlu.emotion train``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_ARTEFACT",
    "DEFAULT_DATA",
    "LABELS",
    "EmotionModel",
    "cross_validate",
    "file_sha256",
    "load_default",
    "load_jsonl",
    "train_emotion",
]

LABELS: tuple[str, ...] = ("positive", "neutral", "negative", "frustrated")
DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_DATA = DATA_DIR / "emotion.jsonl"
DEFAULT_ARTEFACT = DATA_DIR / "emotion-v1.npz"
FORMAT = "parley-emotion"
FORMAT_VERSION = 1
# Inverse regularisation strengths tried by cross-validation (sklearn's C).
DEFAULT_CS: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)


class EmotionModel:
    """A calibrated linear softmax over fixed embeddings; numpy only at inference."""

    def __init__(self, labels: Sequence[str], weights: np.ndarray, bias: np.ndarray,
                 temperature: float = 1.0, data_sha256: str = "",
                 metadata: dict[str, Any] | None = None) -> None:
        weights = np.asarray(weights, dtype=np.float32)
        bias = np.asarray(bias, dtype=np.float32)
        if len(labels) < 2 or len(set(labels)) != len(labels):
            raise ValueError("an emotion model needs at least two distinct labels")
        if weights.ndim != 2 or weights.shape[0] != len(labels) or bias.shape != (len(labels),):
            raise ValueError(f"weights {weights.shape} / bias {bias.shape} do not fit "
                             f"{len(labels)} labels")
        if not temperature > 0:
            raise ValueError("temperature must be positive")
        self.labels: tuple[str, ...] = tuple(labels)
        self.weights, self.bias = weights, bias
        self.temperature = float(temperature)
        self.data_sha256 = data_sha256
        self.metadata: dict[str, Any] = dict(metadata or {})

    @property
    def dim(self) -> int:
        return int(self.weights.shape[1])

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """``(n, len(labels))`` probabilities, columns in ``labels`` order."""
        x = np.asarray(embeddings, dtype=np.float32)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"expected embeddings of shape (n, {self.dim}), got {x.shape}")
        logits = (x @ self.weights.T + self.bias) / self.temperature
        return _softmax(logits.astype(np.float64))

    def predict(self, embeddings: np.ndarray) -> list[list[tuple[str, float]]]:
        """Per row, every ``(label, probability)``, best first (a 1-D input is one row)."""
        probs = self.probabilities(embeddings)
        order = np.argsort(-probs, axis=1, kind="stable")
        return [[(self.labels[j], float(row[j])) for j in idx]
                for row, idx in zip(probs, order, strict=True)]

    def predict_labels(self, embeddings: np.ndarray) -> list[str]:
        """The most probable label per row."""
        return [self.labels[j] for j in self.probabilities(embeddings).argmax(axis=1)]

    def save(self, path: str | Path) -> Path:
        """Write one ``.npz`` (no pickles: labels are a unicode array, metadata is JSON)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            np.savez(fh, format=np.array(FORMAT), format_version=np.array(FORMAT_VERSION),
                     labels=np.array(self.labels), weights=self.weights, bias=self.bias,
                     temperature=np.array(self.temperature),
                     data_sha256=np.array(self.data_sha256),
                     metadata=np.array(json.dumps(self.metadata, sort_keys=True)))
        return path

    @classmethod
    def load(cls, path: str | Path) -> EmotionModel:
        with np.load(Path(path), allow_pickle=False) as z:
            if str(z["format"]) != FORMAT or int(z["format_version"]) != FORMAT_VERSION:
                raise ValueError(f"{path} is not a {FORMAT} v{FORMAT_VERSION} artefact")
            return cls([str(s) for s in z["labels"]], z["weights"], z["bias"],
                       float(z["temperature"]), str(z["data_sha256"]),
                       json.loads(str(z["metadata"])))


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _nll(logits: np.ndarray, y: np.ndarray, temperature: float) -> float:
    p = _softmax(logits / temperature)
    return float(-np.mean(np.log(np.clip(p[np.arange(y.size), y], 1e-12, None))))


def _fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature minimising the negative log-likelihood of out-of-fold logits (the
    same temperature scaling the tenant classifiers use)."""
    from nlu.classifiers.calibration import fit_temperature

    return fit_temperature(logits, y)


def _check(embeddings: np.ndarray, labels: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    from nlu.errors import BadTrainingData, NoTrainingData

    x = np.asarray(embeddings, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] != len(labels):
        raise BadTrainingData(f"embeddings {x.shape} do not match {len(labels)} labels")
    names = sorted(set(labels), key=lambda s: (LABELS.index(s) if s in LABELS else 99, s))
    if len(names) < 2:
        raise NoTrainingData("emotion training needs at least two labels")
    return x, names


def _logistic(c: float, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=2000, class_weight="balanced", random_state=seed)


def train_emotion(embeddings: np.ndarray, labels: Sequence[str], seed: int = 0,
                  cs: Sequence[float] = DEFAULT_CS, folds: int = 5) -> EmotionModel:
    """Fit the regression, choosing C by ``folds``-fold CV (macro-F1, then log-loss).

    The out-of-fold logits of the chosen C also give the temperature. Everything
    is deterministic for a given ``seed`` (lbfgs; seeded fold shuffling).
    """
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold
    from threadpoolctl import threadpool_limits

    x, names = _check(embeddings, labels)
    y = np.array([names.index(s) for s in labels])
    folds = max(2, min(folds, int(np.bincount(y).min())))
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y))
    best: tuple[float, float, float, np.ndarray] | None = None  # (-f1, nll, C, logits)
    # One BLAS thread: these problems are tiny, and a multi-threaded OpenBLAS on a
    # busy machine spends 50x longer spinning than computing (6 s vs 0.09 s a fit).
    with threadpool_limits(1):
        for c in cs:
            logits = np.zeros((y.size, len(names)))
            for train, test in splits:
                clf = _logistic(c, seed).fit(x[train], y[train])
                logits[test] = clf.decision_function(x[test])
            key = (-f1_score(y, logits.argmax(1), average="macro"), _nll(logits, y, 1.0))
            if best is None or key < best[:2]:
                best = (*key, c, logits)
        assert best is not None
        _, _, c, oof_logits = best
        clf = _logistic(c, seed).fit(x, y)
    temperature = _fit_temperature(oof_logits, y)
    return EmotionModel(names, clf.coef_, clf.intercept_, temperature,
                        metadata={"C": c, "seed": seed, "n": int(y.size),
                                  "counts": {n: int((y == i).sum()) for i, n in enumerate(names)},
                                  "oof_nll": _nll(oof_logits, y, temperature)})


def cross_validate(embeddings: np.ndarray, labels: Sequence[str], folds: int = 5,
                   seed: int = 0) -> dict[str, float]:
    """Nested CV: ``train_emotion`` (its own C search included) on each outer split."""
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import StratifiedKFold

    x, _ = _check(embeddings, labels)
    y = np.asarray(labels)
    predicted = np.empty(y.size, dtype=object)
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y):
        model = train_emotion(x[train], list(y[train]), seed=seed)
        predicted[test] = model.predict_labels(x[test])
    return {"accuracy": float(accuracy_score(y, predicted.astype(str))),
            "macro_f1": float(f1_score(y, predicted.astype(str), average="macro"))}


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_jsonl(path: str | Path = DEFAULT_DATA) -> tuple[list[str], list[str]]:
    """``(texts, labels)`` of a ``{"text", "label"}`` JSON-lines file."""
    texts, labels = [], []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            texts.append(row["text"])
            labels.append(row["label"])
    return texts, labels


def load_default() -> EmotionModel:
    """The shipped model, ``nlu/data/emotion-v1.npz``."""
    return EmotionModel.load(DEFAULT_ARTEFACT)


def _train_cli(data: Path, out: Path, seed: int) -> dict[str, Any]:
    from nlu.embeddings import SentenceEncoder

    texts, labels = load_jsonl(data)
    x = SentenceEncoder().encode(texts)
    scores = cross_validate(x, labels, seed=seed)
    model = train_emotion(x, labels, seed=seed)
    model.data_sha256 = file_sha256(data)
    model.metadata.update({"data": data.name, "cv_accuracy": scores["accuracy"],
                           "cv_macro_f1": scores["macro_f1"]})
    model.save(out)
    return {"out": str(out), "n": len(texts), "C": model.metadata["C"],
            "temperature": round(model.temperature, 4),
            "cv_accuracy": round(scores["accuracy"], 4),
            "cv_macro_f1": round(scores["macro_f1"], 4), "data_sha256": model.data_sha256}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nlu.emotion", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train on a jsonl file and write the .npz artefact")
    train.add_argument("--data", type=Path, default=DEFAULT_DATA)
    train.add_argument("--out", type=Path, default=DEFAULT_ARTEFACT)
    train.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(json.dumps(_train_cli(args.data, args.out, args.seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

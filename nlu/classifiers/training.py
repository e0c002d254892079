"""Train, calibrate, save and load a tenant's text classifier, whatever the algorithm.

Calibration data never overlaps what it calibrates: small sets (under
``CROSS_FIT_BELOW`` samples, e.g. a lesson's few examples) get out-of-fold logits
from k-fold cross-fitting; larger ones hold out a stratified 15 %. The model that
is kept is then refitted on every sample when the algorithm is cheap
(``Algorithm.refit``), else the first fit is kept.

The out-of-scope decision uses a *confidence*: the calibrated top probability
times the text's similarity to the training texts (mean cosine of its
``NEIGHBOURS`` nearest, for models that expose sentence features). A softmax is
sure of itself far from any training text; the similarity is not, and on
HWU64 with eight intents held out the product caught 0.48 of their utterances
at a 5 % false-rejection rate where the probability alone caught 0.30.
The nearest texts are looked for among the texts of the ``NEAR_LABELS`` most
probable labels, not all of them: a scan of all 10,000 training texts streamed
15 MB per request (0.3-2 ms, the largest cost after the encoder at 200 requests
a second). Looking only at the answered label's texts changed what the lesson
matcher accepts (paraphrases 0.979 -> 0.963); the five most probable hold the
nearest texts in practice. Versions saved before this kept no bank labels and
compare with every text.

Labels named in ``OOS_LABELS`` (``oos``, ``out_of_scope``) are learned like any
other label, but a text whose best label is one of them is answered out of
scope, and their held-out examples teach the threshold what to reject.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nlu.classifiers.base import Algorithm, EmbedFor, FittedModel, Progress
from nlu.classifiers.calibration import choose_threshold, fit_temperature, softmax
from nlu.errors import BadTrainingData, NoTrainingData

__all__ = ["ALGORITHMS", "OOS_LABELS", "Bank", "TrainedClassifier", "algorithm_class",
           "data_hash", "is_classifier", "load_classifier", "train_classifier"]

ALGORITHMS = ("fast", "accurate")
OOS_LABELS = frozenset({"oos", "out_of_scope"})
CROSS_FIT_BELOW = 300
NEIGHBOURS = 3
NEAR_LABELS = 5
_BANK_CHUNK = 512
_META, _BANK, _BANK_LABELS = "classifier.json", "bank.npy", "bank_labels.npy"
FORMAT = "parley-classifier"


def algorithm_class(name: str) -> type[Algorithm]:
    if name == "fast":
        from nlu.classifiers.fast import FastAlgorithm

        return FastAlgorithm
    if name == "accurate":
        from nlu.classifiers.accurate import AccurateAlgorithm

        return AccurateAlgorithm
    raise BadTrainingData(f"unknown algorithm {name!r} (known: {', '.join(ALGORITHMS)})")


def data_hash(texts: Sequence[str], labels: Sequence[str]) -> str:
    """Order-independent SHA-256 of the (text, label) pairs a version learned from."""
    digest = hashlib.sha256()
    for text, label in sorted(zip(texts, labels, strict=True)):
        digest.update(json.dumps([text, label]).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def similarity(features: np.ndarray, bank: np.ndarray) -> np.ndarray:
    """Mean cosine of each row of ``features`` to its nearest rows of ``bank``."""
    sims = np.asarray(features, np.float32) @ bank.T
    k = min(NEIGHBOURS, bank.shape[0])
    return np.clip(np.partition(sims, -k, axis=1)[:, -k:].mean(axis=1), 0.0, 1.0)


@dataclass
class Bank:
    """The in-scope training texts' features, grouped by label index (``labels`` sorted;
    None: a version saved before the grouping, compared with every row)."""

    features: np.ndarray
    labels: np.ndarray | None = None

    @classmethod
    def build(cls, features: np.ndarray, labels: np.ndarray) -> Bank:
        order = np.argsort(labels, kind="stable")
        return cls(np.ascontiguousarray(features[order], np.float32),
                   np.asarray(labels)[order].astype(np.int32))

    def similarity(self, features: np.ndarray, probs: np.ndarray) -> np.ndarray:
        """Per row, the mean cosine to its nearest bank rows among the texts of its
        ``NEAR_LABELS`` most probable labels (``probs``: one row of label scores each)."""
        if self.labels is None:
            return similarity(features, self.features)
        out = np.zeros(len(features), np.float32)
        near = np.argsort(-np.asarray(probs), axis=1, kind="stable")[:, :NEAR_LABELS]
        starts = np.searchsorted(self.labels, near, side="left")
        ends = np.searchsorted(self.labels, near, side="right")
        for i, row in enumerate(features):
            rows = np.concatenate([np.arange(lo, hi) for lo, hi in
                                   zip(starts[i], ends[i], strict=True)])
            if len(rows):
                out[i] = similarity(row[None, :], self.features[rows])[0]
        return out


def confidence(probs: np.ndarray, features: np.ndarray | None,
               bank: Bank | None) -> np.ndarray:
    """The score the out-of-scope threshold applies to (see the module docstring)."""
    top = probs.max(axis=1) if len(probs) else np.zeros(0, np.float32)
    if features is None or bank is None or not len(bank.features) or not len(probs):
        return top
    return top * bank.similarity(features, probs)


@dataclass
class TrainedClassifier:
    """A fitted model with its temperature, similarity bank and out-of-scope threshold."""

    model: FittedModel
    temperature: float
    threshold: float
    bank: Bank | None = None  # features of the in-scope training texts
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return self.model.labels

    def scores(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated probabilities and the confidence of each text's best label."""
        if not texts:
            return np.zeros((0, len(self.labels)), np.float32), np.zeros(0, np.float32)
        logits, features = self.model.encode(texts)
        probs = softmax(logits, self.temperature)
        return probs, confidence(probs, features, self.bank)

    def proba(self, texts: list[str]) -> np.ndarray:
        return self.scores(texts)[0]

    def retrieve(self, texts: list[str], top_k: int = 3,
                 threshold: float | None = None) -> list[dict[str, Any]]:
        """Per text: the best ``top_k`` labels with calibrated scores, the confidence, and
        the answer (``label``, or None with ``out_of_scope`` when unsure or an OOS label
        won)."""
        cut = self.threshold if threshold is None else float(threshold)
        probs, confident = self.scores(texts)
        k = max(1, min(int(top_k), len(self.labels)))
        out = []
        for row, sure in zip(probs, confident, strict=True):
            order = np.argsort(-row, kind="stable")
            best = self.labels[order[0]]
            oos = best in OOS_LABELS or float(sure) < cut
            out.append({
                "label": None if oos else best, "score": float(row[order[0]]),
                "confidence": float(sure), "out_of_scope": oos,
                "labels": [{"label": self.labels[j], "score": float(row[j])} for j in order[:k]],
            })
        return out

    def save(self, root: str | Path, model_id: str) -> Path:
        """Write the artefact as ``<root>/<model_id>/`` atomically (versions are immutable)."""
        from nlu.heads import artefact_dir

        target = artefact_dir(root, model_id)
        if target.exists():
            raise FileExistsError(f"{target} exists (model ids are versioned)")
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
        try:
            model_meta = self.model.save(staging)
            if self.bank is not None:
                np.save(staging / _BANK, self.bank.features.astype(np.float16))
                if self.bank.labels is not None:
                    np.save(staging / _BANK_LABELS, self.bank.labels)
            meta = {**self.meta, "format": FORMAT, "format_version": 1, "model_id": model_id,
                    "labels": self.labels, "temperature": self.temperature,
                    "threshold": self.threshold, "model": model_meta}
            (staging / _META).write_text(json.dumps(meta, indent=2, sort_keys=True))
            os.replace(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self.meta = meta
        return target


def is_classifier(folder: Path) -> bool:
    return (folder / _META).is_file()


def load_classifier(folder: str | Path, embed_for: EmbedFor,
                    device: str = "cpu") -> TrainedClassifier:
    folder = Path(folder)
    meta = json.loads((folder / _META).read_text())
    if meta.get("format") != FORMAT:
        raise BadTrainingData(f"{folder}: not a {FORMAT} artefact")
    model = algorithm_class(meta["algorithm"]).load(folder, meta, embed_for, device)
    bank = None
    if (folder / _BANK).is_file():
        labels = np.load(folder / _BANK_LABELS) if (folder / _BANK_LABELS).is_file() else None
        bank = Bank(np.load(folder / _BANK).astype(np.float32), labels)
    return TrainedClassifier(model, float(meta["temperature"]), float(meta["threshold"]), bank,
                             meta)


def _check(texts: Sequence[str], labels: Sequence[str]) -> Counter[str]:
    if len(texts) != len(labels):
        raise BadTrainingData("one label per text")
    counts = Counter(labels)
    if not texts:
        raise NoTrainingData("the classifier has no training samples: add some first")
    if len(counts) < 2:
        raise NoTrainingData(f"a classifier needs at least two labels; the samples have only "
                             f"{next(iter(counts))!r}")
    return counts


def _folds(labels: Sequence[str], counts: Counter[str], seed: int) -> list[np.ndarray]:
    """Calibration folds: k folds when small, one stratified 15 % split otherwise."""
    rng = np.random.default_rng(seed)
    n = len(labels)
    k = 5 if n < CROSS_FIT_BELOW else 0
    assignment = np.full(n, -1)
    for label in counts:
        rows = np.flatnonzero(np.asarray(labels) == label)
        rng.shuffle(rows)
        if k:
            if len(rows) >= 2:  # a label seen once can only be trained on
                assignment[rows] = (np.arange(len(rows)) + rng.integers(k)) % k
        else:
            held = int(round(0.15 * len(rows))) if len(rows) >= 4 else 0
            assignment[rows[:held]] = 0
    return [np.flatnonzero(assignment == f) for f in range(k or 1) if (assignment == f).any()]


def train_classifier(algorithm: Algorithm, texts: Sequence[str], labels: Sequence[str],
                     params: dict[str, Any] | None = None, progress: Progress | None = None,
                     oos_rate: float = 0.05) -> TrainedClassifier:
    """Fit, calibrate and (cheap algorithms) refit on everything; metrics in ``meta``."""
    texts, labels = [str(t) for t in texts], [str(label) for label in labels]
    counts = _check(texts, labels)
    if not 0.0 <= oos_rate < 0.5:
        raise BadTrainingData("oos_rate must be in [0, 0.5)")
    p = algorithm.params(params)
    report = progress or (lambda stage, fraction: None)
    started = time.perf_counter()
    folds = _folds(labels, counts, int(p.get("seed", 0)))
    fits = len(folds) + (1 if algorithm.refit or not folds else 0)
    done = 0

    high = [0.0]

    def step(stage: str, fraction: float) -> None:  # one fit's fraction -> the whole run's
        high[0] = max(high[0], min(1.0, (done + fraction) / fits))
        report(stage, high[0])

    names = sorted(counts)
    index = {name: i for i, name in enumerate(names)}
    oos_rows = np.asarray([label in OOS_LABELS for label in labels])
    held_logits, held_sims, held_y, model = [], [], [], None
    for rows in folds:
        keep = np.setdiff1d(np.arange(len(texts)), rows)
        fold_labels = [labels[i] for i in keep]
        if len(set(fold_labels)) < 2:
            done += 1
            continue
        model = algorithm.fit([texts[i] for i in keep], fold_labels, p, step)
        logits, features = model.encode([texts[i] for i in rows])
        in_scope = keep[~oos_rows[keep]]
        bank = _bank(model, [texts[i] for i in in_scope], [index[labels[i]] for i in in_scope],
                     step)
        # a fold may miss a rare label: place its logits in the full label space
        full = np.full((len(rows), len(names)), -1e4, np.float32)
        full[:, [index[name] for name in model.labels]] = logits
        held_logits.append(full)
        held_sims.append(np.ones(len(rows), np.float32) if features is None or bank is None
                         else bank.similarity(features, full))
        held_y.extend(index[labels[i]] for i in rows)
        done += 1
    if algorithm.refit or model is None or sorted(model.labels) != names:
        model = algorithm.fit(texts, labels, p, step)
    logits = np.concatenate(held_logits) if held_logits else np.zeros((0, len(names)))
    y = np.asarray(held_y, dtype=np.int64)
    temperature = fit_temperature(logits, y) if len(y) >= 10 else 1.0
    probs = softmax(logits, temperature) if len(y) else logits
    top = probs.argmax(axis=1) if len(y) else y
    oos = np.isin(y, [index[n] for n in names if n in OOS_LABELS])
    sure = probs.max(axis=1) * np.concatenate(held_sims) if len(y) else np.zeros(0)
    top_is_oos = np.isin(top, [index[n] for n in names if n in OOS_LABELS])
    sure = np.where(top_is_oos, -1.0, sure)  # an OOS label winning: rejected
    threshold = choose_threshold(sure, top == y, oos, oos_rate) if len(y) else 0.0
    accepted = sure >= threshold
    inscope = ~oos
    metrics = {
        "calibration_samples": int(len(y)),
        "calibration_accuracy": float((top[inscope] == y[inscope]).mean()) if inscope.any()
        else None,
        "calibration_false_oos_rate": float((~accepted[inscope]).mean()) if inscope.any()
        else None,
        "calibration_oos_recall": float((~accepted[oos]).mean()) if oos.any() else None,
        "train_s": round(time.perf_counter() - started, 3),
    }
    meta = {"algorithm": algorithm.name, "params": p, "oos_rate": oos_rate,
            "train_samples": len(texts), "label_counts": dict(sorted(counts.items())),
            "data_hash": data_hash(texts, labels), "metrics": metrics,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    in_scope = np.flatnonzero(~oos_rows)
    bank = _bank(model, [texts[i] for i in in_scope], [index[labels[i]] for i in in_scope],
                 step)
    return TrainedClassifier(model, temperature, threshold, bank, meta)


def _bank(model: FittedModel, texts: list[str], label_ids: list[int],
          progress: Progress) -> Bank | None:
    """The in-scope training texts' features by label (None: the model has none), a chunk
    at a time so a slow model still reports that it is alive."""
    if not texts or model.features(texts[:1]) is None:
        return None
    parts = []
    for start in range(0, len(texts), _BANK_CHUNK):
        parts.append(np.asarray(model.features(texts[start:start + _BANK_CHUNK]), np.float32))
        progress("indexing", 1.0)
    return Bank.build(np.concatenate(parts), np.asarray(label_ids))

"""Turning held-out logits into calibrated scores and an out-of-scope threshold.

Temperature scaling (one scalar dividing the logits, fitted by likelihood on
held-out data) keeps the ranking and makes the top score mean what it says,
so one threshold works across classifiers. The threshold is learned from the
held-out scores: with out-of-scope examples among them it maximises in-scope
accuracy plus out-of-scope recall; without, it rejects ``target_rate`` of the
in-scope examples (the false out-of-scope rate the tenant accepts).
"""

from __future__ import annotations

import numpy as np

__all__ = ["choose_threshold", "fit_temperature", "softmax"]

_T_RANGE = (0.05, 20.0)


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64) / float(temperature)
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def _nll(logits: np.ndarray, y: np.ndarray, t: float) -> float:
    z = logits / t
    z = z - z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(z).sum(axis=1))
    return float(np.mean(log_norm - z[np.arange(len(y)), y]))


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature minimising held-out NLL (golden-section search on log T)."""
    logits = np.asarray(logits, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    if len(y) == 0:
        return 1.0
    lo, hi = np.log(_T_RANGE[0]), np.log(_T_RANGE[1])
    ratio = (np.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = _nll(logits, y, np.exp(a)), _nll(logits, y, np.exp(b))
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = _nll(logits, y, np.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = _nll(logits, y, np.exp(b))
    return float(np.exp((lo + hi) / 2))


def choose_threshold(confidence: np.ndarray, correct: np.ndarray, oos: np.ndarray,
                     target_rate: float) -> float:
    """The top-score threshold under which an answer is out of scope.

    ``confidence``: the calibrated top score per held-out example; ``correct``: its
    top label is right (in-scope examples); ``oos``: the example is out of scope.
    """
    confidence = np.asarray(confidence, dtype=np.float64)
    oos = np.asarray(oos, dtype=bool)
    correct = np.asarray(correct, dtype=bool) & ~oos
    inscope = confidence[~oos]
    if len(inscope) == 0:
        return 0.0
    if not oos.any():
        return float(np.quantile(inscope, target_rate)) if target_rate > 0 else 0.0
    best, best_value = 0.0, -1.0
    for t in np.unique(np.concatenate([[0.0], confidence[confidence >= 0]])):
        accepted = confidence >= t
        value = (correct & accepted).sum() / max(1, (~oos).sum()) + (
            oos & ~accepted).sum() / max(1, oos.sum())
        if value > best_value + 1e-12:
            best, best_value = float(t), float(value)
    return best

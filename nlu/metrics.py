"""Test-set metrics of a classifier with an out-of-scope answer, in plain Python.

A test label the version never learned (or an ``oos`` label) is an out-of-scope
example: answering "out of scope" is right for it. ``out_of_scope`` is one more
column of the confusion matrix, so in-scope texts rejected by the threshold are
visible as such, not as some other label.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

__all__ = ["OUT_OF_SCOPE", "classification_report"]

OUT_OF_SCOPE = "out_of_scope"


def classification_report(truth: Sequence[str], answers: Sequence[str | None],
                          known: Sequence[str], oos_labels: frozenset[str]) -> dict[str, Any]:
    """Accuracy, macro F1 over the known labels, OOS recall / false-OOS rate, confusion."""
    if len(truth) != len(answers):
        raise ValueError("one answer per truth")
    known_set = set(known) - oos_labels
    gold = [t if t in known_set else OUT_OF_SCOPE for t in truth]
    pred = [a if a in known_set else OUT_OF_SCOPE for a in answers]
    n = len(gold)
    pairs = Counter(zip(gold, pred, strict=True))
    per_label: dict[str, dict[str, float | int]] = {}
    for label in sorted(known_set):
        tp = pairs[(label, label)]
        predicted = sum(v for (g, p), v in pairs.items() if p == label)
        support = sum(v for (g, p), v in pairs.items() if g == label)
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = {"precision": precision, "recall": recall, "f1": f1,
                            "support": support}
    present = [m for m in per_label.values() if m["support"]]
    inscope = [(g, p) for g, p in zip(gold, pred, strict=True) if g != OUT_OF_SCOPE]
    oos = [p for g, p in zip(gold, pred, strict=True) if g == OUT_OF_SCOPE]
    axis = sorted(known_set) + [OUT_OF_SCOPE]
    where = {label: i for i, label in enumerate(axis)}
    matrix = [[0] * len(axis) for _ in axis]
    for (g, p), count in pairs.items():
        matrix[where[g]][where[p]] += count
    return {
        "samples": n,
        "accuracy": sum(g == p for g, p in zip(gold, pred, strict=True)) / n if n else 0.0,
        "macro_f1": sum(m["f1"] for m in present) / len(present) if present else 0.0,
        "in_scope_accuracy": sum(g == p for g, p in inscope) / len(inscope) if inscope
        else None,
        "oos_samples": len(oos),
        "oos_recall": sum(p == OUT_OF_SCOPE for p in oos) / len(oos) if oos else None,
        "false_oos_rate": sum(p == OUT_OF_SCOPE for _, p in inscope) / len(inscope)
        if inscope else None,
        "per_label": per_label,
        "confusion": {"labels": axis, "matrix": matrix},
    }

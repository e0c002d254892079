"""A learner's progress from their pronunciation assessments (pure functions, no storage).

Each assessment contributes ``{phone: [count, score_sum, wrong]}``
(:func:`phone_totals`); a learner's running accuracy per phoneme is the sum over
their latest assessments (:func:`merge`). The weakest phonemes rank by a
smoothed mean score — each phoneme's mean pulled towards the learner's overall
mean by ``prior`` pseudo-observations — so one unlucky "TH" does not outrank a
sound failed twenty times.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["PhoneStat", "merge", "phone_means", "phone_totals", "trend", "weakest"]


@dataclass(frozen=True)
class PhoneStat:
    phone: str
    count: int
    mean_score: float
    wrong_rate: float


def phone_totals(assessment: Mapping[str, Any]) -> dict[str, list[float]]:
    """``{phone: [count, score_sum, wrong]}`` of one assessment (omitted words left out)."""
    out: dict[str, list[float]] = {}
    for word in assessment.get("words", ()):
        if word.get("label") == "omitted":
            continue
        for phone in word.get("phones", ()):
            row = out.setdefault(phone["phone"], [0.0, 0.0, 0.0])
            row[0] += 1
            row[1] += float(phone["score"])
            row[2] += phone["label"] == "wrong"
    return out


def phone_means(totals: Mapping[str, Sequence[float]]) -> dict[str, float]:
    """``{phone: mean score}`` of one assessment's :func:`phone_totals` (phones sorted)."""
    return {p: round(s / c, 1) for p, (c, s, _w) in sorted(totals.items()) if c > 0}


def merge(records: Iterable[Mapping[str, Sequence[float]]]) -> dict[str, PhoneStat]:
    totals: dict[str, list[float]] = {}
    for record in records:
        for phone, (count, score_sum, wrong) in record.items():
            row = totals.setdefault(phone, [0.0, 0.0, 0.0])
            row[0] += count
            row[1] += score_sum
            row[2] += wrong
    return {p: PhoneStat(p, int(c), round(s / c, 1), round(w / c, 3))
            for p, (c, s, w) in sorted(totals.items()) if c > 0}


def weakest(stats: Mapping[str, PhoneStat], n: int = 5, prior: float = 5.0) -> list[str]:
    """The ``n`` phonemes with the lowest smoothed mean score."""
    if not stats:
        return []
    count = sum(s.count for s in stats.values())
    overall = sum(s.mean_score * s.count for s in stats.values()) / count

    def smoothed(s: PhoneStat) -> float:
        return (s.mean_score * s.count + overall * prior) / (s.count + prior)

    return [s.phone for s in sorted(stats.values(), key=lambda s: (smoothed(s), s.phone))][:n]


def trend(values: Sequence[float]) -> float:
    """Least-squares slope per assessment (0 for fewer than two values)."""
    n = len(values)
    if n < 2:
        return 0.0
    mean_x, mean_y = (n - 1) / 2, sum(values) / n
    num = sum((i - mean_x) * (v - mean_y) for i, v in enumerate(values))
    den = sum((i - mean_x) ** 2 for i in range(n))
    return round(num / den, 3)

"""Interpolated modified Kneser–Ney n-gram estimation, written as ARPA text.

A lesson state has a handful of expected sentences, so the estimator runs in
milliseconds in pure Python and needs no KenLM build. It follows Chen &
Goodman (1998) as KenLM's ``lmplz`` does: highest-order n-grams keep raw
counts, lower orders use continuation counts (distinct left extensions) except
n-grams starting with ``<s>``, three discounts per order from counts of counts,
and the unigram distribution is interpolated with a uniform one. When counts of
counts are too sparse to give valid discounts (tiny corpora), the fallback
discounts 0.5 / 1.0 / 1.5 are used, as ``lmplz --discount_fallback`` does.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["BOS", "EOS", "FALLBACK_DISCOUNTS", "NGramModel", "count_ngrams", "estimate_kn"]

BOS = "<s>"
EOS = "</s>"
FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)

Gram = tuple[str, ...]


@dataclass(frozen=True)
class NGramModel:
    """A backoff n-gram model: ``probs[n][gram]`` and ``backoffs[n][context]`` as probabilities.

    ``probs[1]`` holds every vocabulary word (``<s>`` with probability 0, as ARPA
    writes it with log10 -99); ``backoffs`` holds only contexts that have one.
    """

    order: int
    probs: dict[int, dict[Gram, float]]
    backoffs: dict[int, dict[Gram, float]]

    @property
    def vocabulary(self) -> list[str]:
        return [g[0] for g in self.probs[1]]

    def prob(self, word: str, context: Sequence[str] = ()) -> float:
        """P(word | context) with standard backoff (context truncated to order-1 words)."""
        context = tuple(context)[-(self.order - 1):] if self.order > 1 else ()
        weight = 1.0
        while True:
            gram = (*context, word)
            p = self.probs[len(gram)].get(gram)
            if p is not None:
                return weight * p
            if not context:
                return 0.0
            weight *= self.backoffs[len(context)].get(context, 1.0)
            context = context[1:]

    def to_arpa(self) -> str:
        """The model as ARPA text (log10 probabilities, backoffs only where not 1)."""
        lines = ["\\data\\"]
        lines += [f"ngram {n}={len(self.probs[n])}" for n in range(1, self.order + 1)]
        for n in range(1, self.order + 1):
            lines += ["", f"\\{n}-grams:"]
            for gram, p in self.probs[n].items():
                logp = -99.0 if p <= 0.0 else math.log10(p)
                line = f"{logp:.6f}\t{' '.join(gram)}"
                bo = self.backoffs.get(n, {}).get(gram)
                if bo is not None and n < self.order:
                    line += f"\t{math.log10(bo):.6f}"
                lines.append(line)
        lines += ["", "\\end\\", ""]
        return "\n".join(lines)


def count_ngrams(sentences: Iterable[Sequence[str]], order: int) -> dict[int, Counter[Gram]]:
    """Raw counts of every n-gram (1..order) with ``<s>``/``</s>`` padding."""
    counts: dict[int, Counter[Gram]] = {n: Counter() for n in range(1, order + 1)}
    for words in sentences:
        padded = (BOS, *words, EOS)
        for n in range(1, order + 1):
            for i in range(len(padded) - n + 1):
                counts[n][padded[i:i + n]] += 1
    return counts


def _adjusted_counts(raw: dict[int, Counter[Gram]], order: int) -> dict[int, Counter[Gram]]:
    """KN counts: raw at the top order and for ``<s>``-initial grams, else left-continuations."""
    adjusted: dict[int, Counter[Gram]] = {order: Counter(raw[order])}
    for n in range(order - 1, 0, -1):
        cont: Counter[Gram] = Counter()
        for gram in raw[n + 1]:
            cont[gram[1:]] += 1
        adjusted[n] = Counter({g: (c if g[0] == BOS else cont[g]) for g, c in raw[n].items()})
    return adjusted


def _discounts(counts: Counter[Gram]) -> tuple[float, float, float]:
    """Chen–Goodman D1, D2, D3+ from counts of counts; fallback when they are not usable."""
    n = Counter(c for c in counts.values() if c <= 4)
    n1, n2, n3, n4 = (n[i] for i in range(1, 5))
    if min(n1, n2, n3, n4) == 0:
        return FALLBACK_DISCOUNTS
    y = n1 / (n1 + 2 * n2)
    d = (1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3)
    if not all(0 < di < i + 1 for i, di in enumerate(d)):
        return FALLBACK_DISCOUNTS
    return d


def estimate_kn(
    sentences: Iterable[Sequence[str]],
    order: int = 3,
    discounts: tuple[float, float, float] | None = None,
) -> NGramModel:
    """Interpolated modified Kneser–Ney model of tokenised sentences.

    The unigram level interpolates with a uniform distribution over the
    vocabulary (every word seen plus ``</s>``); ``<s>`` is never predicted.
    ``discounts`` (D1, D2, D3+, each in (0, n]) replaces the estimated ones at
    every order: a list of expected answers wants small discounts so the model
    stays close to the sentences instead of spreading mass over word salad.
    """
    if discounts is not None and not all(0 < d <= i + 1 for i, d in enumerate(discounts)):
        raise ValueError("discounts must satisfy 0 < D1 <= 1, 0 < D2 <= 2, 0 < D3 <= 3")
    if order < 1:
        raise ValueError("order must be at least 1")
    sentences = [tuple(s) for s in sentences if len(s)]
    if not sentences:
        raise ValueError("at least one non-empty sentence is needed")
    raw = count_ngrams(sentences, order)
    adj = _adjusted_counts(raw, order)
    probs: dict[int, dict[Gram, float]] = {}
    backoffs: dict[int, dict[Gram, float]] = {}

    for n in range(1, order + 1):
        d = discounts or _discounts(adj[n])
        totals: dict[Gram, float] = defaultdict(float)
        kinds: dict[Gram, list[int]] = defaultdict(lambda: [0, 0, 0])
        for gram, c in adj[n].items():
            if gram == (BOS,):
                continue
            ctx = gram[:-1]
            totals[ctx] += c
            kinds[ctx][min(c, 3) - 1] += 1
        gamma = {
            ctx: (d[0] * k[0] + d[1] * k[1] + d[2] * k[2]) / totals[ctx]
            for ctx, k in kinds.items()
        }
        level: dict[Gram, float] = {}
        if n == 1:
            vocab = sorted({g for g in adj[1] if g != (BOS,)})
            uniform = 1.0 / len(vocab)
            level[(BOS,)] = 0.0
            for gram in vocab:
                c = adj[1][gram]
                level[gram] = (c - d[min(c, 3) - 1]) / totals[()] + gamma[()] * uniform
        else:
            for gram, c in adj[n].items():
                ctx = gram[:-1]
                lower = _interpolated(probs, backoffs, gram[1:])
                level[gram] = (c - d[min(c, 3) - 1]) / totals[ctx] + gamma[ctx] * lower
            backoffs[n - 1] = {ctx: g for ctx, g in gamma.items()}
        probs[n] = level
    backoffs.setdefault(order, {})
    return NGramModel(order=order, probs=probs, backoffs=backoffs)


def _interpolated(
    probs: dict[int, dict[Gram, float]], backoffs: dict[int, dict[Gram, float]], gram: Gram
) -> float:
    """P(gram[-1] | gram[:-1]) from the orders already estimated (explicit or backed off)."""
    p = probs[len(gram)].get(gram)
    if p is not None:
        return p
    return backoffs.get(len(gram) - 1, {}).get(gram[:-1], 1.0) * _interpolated(
        probs, backoffs, gram[1:]
    )

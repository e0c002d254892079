"""Static linear interpolation of a state n-gram model with background unigrams.

``P(w | h) = (1 - b) * P_state(w | h) + b * P_bg(w)`` on the union of the
state's n-grams and the background vocabulary, written back as a backoff model
the way SRILM's ``-mix-lm`` does: explicit entries get the mixed probability and
each context's backoff weight is recomputed so its distribution sums to one.
The background is renormalised over the words kept (the top ``N`` plus the
state's words; a state word the background lacks gets the smallest kept probability).
"""

from __future__ import annotations

from collections.abc import Mapping

from speech.lm.ngram import BOS, Gram, NGramModel

__all__ = ["interpolate"]


def interpolate(
    state: NGramModel, background: Mapping[str, float], weight: float, vocab: list[str]
) -> NGramModel:
    """Mix ``state`` with ``background`` unigram probabilities over ``vocab`` ∪ state words."""
    if not 0.0 <= weight < 1.0:
        raise ValueError("weight must be in [0, 1)")
    words = {w for w in vocab if w != BOS} | {g[0] for g in state.probs[1] if g[0] != BOS}
    kept = {w: background[w] for w in words if w in background}
    floor = min(kept.values(), default=1.0)
    total = sum(kept.get(w, floor) for w in words)
    bg = {w: kept.get(w, floor) / total for w in words}

    probs: dict[int, dict[Gram, float]] = {1: {(BOS,): 0.0}}
    for w in sorted(words):
        probs[1][(w,)] = (1 - weight) * state.prob(w) + weight * bg[w]
    backoffs: dict[int, dict[Gram, float]] = {n: {} for n in range(1, state.order + 1)}
    model = NGramModel(order=state.order, probs=probs, backoffs=backoffs)
    for n in range(2, state.order + 1):
        level: dict[Gram, float] = {}
        for gram in state.probs[n]:
            level[gram] = (1 - weight) * state.prob(gram[-1], gram[:-1]) + weight * bg[gram[-1]]
        by_context: dict[Gram, list[Gram]] = {}
        for gram in level:
            by_context.setdefault(gram[:-1], []).append(gram)
        for ctx, grams in by_context.items():
            seen = sum(level[g] for g in grams)
            lower = sum(model.prob(g[-1], ctx[1:]) for g in grams)
            backoffs[n - 1][ctx] = max(1.0 - seen, 1e-12) / max(1.0 - lower, 1e-12)
        probs[n] = level
    return model

"""Which expected sentence (if any) a recognised text is: a word-level edit-distance matcher.

The dialog engine matches with sentence embeddings, which ``speech/`` cannot
import; this is the small, transparent stand-in used to evaluate recognition
and to let callers check a transcript against a state's sentences. The score of
a candidate is its word error rate against the text (edits / candidate words,
after :func:`speech.lm.normalize`); the best candidate is accepted when that is
at most ``threshold``. 0.34 tolerates one wrong word in three, two in six.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from speech.lm.base import tokenize

__all__ = ["DEFAULT_THRESHOLD", "Match", "edit_distance", "match"]

DEFAULT_THRESHOLD = 0.34


@dataclass(frozen=True)
class Match:
    """The closest candidate, its word error rate, and whether it is accepted."""

    index: int | None
    candidate: str | None
    error_rate: float
    accepted: bool


def edit_distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Levenshtein distance between two word sequences (substitution, insertion, deletion = 1)."""
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[len(hyp)]


def match(text: str, candidates: Sequence[str], threshold: float = DEFAULT_THRESHOLD) -> Match:
    """The candidate with the lowest word error rate against ``text`` (first one on ties)."""
    words = tokenize(text)
    best: tuple[float, int] | None = None
    for i, candidate in enumerate(candidates):
        ref = tokenize(candidate)
        if not ref:
            continue
        rate = edit_distance(ref, words) / len(ref)
        if best is None or rate < best[0]:
            best = (rate, i)
    if best is None:
        return Match(None, None, 1.0, False)
    rate, i = best
    return Match(i, candidates[i], rate, bool(words) and rate <= threshold)

"""Rule scoring from an expectation's ``patterns`` and ``keywords``.

Scores (documented so lesson authors can predict them):

* a pattern matches: 1.0, a confident hit (authors use patterns for answers that
  embeddings handle badly, such as yes/no and negation);
* k keywords present (whole word, case-insensitive): ``0.7 + 0.1 * (k - 1)``,
  at most 0.9. One keyword is enough to pass the default threshold (0.6), more
  keywords rank an expectation above a sibling with fewer; only patterns reach 1.0;
* nothing: 0.0.

Required entities are enforced by ``rank``: a missing one caps the score at
``MISSING_ENTITY_CAP``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dialog.matching.base import Match, normalise, rank
from dialog.matching.entities import extract_entities

if TYPE_CHECKING:
    from dialog.machine import CompiledLesson

__all__ = ["KEYWORD_BASE", "KeywordMatcher", "rule_scores"]

KEYWORD_BASE = 0.7
KEYWORD_STEP = 0.1
KEYWORD_MAX = 0.9


def rule_scores(
    text: str, compiled: CompiledLesson, state_id: str
) -> tuple[dict[str, float], set[str]]:
    """Rule score per expectation of the state, and the ids whose pattern matched."""
    scores: dict[str, float] = {}
    pattern_hits: set[str] = set()
    for exp in compiled.state(state_id).expects:
        if any(p.search(text) for p in compiled.patterns[exp.id]):
            scores[exp.id] = 1.0
            pattern_hits.add(exp.id)
            continue
        hits = sum(1 for k in compiled.keywords[exp.id] if k.search(text))
        scores[exp.id] = (
            min(KEYWORD_MAX, KEYWORD_BASE + KEYWORD_STEP * (hits - 1)) if hits else 0.0
        )
    return scores, pattern_hits


class KeywordMatcher:
    """Patterns and keywords only: no model, microseconds per turn."""

    async def match(self, text: str, compiled: CompiledLesson, state_id: str) -> list[Match]:
        text = normalise(text)
        scores, _ = rule_scores(text, compiled, state_id)
        return rank(scores, compiled, extract_entities(text))

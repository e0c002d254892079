"""The default matcher: rules first, sentence embeddings for everything else.

Per expectation the score is 1.0 on a pattern hit, else ``max(keyword score,
embedding score)``, then required entities are enforced. Latency matters (p95
turn < 50 ms with hundreds of sessions), so when a pattern already gives a
confident hit that satisfies its entities the embedding call is skipped. With
no encoder it degrades to keyword-only, which is what a fresh install without
a model, or a unit test, gets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dialog.matching.base import Match, TextEncoder, normalise, rank
from dialog.matching.embedding import embedding_scores, example_index
from dialog.matching.entities import extract_entities
from dialog.matching.keyword import rule_scores

if TYPE_CHECKING:
    from dialog.machine import CompiledLesson

__all__ = ["HybridMatcher"]


class HybridMatcher:
    """Patterns, keywords and (optionally) embeddings, combined by max."""

    def __init__(self, encoder: TextEncoder | None = None) -> None:
        self.encoder = encoder

    async def warm(self, compiled: CompiledLesson) -> None:
        """Embed the lesson's examples now rather than in its first turn (a 100-example
        lesson's first turn took ~0.3 s longer than the rest, README)."""
        if self.encoder is not None:
            await example_index(compiled, self.encoder)

    async def match(self, text: str, compiled: CompiledLesson, state_id: str) -> list[Match]:
        text = normalise(text)
        entities = extract_entities(text)
        scores, pattern_hits = rule_scores(text, compiled, state_id)
        confident = any(
            all(kind in entities for kind in compiled.expectations[e].entities)
            for e in pattern_hits
        )
        if self.encoder is not None and not confident:
            semantic = await embedding_scores(text, compiled, state_id, self.encoder)
            for exp_id, score in semantic.items():
                if exp_id not in pattern_hits:
                    scores[exp_id] = max(scores[exp_id], score)
        return rank(scores, compiled, entities)

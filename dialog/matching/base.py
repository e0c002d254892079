"""The small interface between the dialog engine and whatever scores a turn.

The engine only needs "which expectation of this state did the learner mean,
and how sure are we"; today keyword rules and sentence embeddings answer it,
later the NLU package's trained models will, behind the same ``Matcher``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from dialog.machine import CompiledLesson

__all__ = [
    "DEFAULT_THRESHOLD",
    "MISSING_ENTITY_CAP",
    "Match",
    "Matcher",
    "TextEncoder",
    "normalise",
    "rank",
]

# Calibrated on the built-in lessons (tests/dialog/test_matching_stats.py): unseen
# correct paraphrases score above it, off-topic utterances below it, at high rates.
DEFAULT_THRESHOLD = 0.6
# A candidate missing a required entity is capped here, below any sensible threshold.
MISSING_ENTITY_CAP = 0.3


@dataclass(slots=True)
class Match:
    expectation_id: str
    score: float
    entities: dict[str, list[str]] = field(default_factory=dict)


@runtime_checkable
class Matcher(Protocol):
    async def match(self, text: str, compiled: CompiledLesson, state_id: str) -> list[Match]:
        """One ``Match`` per expectation of the state, best first."""
        ...


@runtime_checkable
class TextEncoder(Protocol):
    async def embed(self, texts: list[str]) -> np.ndarray:
        """One L2-normalised float32 row per text."""
        ...


def normalise(text: str) -> str:
    """Collapse whitespace and straighten quotes, so ASR and typed text match alike."""
    return " ".join(text.replace("\u2019", "'").replace("\u2018", "'").split())


def rank(
    scores: dict[str, float],
    compiled: CompiledLesson,
    entities: dict[str, list[str]],
) -> list[Match]:
    """Apply required-entity caps and sort best first (ties keep the lesson's order)."""
    out = []
    for exp_id, score in scores.items():
        required = compiled.expectations[exp_id].entities
        if any(kind not in entities for kind in required):
            score = min(score, MISSING_ENTITY_CAP)
        out.append(Match(exp_id, float(score), entities))
    out.sort(key=lambda m: -m.score)
    return out

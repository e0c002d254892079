"""Turn evaluation: which expectation of the current state did the learner mean?"""

from dialog.matching.base import (
    DEFAULT_THRESHOLD,
    MISSING_ENTITY_CAP,
    Match,
    Matcher,
    TextEncoder,
)
from dialog.matching.embedding import EmbeddingMatcher
from dialog.matching.entities import ENTITY_TYPES, extract_entities
from dialog.matching.hybrid import HybridMatcher
from dialog.matching.keyword import KeywordMatcher

__all__ = [
    "DEFAULT_THRESHOLD",
    "ENTITY_TYPES",
    "MISSING_ENTITY_CAP",
    "EmbeddingMatcher",
    "HybridMatcher",
    "KeywordMatcher",
    "Match",
    "Matcher",
    "TextEncoder",
    "extract_entities",
]

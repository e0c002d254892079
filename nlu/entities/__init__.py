"""Entity extraction: built-in types plus a tenant's gazetteers and patterns.

``extract_entities(text)`` is what a chat turn calls; the classes are there for
callers that keep compiled extractors (a classifier version holds its own
:class:`GazetteerExtractor` and :class:`PatternExtractor`, built once when the
version is trained, so a bad pattern fails training and not a turn).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache, lru_cache

from nlu.entities.base import TYPE_PRIORITY, Entity, Extractor, merge
from nlu.entities.builtin import BUILTIN_TYPES, BuiltinExtractor
from nlu.entities.custom import GazetteerExtractor, PatternExtractor

__all__ = [
    "BUILTIN_TYPES", "TYPE_PRIORITY", "BuiltinExtractor", "Entity", "Extractor",
    "GazetteerExtractor", "PatternExtractor", "extract_entities", "merge",
]



@cache
def _builtin() -> BuiltinExtractor:
    """The shared built-in extractor, built on first use so ``import nlu.entities`` stays cheap."""
    return BuiltinExtractor()


Gazetteers = Mapping[str, Sequence[str]] | GazetteerExtractor
Patterns = Mapping[str, str] | PatternExtractor


@lru_cache(maxsize=64)
def _gazetteer(frozen: tuple[tuple[str, tuple[str, ...]], ...]) -> GazetteerExtractor:
    return GazetteerExtractor({kind: list(items) for kind, items in frozen})


@lru_cache(maxsize=64)
def _patterns(frozen: tuple[tuple[str, str], ...]) -> PatternExtractor:
    return PatternExtractor(dict(frozen))


def _custom(gazetteers: Gazetteers | None, patterns: Patterns | None) -> list[Extractor]:
    extractors: list[Extractor] = []
    if isinstance(gazetteers, GazetteerExtractor):
        extractors.append(gazetteers)
    elif gazetteers:
        extractors.append(_gazetteer(tuple((k, tuple(v)) for k, v in gazetteers.items())))
    if isinstance(patterns, PatternExtractor):
        extractors.append(patterns)
    elif patterns:
        extractors.append(_patterns(tuple(patterns.items())))
    return extractors


def extract_entities(text: str, gazetteers: Gazetteers | None = None,
                     patterns: Patterns | None = None) -> list[Entity]:
    """Built-in and custom entities of ``text``, non-overlapping, sorted by start.

    Custom entities win any overlap with built-in ones whatever their length
    (a tenant who lists "May Day" as a holiday means it, not the date); among
    themselves, and among built-in ones, :func:`merge` decides. Plain dicts are
    compiled once and cached; a bad one raises ``nlu.errors.BadTrainingData``.
    """
    custom = merge(e for x in _custom(gazetteers, patterns) for e in x.extract(text))
    builtin = _builtin().extract(text)
    if custom:
        builtin = [b for b in builtin
                   if all(b.end <= c.start or b.start >= c.end for c in custom)]
    return sorted(custom + builtin, key=lambda e: (e.start, e.end))

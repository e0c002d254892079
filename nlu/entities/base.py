"""The entity interface: a span of the original text with a type and a normalised value.

Offsets are Python ``str`` indices into the text the extractor was given, never
into a lower-cased or normalised copy: ``text[e.start:e.end] == e.text`` always
holds, so a client can highlight the mention in what the learner typed (Unicode
included: lower-casing can change a string's length, so no extractor matches on
``text.lower()``).

Extractors may propose overlapping spans ("twenty pounds" is a number inside an
amount of money); :func:`merge` keeps one reading per stretch of text.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["TYPE_PRIORITY", "Entity", "Extractor", "merge"]

#: Tie-break between overlapping spans of equal length: earlier wins. The more
#: specific reading goes first ("five hundred and thirty" after "at" is a time
#: before it is a number). Types not listed (custom ones) come after, by name.
TYPE_PRIORITY: tuple[str, ...] = (
    "money", "duration", "date", "time", "country", "nationality", "number",
)
_RANK = {kind: i for i, kind in enumerate(TYPE_PRIORITY)}


@dataclass(frozen=True, slots=True)
class Entity:
    """One mention: ``type`` ("money"), ``text`` as written, ``[start, end)`` offsets.

    ``value`` is the normalised reading (25, {"amount": 20.0, "currency": "GBP"},
    "07:00", "FR"...); ``source`` tells a built-in extractor from a tenant's
    ``gazetteer`` or ``pattern`` so a client can tell them apart.
    """

    type: str
    text: str
    start: int
    end: int
    value: Any = None
    source: str = "builtin"

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape the APIs return (dicts in ``value`` are copied, not shared)."""
        value = dict(self.value) if isinstance(self.value, dict) else self.value
        return {"type": self.type, "text": self.text, "start": self.start, "end": self.end,
                "value": value, "source": self.source}


class Extractor(ABC):
    """Anything that finds entities in one text; stateless per call, so thread-safe."""

    @abstractmethod
    def extract(self, text: str) -> list[Entity]:
        """All mentions found, possibly overlapping (callers :func:`merge` them)."""


def _key(entity: Entity) -> tuple[int, int, str, int]:
    length = entity.end - entity.start
    return (-length, _RANK.get(entity.type, len(_RANK)), entity.type, entity.start)


def merge(entities: Iterable[Entity]) -> list[Entity]:
    """Non-overlapping entities sorted by start: a longer span wins over any span it
    overlaps, then :data:`TYPE_PRIORITY`, then the earlier start.

    Greedy in that order, which is what a reader expects: "two weeks" (duration)
    hides "two" (number), and "May 3rd" (date) hides "3rd".
    """
    kept: list[Entity] = []
    for entity in sorted(entities, key=_key):
        if entity.end <= entity.start:
            continue
        if all(entity.end <= k.start or entity.start >= k.end for k in kept):
            kept.append(entity)
    kept.sort(key=lambda e: (e.start, e.end))
    return kept

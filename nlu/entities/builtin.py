"""The built-in extractor: numbers, durations, dates, times, money, countries, nationalities.

Rules, not a model: they run on every chat turn (tens of microseconds a
sentence), need no training data, and their values are normalised the same way
for every tenant. Each type lives in its own private module; this class runs
them and :func:`~nlu.entities.base.merge`\\ s the candidates, so "two weeks" is
one duration and not also the number two.

=============  ===============================================================
type           value
=============  ===============================================================
number         ``int`` or ``float``: "twenty five" -> 25, "3.5" -> 3.5, "a dozen" -> 12
duration       ``{"amount": 2.0, "unit": "week"}``; units second, minute, hour,
               day, night, week, month, year ("a fortnight" -> 2 weeks)
date           ISO "2025-05-03" when absolute, else ``{"relative": "tomorrow"}``,
               ``{"weekday": "friday", "relative": "next"}``, ``{"month": 5, "day": 3}``
time           "HH:MM", 24-hour ("half past six" -> "06:30", "7 pm" -> "19:00")
money          ``{"amount": 20.0, "currency": "GBP"}`` (ISO 4217)
country        ISO 3166 alpha-2 ("the UK" -> "GB")
nationality    the country's alpha-2 ("French" -> "FR")
=============  ===============================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from nlu.entities._dates import find_dates
from nlu.entities._durations import find_durations
from nlu.entities._geo import find_places, warm
from nlu.entities._money import find_money
from nlu.entities._numbers import NUMBER_FIRST, NUMBER_RE, is_pronoun_one, parse_number
from nlu.entities._phrases import scan
from nlu.entities._times import find_times
from nlu.entities.base import Entity, Extractor, merge

__all__ = ["BUILTIN_TYPES", "BuiltinExtractor"]

BUILTIN_TYPES: tuple[str, ...] = (
    "number", "duration", "date", "time", "money", "country", "nationality",
)


def find_numbers(text: str) -> list[Entity]:
    """Cardinals in digits or words, except "one" used as a pronoun ("this one")."""
    found: list[Entity] = []
    for m in scan(NUMBER_RE, text, NUMBER_FIRST):
        if is_pronoun_one(text, m.start(), m.end()):
            continue
        value = parse_number(m.group())
        if value is not None:
            found.append(Entity("number", m.group(), m.start(), m.end(), value))
    return found


_FINDERS: dict[str, Callable[[str], list[Entity]]] = {
    "number": find_numbers, "duration": find_durations, "date": find_dates,
    "time": find_times, "money": find_money, "place": find_places,
}


class BuiltinExtractor(Extractor):
    """Finds the built-in types; ``types`` restricts it ("money" only for a shop lesson).

    Restricting changes what competes in the merge: with ``types=("number",)``
    "two weeks" yields the number two, which the full extractor hides behind
    the duration.
    """

    def __init__(self, types: Iterable[str] | None = None) -> None:
        wanted = tuple(BUILTIN_TYPES if types is None else types)
        unknown = sorted(set(wanted) - set(BUILTIN_TYPES))
        if unknown:
            raise ValueError(f"unknown built-in entity types {unknown}; known: {BUILTIN_TYPES}")
        self.types = frozenset(wanted)
        places = {"country", "nationality"} & self.types
        self._finders = [f for kind, f in _FINDERS.items()
                         if kind in self.types or (kind == "place" and places)]
        if places:
            warm()  # at construction (replica start-up), not on a learner's first turn

    def extract(self, text: str) -> list[Entity]:
        """Merged, non-overlapping entities of the selected types, by start offset."""
        candidates: list[Entity] = []
        for finder in self._finders:
            candidates.extend(finder(text))
        return merge(e for e in candidates if e.type in self.types)

"""A tenant's own entities: phrase lists (gazetteers) and regular expressions.

Both come from training data a tenant uploads, so both are validated when the
classifier is built and raise :class:`~nlu.errors.BadTrainingData` (a 422 with
a message saying which entry is wrong), never later on a chat turn.

Tenant regexes are untrusted code: ``(a|aa)+$`` backtracks for minutes on forty
characters. They run on the ``regex`` package, whose ``timeout=`` stops a
search mid-way; a pattern that times out on a text yields no match for that
text (the turn goes on; the other patterns still count) instead of pinning a
worker. All patterns together share a budget per text, and each still gets a
2 ms slice once it is spent: fifty slow patterns cost a turn about 0.25 s, not
fifty timeouts, and one slow pattern does not starve the others. Patterns are
compiled as written (Python ``re`` syntax): add ``(?i)`` for case-insensitivity.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import regex

from nlu.entities._phrases import PhraseIndex, phrase_key, tokenize
from nlu.entities.base import Entity, Extractor
from nlu.errors import BadTrainingData

__all__ = ["GazetteerExtractor", "PatternExtractor"]

MAX_PATTERNS = 50
MAX_PATTERN_CHARS = 500
MAX_PHRASES = 50_000
MAX_PHRASE_CHARS = 200
MAX_ITEM_CHARS = 2_000  # a canonical phrase with its synonyms
#: seconds one pattern may search one text before it is given up on
DEFAULT_TIMEOUT = 0.05
#: seconds all of a tenant's patterns together may spend on one text
DEFAULT_BUDGET = 0.1
#: seconds every pattern gets even when the budget is spent (a sane one needs microseconds)
MIN_SLICE = 0.002
# texts an empty-matching pattern betrays itself on ("x*" matches "" everywhere)
_PROBES = ("", "a", " ", "0", "hello world 42.", "\n")


def _check_type(kind: object, what: str) -> str:
    if not isinstance(kind, str) or not kind.strip() or len(kind) > 64:
        raise BadTrainingData(f"{what} entity type must be a non-empty string of at most "
                              f"64 characters, got {kind!r}")
    return kind


class GazetteerExtractor(Extractor):
    """Phrases by entity type; each item is ``"canonical"`` or ``"canonical|syn1|syn2"``.

    Matching is case-insensitive on word boundaries, longest phrase first, and
    the value is the canonical phrase as written ("NYC" -> "New York City" with
    ``{"city": ["New York City|NYC|the big apple"]}``). A phrase listed under two
    types is refused: which one a mention is would depend on dict order.
    """

    source = "gazetteer"

    def __init__(self, entries: Mapping[str, Sequence[str]]) -> None:
        if not isinstance(entries, Mapping):
            raise BadTrainingData("gazetteers must map an entity type to a list of phrases")
        self._index: PhraseIndex[tuple[str, str]] = PhraseIndex()
        owner: dict[tuple[str, ...], str] = {}
        count = 0
        for kind, items in entries.items():
            _check_type(kind, "gazetteer")
            if isinstance(items, str) or not isinstance(items, Sequence):
                raise BadTrainingData(f"gazetteer {kind!r} must be a list of phrases")
            for item in items:
                if not isinstance(item, str) or len(item) > MAX_ITEM_CHARS:
                    raise BadTrainingData(f"gazetteer {kind!r}: {item!r} is not a phrase")
                names = [n.strip() for n in item.split("|")]
                canonical = names[0]
                for name in names:
                    key = phrase_key(name)
                    if not key or len(name) > MAX_PHRASE_CHARS:
                        raise BadTrainingData(
                            f"gazetteer {kind!r}: {name!r} in {item!r} must have a word and at "
                            f"most {MAX_PHRASE_CHARS} characters")
                    if owner.get(key, kind) != kind:
                        raise BadTrainingData(
                            f"gazetteer phrase {name!r} is listed under both {owner[key]!r} "
                            f"and {kind!r}")
                    owner[key] = kind
                    self._index.add(name, (kind, canonical), replace=False)
                    count += 1
                    if count > MAX_PHRASES:
                        raise BadTrainingData(f"gazetteers hold more than {MAX_PHRASES} phrases")
        self.types = frozenset(entries)

    def extract(self, text: str) -> list[Entity]:
        tokens = tokenize(text)
        found: list[Entity] = []
        for i, j, (kind, canonical) in self._index.find(tokens):
            start, end = tokens[i].start, tokens[j - 1].end
            found.append(Entity(kind, text[start:end], start, end, canonical, self.source))
        return found


class PatternExtractor(Extractor):
    """Regular expressions by entity type (``{"booking_ref": r"\\b[A-Z]{2}\\d{4}\\b"}``).

    The value is the whole match, or the group named ``value`` when the pattern
    has one (``r"room (?P<value>\\d+)"`` -> "12" for "room 12"). A pattern that
    can match the empty string is refused: it would "find" an entity everywhere.
    """

    source = "pattern"

    def __init__(self, patterns: Mapping[str, str], timeout: float = DEFAULT_TIMEOUT,
                 budget: float = DEFAULT_BUDGET) -> None:
        if not isinstance(patterns, Mapping):
            raise BadTrainingData("patterns must map an entity type to one regular expression")
        if len(patterns) > MAX_PATTERNS:
            raise BadTrainingData(f"{len(patterns)} patterns given; at most {MAX_PATTERNS}")
        self.timeout, self.budget = timeout, budget
        self._patterns: list[tuple[str, regex.Pattern[str]]] = []
        for kind, source in patterns.items():
            _check_type(kind, "pattern")
            self._patterns.append((kind, self._compile(kind, source)))
        self.types = frozenset(patterns)
        #: how many searches gave up on the timeout (for metrics; not thread-exact)
        self.timeouts = 0

    def _compile(self, kind: str, source: object) -> regex.Pattern[str]:
        if not isinstance(source, str) or not source:
            raise BadTrainingData(f"pattern {kind!r} must be a non-empty string")
        if len(source) > MAX_PATTERN_CHARS:
            raise BadTrainingData(f"pattern {kind!r} has {len(source)} characters; "
                                  f"at most {MAX_PATTERN_CHARS}")
        try:
            compiled = regex.compile(source)
        except (regex.error, ValueError, OverflowError, RecursionError) as exc:
            raise BadTrainingData(f"pattern {kind!r} does not compile: {exc}") from None
        for probe in _PROBES:
            try:
                hit = next((m for m in compiled.finditer(probe, timeout=self.timeout)
                            if m.end() == m.start()), None)
            except TimeoutError:
                raise BadTrainingData(f"pattern {kind!r} is too slow even on {probe!r}") from None
            if hit is not None:
                raise BadTrainingData(f"pattern {kind!r} matches the empty string "
                                      f"(at {hit.start()} in {probe!r}); make it match something")
        return compiled

    def extract(self, text: str) -> list[Entity]:
        found: list[Entity] = []
        deadline = time.monotonic() + self.budget
        for kind, pattern in self._patterns:
            left = min(self.timeout, max(deadline - time.monotonic(), MIN_SLICE))
            try:
                hits = list(pattern.finditer(text, timeout=left))
            except TimeoutError:
                self.timeouts += 1
                continue
            for m in hits:
                if m.end() > m.start():
                    value = m.group("value") if "value" in pattern.groupindex else m.group()
                    found.append(Entity(kind, m.group(), m.start(), m.end(), value, self.source))
        return found

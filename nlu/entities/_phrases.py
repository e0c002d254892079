"""Phrase lookup over word tokens: the gazetteer engine behind countries and tenants' lists.

A regex alternation of hundreds of phrases is tried at every character (Python's
``re`` builds no trie), which costs a millisecond a sentence; tokenising once and
looking token n-grams up in a dict costs microseconds, and only at tokens that
start some phrase. Matching is case-insensitive (``str.casefold`` of each token,
so "STRASSE" finds "Straße"), on word boundaries by construction (a token is a
maximal run of word characters, or one punctuation character), and longest
match first, left to right.

The same token index gates the built-in regexes (:func:`scan`): a rule is only
tried where a token it can start with begins, so a sentence without a month
name never runs the month rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Generic, NamedTuple, TypeVar

__all__ = ["DIGIT", "PhraseIndex", "Token", "mentions", "scan", "tokenize"]

_TOKEN = re.compile(r"\w+|[^\w\s]")
#: the pseudo-token of ``scan``'s ``first`` that stands for any token starting with a digit
DIGIT = "<digit>"
T = TypeVar("T")


class Token(NamedTuple):
    """One token: its case-folded key and its offsets in the original text.

    A named tuple, not a dataclass: a sentence makes twenty of them per turn
    and a tuple is the cheapest object Python builds."""

    key: str
    start: int
    end: int


@lru_cache(maxsize=256)
def _tokenize(text: str) -> tuple[Token, ...]:
    return tuple([Token(m.group().casefold(), m.start(), m.end()) for m in _TOKEN.finditer(text)])


def tokenize(text: str) -> tuple[Token, ...]:
    """Tokens of ``text``; cached, because every extractor of one turn asks for the same."""
    return _tokenize(text)


@lru_cache(maxsize=256)
def _starts(text: str) -> tuple[dict[str, list[int]], frozenset[str]]:
    """Token key -> start offsets, and the set of keys; "<digit>" collects the tokens that
    begin with a digit."""
    starts: dict[str, list[int]] = {}
    for key, start, _ in _tokenize(text):
        starts.setdefault(key, []).append(start)
        if key[0].isdigit():
            starts.setdefault(DIGIT, []).append(start)
    return starts, frozenset(starts)


def mentions(text: str, words: frozenset[str]) -> bool:
    """Whether a token of ``text`` is one of ``words`` (a cheap gate before any regex)."""
    return not words.isdisjoint(_starts(text)[1])


def scan(pattern: re.Pattern[str], text: str, first: frozenset[str],
         needs: frozenset[str] | None = None) -> list[re.Match[str]]:
    """``pattern.finditer(text)``, tried only where a token of ``first`` begins.

    ``first`` must hold every token a match can start with ("<digit>" for any
    number in digits); then the result is the same as ``finditer``'s, at a
    fraction of the cost: a rule that needs a month name is not tried at all on
    a sentence without one, and where it is tried, only at the month. ``needs``:
    tokens of which one must be somewhere in the text ("in May": the rule starts
    at "in", but is not worth trying without a month).
    """
    starts, keys = _starts(text)
    if needs is not None and keys.isdisjoint(needs):
        return []
    common = keys & first  # both sets: CPython walks the smaller one
    if not common:
        return []
    if len(common) == 1:
        positions = starts[next(iter(common))]
    else:
        positions = sorted([p for key in common for p in starts[key]])
    hits: list[re.Match[str]] = []
    end = 0
    for pos in positions:
        if pos >= end and (m := pattern.match(text, pos)) and m.end() > m.start():
            hits.append(m)
            end = m.end()
    return hits


def phrase_key(phrase: str) -> tuple[str, ...]:
    """The lookup key of a phrase: its case-folded tokens ("U. S." and "u.s." agree)."""
    return tuple(t.key for t in tokenize(phrase))


class PhraseIndex(Generic[T]):
    """Phrases (token tuples) to payloads; ``find`` yields greedy longest matches."""

    def __init__(self) -> None:
        self._map: dict[tuple[str, ...], T] = {}
        self._lengths: dict[str, list[int]] = {}  # first token -> phrase lengths, longest first

    def __len__(self) -> int:
        return len(self._map)

    def __contains__(self, phrase: str) -> bool:
        return phrase_key(phrase) in self._map

    def get(self, phrase: str) -> T | None:
        return self._map.get(phrase_key(phrase))

    def add(self, phrase: str, payload: T, *, replace: bool = True) -> bool:
        """Index ``phrase``; returns False (and keeps the old payload) on a clash
        when ``replace`` is False. Phrases without a token are ignored."""
        key = phrase_key(phrase)
        if not key:
            return False
        if key in self._map and not replace:
            return False
        self._map[key] = payload
        lengths = self._lengths.setdefault(key[0], [])
        if len(key) not in lengths:
            lengths.append(len(key))
            lengths.sort(reverse=True)
        return True

    def find(self, tokens: tuple[Token, ...]) -> Iterator[tuple[int, int, T]]:
        """``(first, last + 1, payload)`` token ranges, leftmost-longest, non-overlapping."""
        i, n = 0, len(tokens)
        while i < n:
            lengths = self._lengths.get(tokens[i].key)
            if lengths:
                for length in lengths:
                    if i + length <= n:
                        key = tuple(t.key for t in tokens[i:i + length])
                        if key in self._map:
                            yield i, i + length, self._map[key]
                            i += length
                            break
                else:
                    i += 1
            else:
                i += 1

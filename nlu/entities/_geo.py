"""Countries (ISO 3166 alpha-2 from ``pycountry``'s offline data) and nationalities.

Names come from ``pycountry`` (name, common and official names, accents folded
too: "Curacao" finds CW) plus the aliases of ``_demonyms``; nationalities
("French", "Brits") map to the same codes.

Ambiguity, decided for precision (a false country derails a lesson more than a
missed one):

* words that are common nouns too ("turkey", "china", "chile", "guinea",
  "jersey", "panama", "iceland", "niger", "bermuda", "jamaica") are a
  country when written with a capital not at the start of a sentence ("I fly to
  Turkey"), or after a word that introduces a place ("to", "from", "in", "visit"
  ...): "flying to turkey" is TR, "I love turkey" and "Turkey sandwiches" are not;
* first names ("jordan", "chad", "georgia", "israel") need that place word always;
* "us" is the pronoun unless written "US" / "U.S." or said "the us" (in a text
  written all in capitals, capitals say nothing: "TELL US" is the pronoun);
* nationality words that are other words in lower case ("polish", "pole",
  "swede", "dane", "turk", "finn", "scot") count only capitalised; "English" is
  the language unless it follows a copula and ends the clause ("I'm English.").
"""

from __future__ import annotations

import unicodedata
from functools import cache

from nlu.entities._demonyms import ALIASES, DEMONYMS, INVARIANT
from nlu.entities._phrases import PhraseIndex, Token, tokenize
from nlu.entities.base import Entity

__all__ = ["find_places", "warm"]

_NOUN_LIKE = frozenset(["turkey", "china", "chile", "guinea", "jersey", "panama", "iceland",
                        "niger", "bermuda", "jamaica"])
_NAME_LIKE = frozenset(["jordan", "chad", "georgia", "israel"])
_CAPITAL_ONLY = frozenset(["polish", "pole", "poles", "swede", "swedes", "dane", "danes", "turk",
                           "turks", "finn", "finns", "scot", "scots"])
_PLACE_WORDS = frozenset(["to", "from", "in", "into", "visit", "visiting", "visited", "visits",
                          "across", "around", "through", "toward", "towards", "leave", "leaving",
                          "left", "via", "near"])
_COPULA = frozenset(["am", "m", "is", "s", "are", "re", "was", "were", "be", "been"])
_CLAUSE_END = frozenset([".", ",", "!", "?", ";", ":", "and", "but", "too"])
_SENTENCE_END = frozenset(".!?")


def _fold(name: str) -> str:
    """ASCII-folded spelling ("Côte d'Ivoire" -> "Cote d'Ivoire")."""
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))


def _country_names() -> dict[str, str]:
    import pycountry  # imported on first use: 25 ms, and only this module needs it

    names: dict[str, str] = {}
    for country in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            name = getattr(country, attr, None)
            if not name or ", " in name:
                continue
            name = name.removeprefix("the ")
            parts = [name]
            if "(" in name:  # "Holy See (Vatican City State)"
                head, _, tail = name.partition("(")
                parts = [head.strip(), tail.rstrip(")").strip()]
            for part in parts:
                names.setdefault(part, country.alpha_2)
                names.setdefault(_fold(part), country.alpha_2)
    return names


@cache
def _index() -> PhraseIndex[tuple[str, str | None]]:
    """(type, code) by phrase; built once, on the first sentence."""
    index: PhraseIndex[tuple[str, str | None]] = PhraseIndex()
    for name, code in _country_names().items():
        index.add(name, ("country", code))
    for alias, code in ALIASES.items():
        index.add(alias, ("country", code))
    for word, code in DEMONYMS.items():
        index.add(word, ("nationality", code), replace=False)
        if word.endswith("man"):
            index.add(word[:-3] + "men", ("nationality", code), replace=False)
        elif word not in INVARIANT:
            index.add(word + "s", ("nationality", code), replace=False)
    return index


def _previous_word(tokens: tuple[Token, ...], i: int) -> str:
    while i > 0:
        i -= 1
        if tokens[i].key[0].isalnum():
            return tokens[i].key
    return ""


def _keep(text: str, tokens: tuple[Token, ...], i: int, j: int, kind: str) -> bool:
    first = tokens[i]
    key = " ".join(t.key for t in tokens[i:j])
    capital = text[first.start].isupper() and not text.isupper()  # "I LOVE TURKEY" is no help
    sentence_start = i == 0 or tokens[i - 1].key in _SENTENCE_END
    after_place = _previous_word(tokens, i) in _PLACE_WORDS
    if kind == "country":
        if key == "us":
            return text[first.start:first.end] == "US" and not text.isupper()
        if key in _NAME_LIKE:
            return after_place
        if key in _NOUN_LIKE:
            return after_place or (capital and not sentence_start)
        return True
    if key in _CAPITAL_ONLY:
        return capital
    if key == "english":
        following = tokens[j].key if j < len(tokens) else "."
        return _previous_word(tokens, i) in _COPULA and following in _CLAUSE_END
    return True


def warm() -> None:
    """Build the country index now (about 60 ms) rather than on the first sentence."""
    _index()


def find_places(text: str) -> list[Entity]:
    """Countries and nationalities in ``text`` (already non-overlapping)."""
    tokens = tokenize(text)
    found: list[Entity] = []
    for i, j, (kind, code) in _index().find(tokens):
        if code is None or not _keep(text, tokens, i, j, kind):
            continue
        start, end = tokens[i].start, tokens[j - 1].end
        found.append(Entity(kind, text[start:end], start, end, code))
    return found

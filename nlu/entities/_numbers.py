"""Cardinal numbers, in digits ("1,250", "3.5") or words ("twenty five", "a dozen").

The word grammar only accepts well-formed numbers (a tens word may take one
digit word, "hundred" takes a chunk below one hundred...), so "five thirty" is
two numbers, not 35; whoever needs it as a time (``_temporal``) matches it
first. The regex fragments are shared with the money, duration and date rules.
"""

from __future__ import annotations

import re

from nlu.entities._phrases import DIGIT

__all__ = [
    "DIGITS", "DIGITS_CORE", "NUMBER_FIRST", "NUMBER_RE", "NUMBER_WORDS", "SMALL_NUMBER_WORDS",
    "UNIT_WORDS", "is_pronoun_one", "parse_number",
]

_SMALL = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
          "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
          "eighteen", "nineteen"]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_VALUES: dict[str, int] = {w: i for i, w in enumerate(_SMALL)}
_VALUES.update({w: 20 + 10 * i for i, w in enumerate(_TENS)})
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}

_DIGIT_W = "(?:one|two|three|four|five|six|seven|eight|nine)"
#: one to nineteen (longest alternatives first: "seventeen" before "seven")
UNIT_WORDS = "(?:" + "|".join(sorted(_SMALL[1:], key=len, reverse=True)) + ")"
#: zero to ninety-nine in words
SMALL_NUMBER_WORDS = rf"(?:(?:{'|'.join(_TENS)})(?:[\s-]+{_DIGIT_W}\b)?|{UNIT_WORDS}|zero)\b"
_CHUNK = (rf"(?:(?:{SMALL_NUMBER_WORDS}|an?(?=\s+hundred\b))"
          rf"(?:\s+hundred\b(?:\s+(?:and\s+)?{SMALL_NUMBER_WORDS})?)?)")
_SCALE = r"(?:thousand|million|billion)\b"
_DECIMAL = rf"(?:\s+point(?:\s+(?:{UNIT_WORDS}|zero|oh)\b)+)"
#: a well-formed cardinal in words, from "one" to the billions, with decimals and dozens.
#: Each sub-pattern appears as few times as possible: the money and duration rules embed
#: this one, and Python compiles every copy (import time grows with the pattern's size).
NUMBER_WORDS = (
    rf"(?:half\s+an?\s+dozen\b"
    rf"|(?:{_CHUNK}|an?(?=\s+(?:thousand|million|billion|dozen)\b))"
    rf"(?:\s+dozen\b|{_DECIMAL}|\s+{_SCALE}(?:,?\s+(?:and\s+)?{_CHUNK}(?:\s+{_SCALE})?)*)?)"
)
#: digits with optional thousands commas and decimals; never part of a longer word or number
DIGITS_CORE = r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
DIGITS = rf"{DIGITS_CORE}(?![\w]|[.,]\d)"

NUMBER_RE = re.compile(
    rf"(?<![\w.,$£€¥₹]){DIGITS}(?:\s+{_SCALE})?"
    rf"|\b{NUMBER_WORDS}",
    re.IGNORECASE,
)

#: the tokens a number can start with (see ``_phrases.scan``)
NUMBER_FIRST = frozenset(_VALUES) | {"a", "an", "half", DIGIT}
_SPLIT = re.compile(r"[\s,-]+")
_LEADING_DIGITS = re.compile(r"\d[\d,]*(?:\.\d+)?")


def parse_number(text: str) -> int | float | None:
    """The value of a cardinal as :data:`NUMBER_RE` matches it; None when it is not one.

    Integers stay ``int`` ("twenty five" -> 25); decimals are ``float`` ("3.5").
    """
    text = text.strip().lower()
    digits = _LEADING_DIGITS.match(text)
    if digits:
        value: int | float = float(digits.group().replace(",", "")) if "." in digits.group() \
            else int(digits.group().replace(",", ""))
        for scale in text[digits.end():].split():
            value *= _SCALES.get(scale, 1)
        return value
    words = [w for w in _SPLIT.split(text) if w]
    if words[:3] == ["half", "a", "dozen"] or words[:3] == ["half", "an", "dozen"]:
        return 6
    total, current, decimals, seen, in_decimals = 0, 0, "", False, False
    for word in words:
        if in_decimals:
            digit = "0" if word == "oh" else str(_VALUES.get(word, ""))
            if len(digit) != 1:
                return None
            decimals += digit
        elif word == "point":
            in_decimals = True
        elif word == "and":
            continue
        elif word in ("a", "an"):
            current, seen = 1, True
        elif word in _VALUES:
            current, seen = current + _VALUES[word], True
        elif word == "dozen":
            current, seen = (current or 1) * 12, True
        elif word == "hundred":
            current, seen = (current or 1) * 100, True
        elif word in _SCALES:
            total, current, seen = total + (current or 1) * _SCALES[word], 0, True
        else:
            return None
    if not seen:
        return None
    if decimals:
        return float(f"{total + current}.{decimals}")
    return total + current


_PRONOUN_BEFORE = frozenset(["the", "this", "that", "these", "those", "which", "each", "every",
                             "any", "no", "another", "a", "an", "my", "your", "his", "her", "its",
                             "our", "their", "other", "whichever"])
_PRONOUN_AFTER = re.compile(r"\s*(?:'s\b|another\b)", re.I)
_WORD_BEFORE = re.compile(r"(\w+)\W+(?:(\w+)\W+)?$")


def is_pronoun_one(text: str, start: int, end: int) -> bool:
    """A lone "one" used as a pronoun: "this one", "the red one", "one another", "one's"."""
    if text[start:end].lower() != "one":
        return False
    if _PRONOUN_AFTER.match(text, end):
        return True
    before = _WORD_BEFORE.search(text, max(0, start - 40), start)
    return bool(before) and any((w or "").lower() in _PRONOUN_BEFORE for w in before.groups())

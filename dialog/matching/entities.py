"""A tiny regex entity extractor for the entity types lessons require today.

It only has to answer "did the learner say a duration / number / date / amount
of money?" well enough to gate a transition (``Expectation.entities``); the NLU
issue replaces it with a trained extractor behind the same function.
"""

from __future__ import annotations

import re

__all__ = ["ENTITY_TYPES", "extract_entities"]

ENTITY_TYPES: tuple[str, ...] = ("number", "duration", "date", "money")

_UNITS = (
    "zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    "fifteen|sixteen|seventeen|eighteen|nineteen"
)
_TENS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_DIGIT_WORD = "one|two|three|four|five|six|seven|eight|nine"
_WORD = rf"(?:(?:{_TENS})(?:[\s-](?:{_DIGIT_WORD}))?|{_UNITS}|hundred|thousand)"
_WORDS = rf"{_WORD}(?:[\s-]+(?:and\s+)?{_WORD})*"
_DIGITS = r"\d+(?:[.,]\d+)*"
_QTY = (
    rf"(?:{_DIGITS}|{_WORDS}|a\s+couple\s+of|couple\s+of|a\s+few|few|several|"
    r"a\s+(?:couple|few)|an?)"
)
_UNIT = r"(?:days?|nights?|weeks?|months?|years?|fortnights?|hours?|minutes?)"
_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_MONTH = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november|"
    r"december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)"
)
_MONTH_ALONE = _MONTH.replace("may|", "")  # "may" alone is almost always the verb
_ORD = r"\d{1,2}(?:st|nd|rd|th)?"
_DATE = (
    rf"(?:(?:next|this|last|on)\s+)?{_WEEKDAY}"
    rf"|(?:the\s+)?{_ORD}\s+(?:of\s+)?{_MONTH}(?:\s+\d{{4}})?"
    rf"|{_MONTH}\s+{_ORD}(?:,?\s+\d{{4}})?"
    rf"|(?:in\s+|next\s+|early\s+|late\s+)?{_MONTH_ALONE}(?![a-z])"
    r"|today|tomorrow|tonight|yesterday|the\s+day\s+after\s+tomorrow"
    r"|(?:next|this)\s+(?:week|month|year|weekend)"
    r"|\d{1,2}/\d{1,2}(?:/\d{2,4})?|\d{4}-\d{2}-\d{2}"
    r"|the\s+\d{1,2}(?:st|nd|rd|th)"
)
_CURRENCY = r"(?:dollars?|pounds?|euros?|quid|bucks|pence|cents?|p)"

_PATTERNS: dict[str, re.Pattern[str]] = {
    "number": re.compile(rf"(?<![\w£$€]){_DIGITS}(?!\w)|\b{_WORDS}\b", re.I),
    "duration": re.compile(
        rf"\b{_QTY}(?:\s+and\s+a\s+half)?[\s-]+{_UNIT}\b(?:\s+and\s+a\s+half)?"
        rf"|\bhalf\s+an?\s+{_UNIT}\b|\b(?:the|a\s+long)\s+weekend\b|\bovernight\b"
        rf"|\b(?:until|till|til|to)\s+(?:{_DATE})\b",
        re.I,
    ),
    "date": re.compile(rf"\b(?:{_DATE})\b", re.I),
    "money": re.compile(
        rf"[$£€]\s?{_DIGITS}"
        rf"|\b{_DIGITS}\s*{_CURRENCY}\b"
        rf"|\b(?:{_WORDS}|an?)\s+{_CURRENCY}\b(?:\s+(?:and\s+)?{_WORDS}\b)?",
        re.I,
    ),
}


def extract_entities(text: str) -> dict[str, list[str]]:
    """Entity mentions by type, in order of appearance; types with no mention are absent."""
    found: dict[str, list[str]] = {}
    for kind, pattern in _PATTERNS.items():
        hits = [" ".join(m.group(0).split()) for m in pattern.finditer(text)]
        if hits:
            found[kind] = hits
    return found

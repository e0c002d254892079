"""Durations: an amount and a unit ("two weeks", "a fortnight", "half an hour").

Vague quantities get a conventional amount ("a couple of days" -> 2, "a few" and
"several" -> 3) and ``"approximate": True``. Two parts joined by "and" are one
duration in the smaller unit ("two hours and thirty minutes" -> 150 minutes).
"The next hour" is one hour; "ten years ago" and "a week from now" are dates
(``{"relative": "ago", "amount": 10.0, "unit": "year"}``). A frequency is not a
duration: "once a week", "three times a day" and "per hour" yield nothing, nor
do "a second chance" (a noun follows) and "the twenty second" (an ordinal).
"""

from __future__ import annotations

import re
from typing import Any

from nlu.entities._numbers import DIGITS, NUMBER_FIRST, NUMBER_WORDS, parse_number
from nlu.entities._phrases import mentions, scan
from nlu.entities.base import Entity

__all__ = ["find_durations"]

_UNITS = {
    "second": "second", "sec": "second", "minute": "minute", "min": "minute",
    "hour": "hour", "hr": "hour", "day": "day", "night": "night", "week": "week",
    "fortnight": "fortnight", "month": "month", "year": "year", "yr": "year",
}
_TRIGGERS = frozenset(_UNITS) | {u + "s" for u in _UNITS}
_FIRST = NUMBER_FIRST | {"couple", "few", "several", "quarter"}
_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "night": 86400,
            "week": 604800, "month": 2629800, "year": 31557600}
_VAGUE = {"a couple of": 2.0, "couple of": 2.0, "a couple": 2.0, "a few": 3.0, "few": 3.0,
          "several": 3.0}
_UNIT = r"(?P<unit#>seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|nights?|weeks?|fortnights?" \
        r"|months?|years?|yrs?)\b"
_QTY = (rf"(?P<qty#>{DIGITS}|{NUMBER_WORDS}|a\s+couple(?:\s+of)?|couple\s+of|a\s+few|few"
        r"|several|an?)")
_HALF = r"(?P<half#>\s+and\s+a\s+half)?"


def _part(n: int) -> str:
    """One amount-and-unit; group names end in ``n`` so two parts fit one pattern."""
    pattern = (rf"(?:(?P<lead#>half\s+an?|(?:a\s+)?quarter\s+of\s+an?)\s+{_UNIT}"
               rf"|{_QTY}{_HALF}[\s-]+{_UNIT.replace('unit#', 'unitb#')}"
               rf"{_HALF.replace('half#', 'tail#')})")
    return pattern.replace("#", str(n))


_DURATION = re.compile(rf"\b{_part(1)}(?:,?\s+and\s+{_part(2)})?", re.I)
_FREQUENCY_BEFORE = re.compile(
    r"(?:\b(?:once|twice|thrice|times|per|every|hours|days|nights|weeks|months)\s*)$", re.I)
#: "the next hour", "the last half hour": a window of one unit around now
_WINDOW = re.compile(r"\b(?P<rel>next|last|past|another|coming|following)\s+"
                     r"(?P<half>half\s+(?:an\s+)?)?(?P<unit>hour|minute|second)\b", re.I)
_WINDOW_FIRST = frozenset(["next", "last", "past", "another", "coming", "following"])
#: a duration counted from now is a date: "ten years ago", "one week from now"
_ANCHOR = re.compile(r"\s+(?P<anchor>ago|from\s+(?:now|today))\b", re.I)
_NOUN_AFTER = re.compile(r"\s+[a-z]", re.I)
_NOT_NOUN = re.compile(
    r"\s+(?:and|or|to|for|in|on|at|of|from|please|ago|later|before|after|now|then|"
    r"long|more|left|each|i|you|we|he|she|they|it)\b", re.I)


def _amount(m: re.Match[str], n: int) -> tuple[float, str, bool] | None:
    unit = _UNITS[(m.group(f"unit{n}") or m.group(f"unitb{n}")).lower().rstrip("s")]
    lead = m.group(f"lead{n}")
    approx = False
    if lead is not None:
        amount = 0.5 if lead.lower().startswith("half") else 0.25
    else:
        qty = " ".join(m.group(f"qty{n}").lower().split())
        if qty in ("a", "an"):
            amount = 1.0
        elif qty in _VAGUE:
            amount, approx = _VAGUE[qty], True
        else:
            value = parse_number(qty)
            if value is None:
                return None
            amount = float(value)
        if m.group(f"half{n}") or m.group(f"tail{n}"):
            amount += 0.5
    if unit == "fortnight":
        amount, unit = amount * 2, "week"
    return amount, unit, approx


def _value(m: re.Match[str]) -> dict[str, Any] | None:
    first = _amount(m, 1)
    if first is None:
        return None
    amount, unit, approx = first
    if m.group("unit2") or m.group("unitb2"):
        second = _amount(m, 2)
        if second is None:
            return None
        small = min((unit, second[1]), key=_SECONDS.__getitem__)
        amount = (amount * _SECONDS[unit] + second[0] * _SECONDS[second[1]]) / _SECONDS[small]
        unit, approx = small, approx or second[2]
    value: dict[str, Any] = {"amount": amount, "unit": unit}
    if approx:
        value["approximate"] = True
    return value


def find_durations(text: str) -> list[Entity]:
    """Every duration in ``text``; frequencies ("twice a week") are left out."""
    found: list[Entity] = []
    if not mentions(text, _TRIGGERS):
        return found
    for m in scan(_WINDOW, text, _WINDOW_FIRST):
        value = {"amount": 0.5 if m.group("half") else 1.0, "unit": m.group("unit").lower(),
                 "relative": m.group("rel").lower()}
        found.append(Entity("duration", m.group(), m.start(), m.end(), value))
    for m in scan(_DURATION, text, _FIRST):
        qty = (m.group("qty1") or "").lower()
        if (m.group("unitb1") or "").lower() in ("second", "sec") and qty not in ("a", "an", "one"):
            continue  # "the twenty second" is a date, twenty seconds a duration
        if qty in ("a", "an") and _FREQUENCY_BEFORE.search(text, 0, m.start()):
            continue
        if (qty in ("a", "an") and m.group("unitb1").lower().startswith("sec")
                and _NOUN_AFTER.match(text, m.end()) and not _NOT_NOUN.match(text, m.end())):
            continue
        value = _value(m)
        if value is None:
            continue
        anchor = _ANCHOR.match(text, m.end())
        if anchor:
            relative = " ".join(anchor.group("anchor").lower().split())
            end = anchor.end()
            found.append(Entity("date", text[m.start():end], m.start(), end,
                                {"relative": relative, **value}))
        else:
            found.append(Entity("duration", m.group(), m.start(), m.end(), value))
    return found

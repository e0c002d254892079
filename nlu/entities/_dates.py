"""Dates: absolute ones as ISO strings, the rest as small descriptors.

Values: "May 3rd 2025" -> "2025-05-03" (and "2025-05" for "May 2025"); a date
without a year -> ``{"month": 5, "day": 3}``; a weekday -> ``{"weekday":
"friday"}`` plus ``"relative": "next"`` and ``"recurring": True`` ("fridays");
a relative date -> ``{"relative": "tomorrow"}`` ("tonight", "next week", "the
day after tomorrow"); a bare ordinal -> ``{"day": 3}``; a month -> ``{"month": 5}``.
Numeric dates are read day first (``03/05/2025`` is 3 May) unless only the
month-first reading exists. No calendar arithmetic: the dialog knows "today".

Precision rules: "may" and "march" alone are dates only after a preposition
("in May", "until march"), never "may I" / "we march"; "may" before a number
word must not be "may one" ("may one ask"); a bare ordinal ("the fifth") is a
date only before a break or "of this month", not in "the second one".
"""

from __future__ import annotations

import calendar
import re
from typing import Any

from nlu.entities._numbers import UNIT_WORDS, parse_number
from nlu.entities._phrases import DIGIT, scan
from nlu.entities.base import Entity

__all__ = ["find_dates"]

_ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
             "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
             "seventeenth", "eighteenth", "nineteenth"]
_ORD_VALUE = {w: i + 1 for i, w in enumerate(_ORDINALS)} | {"twentieth": 20, "thirtieth": 30}
_ORD_W = (r"(?:(?:twenty|thirty)[\s-]+(?:" + "|".join(_ORDINALS[:9]) + r")|twentieth|thirtieth|"
          + "|".join(sorted(_ORDINALS, key=len, reverse=True)) + r")\b")
_ORD_D = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)\b"
_DAY_D = r"(?:[12]\d|3[01]|0?[1-9])\b(?![:.]\d)"
_CARD_W = rf"(?:twenty[\s-]+(?:one|two|three|four|five|six|seven|eight|nine)|thirty[\s-]+one" \
          rf"|twenty|thirty|{UNIT_WORDS})\b"
_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december"]
_MONTH = (r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
          r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?")
_YEAR_W = (r"(?:two\s+thousand(?:\s+and)?(?:\s+(?:(?:twenty|thirty)(?:\s+\w+)?|" + UNIT_WORDS
           + r"))?|(?:nineteen|twenty)\s+(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|"
           r"ninety)(?:\s+(?:one|two|three|four|five|six|seven|eight|nine))?|oh\s+\w+|"
           r"ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen))\b")
_YEAR = rf"(?:,?\s+(?P<y>(?:19|20)\d\d\b|{_YEAR_W}))?"
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
# the tokens each rule's matches can start with (see ``_phrases.scan``)
_F_DAY = frozenset([DIGIT, "twenty", "thirty", "twentieth", "thirtieth", *_ORDINALS])
_F_CARD = frozenset(["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                     "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
                     "eighteen", "nineteen"])
_F_MONTH = frozenset(["jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov",
                      "dec", *_MONTHS])
_F_PREP = frozenset(["in", "during", "since", "until", "till", "by", "from", "of", "before",
                     "after", "through", "for", "on"])
_F_REL = frozenset(["next", "this", "last", "coming", "past", "following", "upcoming", "previous",
                    "early", "late", "mid", "every"])
_F_WEEKDAY = _F_REL | set(_WEEKDAYS) | {d + "s" for d in _WEEKDAYS}
_F_RELATIVE = _F_REL | {"the", "today", "tonight", "tomorrow", "tmrw", "yesterday", "current",
                        "todays", "tonights", "tomorrows", "yesterdays"}
_PREP = r"(?:in|during|since|until|till|by|from|of|before|after|through|for|on)"
_BREAK = (r"(?=\s*(?:$|[.,!?;:)]|(?:of\s+(?:this|next|the)\s+month|at|in|on|and|or|to|please|"
          r"next|this|for|from|until|is|i|we|you|okay|ok|so|then|because|if)\b))")
_BREAK_RE = re.compile(_BREAK, re.I)

_RULES: list[tuple[Any, ...]] = [  # kind, pattern, first tokens[, needed tokens]
    ("iso", re.compile(r"\b(?P<y>\d{4})-(?P<m>\d\d)-(?P<d>\d\d)\b"), frozenset([DIGIT])),
    ("numeric", re.compile(r"\b(?P<a>\d{1,2})([/.])(?P<b>\d{1,2})\2(?P<y>\d{4}|\d\d)\b"),
     frozenset([DIGIT])),
    ("day_month", re.compile(
        rf"\b(?P<d>{_ORD_D}|{_ORD_W}|{_DAY_D}|{_CARD_W})(?P<of>\s+of)?\s+{_MONTH}{_YEAR}", re.I),
     _F_DAY | _F_CARD),
    ("month_day", re.compile(
        rf"\b{_MONTH}\s+(?:the\s+)?(?P<d>{_ORD_D}|{_ORD_W}|{_DAY_D}|{_CARD_W}){_YEAR}", re.I),
     _F_MONTH),
    ("month_year", re.compile(rf"\b{_MONTH}\s+(?P<y>(?:19|20)\d\d)\b", re.I), _F_MONTH),
    ("month", re.compile(
        rf"\b(?:(?P<rel>next|last|this|early|late|mid)[\s-]+|(?P<prep>{_PREP})\s+)?"
        rf"(?P<span>(?P<mon>{'|'.join(_MONTHS)}))\b", re.I), _F_REL | _F_PREP | set(_MONTHS),
     frozenset(_MONTHS)),
    ("weekday", re.compile(
        rf"\b(?:(?P<every>every)\s+)?(?:(?P<rel>next|this|last|coming|previous)\s+)?"
        rf"(?P<wd>{'|'.join(_WEEKDAYS)})(?P<pl>s)?\b", re.I), _F_WEEKDAY),
    ("relative", re.compile(
        r"\b(?P<rel>the\s+day\s+(?:after\s+tomorrow|before\s+yesterday)|today|tonight|tomorrow"
        r"|tmrw|yesterday|(?:this\s+)?(?:next|this|last|coming|past|following|upcoming|current)\s+"
        r"(?:week|weekend|month|year|morning|afternoon|evening|night))(?:s\b)?\b", re.I),
     _F_RELATIVE),
    ("recurring", re.compile(r"\b(?P<rel>weekday|weekend)s\b", re.I),
     frozenset(["weekdays", "weekends"])),
    ("year", re.compile(
        rf"\b(?:in|since|until|till|from|before|after|during|year)\s+(?P<span>(?P<y>{_YEAR_W}))"
        rf"{_BREAK}", re.I), _F_PREP | {"year"}, frozenset(["thousand", "nineteen", "twenty"])),
    ("year", re.compile(
        r"\b(?:in|since|until|till|by|from|before|after|during)\s+(?P<span>(?P<y>(?:19|20)\d\d))\b"
        r"(?!\s*(?:am|pm|hours|people|dollars|pounds|euros))", re.I), _F_PREP, frozenset([DIGIT])),
    ("day_of_month", re.compile(
        rf"\b(?:the\s+)?(?P<d>{_ORD_D}|{_ORD_W})\s+of\s+(?P<rel>this|next|last|the)\s+month\b",
        re.I), _F_DAY | {"the"}, frozenset(["month"])),
    ("ordinal", re.compile(
        rf"\b(?:on|for|until|till|by|from|the)\s+(?:the\s+)?(?P<span>(?P<d>{_ORD_D}|{_ORD_W}))"
        rf"{_BREAK}", re.I), _F_PREP | {"the"}, _F_DAY),
]


def _day(raw: str) -> int | None:
    word = " ".join(raw.lower().replace("-", " ").split())
    if word[0].isdigit():
        return int(re.match(r"\d+", word).group())
    if word in _ORD_VALUE:
        return _ORD_VALUE[word]
    head, _, tail = word.partition(" ")
    if tail in _ORD_VALUE:
        return {"twenty": 20, "thirty": 30}[head] + _ORD_VALUE[tail]
    value = parse_number(word)
    return value if isinstance(value, int) else None


def _year(raw: str | None) -> int | None:
    if raw is None:
        return None
    if raw.isdigit():
        return int(raw)
    words = raw.lower().split()
    if words[0] == "two":
        value = parse_number(raw)
    else:
        rest = parse_number(" ".join(w for w in words[1:] if w != "oh"))
        value = None if rest is None else parse_number(words[0]) * 100 + rest
    return value if isinstance(value, int) and 1900 <= value <= 2099 else None


def _month(raw: str) -> int:
    return next(i + 1 for i, name in enumerate(_MONTHS) if name.startswith(raw.lower()[:3]))


def _calendar(year: int | None, month: int, day: int | None) -> str | dict[str, int] | None:
    if day is not None and not 1 <= day <= calendar.monthrange(year or 2000, month)[1]:
        return None
    if year is None:
        return {"month": month} if day is None else {"month": month, "day": day}
    return f"{year:04d}-{month:02d}" if day is None else f"{year:04d}-{month:02d}-{day:02d}"


def _value(kind: str, m: re.Match[str], text: str) -> Any:
    g = m.groupdict()
    if kind == "iso":
        return _calendar(int(g["y"]), int(g["m"]), int(g["d"])) if 1 <= int(g["m"]) <= 12 else None
    if kind == "numeric":
        a, b, y = int(g["a"]), int(g["b"]), int(g["y"])
        y = y + 2000 if y < 100 else y
        day, month = (a, b) if b <= 12 else (b, a)
        return _calendar(y, month, day) if 1 <= month <= 12 else None
    if kind in ("day_month", "month_day"):
        month, year = _month(g["mon"]), _year(g["y"])
        if g["y"] and year is None:
            return None
        word_day = not g["d"][0].isdigit()
        if g["mon"].lower() == "may" and word_day and (
                (kind == "day_month" and not g["of"] and not g["y"]
                 and not _BREAK_RE.match(text, m.end()))
                or (kind == "month_day" and g["d"].lower() == "one")):
            return None
        day = _day(g["d"])
        return None if day is None else _calendar(year, month, day)
    if kind == "month_year":
        return _calendar(int(g["y"]), _month(g["mon"]), None)
    if kind == "month":
        name = g["mon"].lower()
        if name in ("may", "march") and not (g["rel"] or g["prep"]):
            return None
        if text.startswith(("'s", "’s"), m.end()):
            return None  # "June's birthday": a name
        value: dict[str, Any] = {"month": _month(name)}
        if g["rel"] in ("next", "last", "this"):
            value["relative"] = g["rel"].lower()
        return value
    if kind == "weekday":
        value = {"weekday": g["wd"].lower()}
        if g["rel"]:
            value["relative"] = g["rel"].lower()
        if g["pl"] or g["every"]:
            value["recurring"] = True
        return value
    if kind == "relative":
        rel = " ".join(g["rel"].lower().split())
        return {"relative": "tomorrow" if rel == "tmrw" else rel}
    if kind == "recurring":
        return {"relative": g["rel"].lower() + "s", "recurring": True}
    if kind == "year":
        year = _year(g["y"])
        return None if year is None else str(year)
    day = _day(g["d"])
    if not day or day > 31:
        return None
    if kind == "day_of_month" and g["rel"].lower() != "the":
        return {"day": day, "relative": f"{g['rel'].lower()} month"}
    return {"day": day}


def find_dates(text: str) -> list[Entity]:
    """Every date in ``text`` (overlaps between rules are left to ``merge``)."""
    found: list[Entity] = []
    for kind, pattern, *tokens in _RULES:
        for m in scan(pattern, text, *tokens):
            value = _value(kind, m, text)
            if value is None:
                continue
            start, end = m.span("span") if "span" in pattern.groupindex else m.span()
            if kind == "month" and value.get("relative"):
                start = m.start()
            found.append(Entity("date", text[start:end], start, end, value))
    return found

"""Clock times, normalised to 24-hour "HH:MM": "7 am", "19:30", "half past six", "noon".

Precision first: a bare number is a time only after a word that introduces one
("at six", "until ten") and before something that can follow a time (end of
the sentence, "tomorrow", "in the morning", "and"...), so "at ten percent" is not
a time. Without am/pm or a part of day the hour is kept as said ("at six" ->
"06:00"); "in the evening", "at night" and "pm" move it to the afternoon.
The military style of spoken assistants' data ("five hundred and thirty am")
is understood as 05:30.
"""

from __future__ import annotations

import re
from typing import Any

from nlu.entities._numbers import UNIT_WORDS, parse_number
from nlu.entities._phrases import DIGIT, scan
from nlu.entities.base import Entity

__all__ = ["find_times"]

# the tokens each rule's matches can start with (see ``_phrases.scan``)
_HOURS = frozenset(["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                    "eleven", "twelve"])
_MINUTES_FIRST = _HOURS | {DIGIT, "half", "a", "quarter", "thirteen", "fourteen", "fifteen",
                           "sixteen", "seventeen", "eighteen", "nineteen", "twenty"}
_INTRO_WORDS = frozenset(["at", "by", "around", "until", "till", "til", "before", "after", "from",
                          "between", "about", "since"])
_HOUR_W = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\b"
_DIGIT_W = r"(?:one|two|three|four|five|six|seven|eight|nine)\b"
_MIN_W = (rf"(?:oh\s+{_DIGIT_W}|(?:twenty|thirty|forty|fifty)(?:[\s-]+{_DIGIT_W})?\b"
          r"|(?:thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|ten|eleven|twelve)\b)")
_AMPM = r"(?P<ap>[ap])\.?\s?m\b\.?"
_OCLOCK = r"o'?\s?clock\b"
_PART = r"(?:in\s+the\s+(?P<part>morning|afternoon|evening)\b|at\s+(?P<night>night)\b)"
_TAIL = rf"(?:\s*{_AMPM})?(?:\s*{_OCLOCK})?(?:\s*{_PART})?"
#: the same, but at least one of its parts must be there
_MARKED = (r"(?=\s*(?:[ap]\.?\s?m\b|o'?\s?clock|in\s+the\s+(?:morning|afternoon|evening)"
           rf"|at\s+night)){_TAIL}")
_REL_MIN = rf"(?:half|(?:a\s+)?quarter|{UNIT_WORDS}\b|twenty(?:[\s-]+{_DIGIT_W})?\b|\d{{1,2}})"
_FOLLOW = (r"(?=\s*(?:$|[.,!?;:)]|(?:and|or|to|till|until|in|on|at|tomorrow|today|tonight|this|"
           r"next|every|please|sharp|then|for|with|pm|am)\b))")
_INTRO = (r"\b(?P<intro>at|by|around|until|till|til|before|after|from|between|about|since)\s+"
          r"(?:about\s+)?")
#: "divided by four", "subtract four from eight": arithmetic, not a time
_ARITHMETIC = re.compile(
    r"(?:\b(?:divided|multiplied|divisible|\d+|one|two|three|four|five|six|seven|eight|nine|ten|"
    r"eleven|twelve|(?:thir|four|fif|six|seven|eigh|nine)teen|twenty|thirty|forty|fifty|sixty|"
    r"seventy|eighty|ninety|hundred|thousand)\s+|\b(?:divide|multiply|subtract|add)\s+\w+\s+)$",
    re.I)

_RULES: list[tuple[Any, ...]] = [  # kind, pattern, first tokens[, needed tokens]
    ("clock", re.compile(rf"\b(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)\b{_TAIL}", re.I),
     frozenset([DIGIT])),
    ("clock", re.compile(
        rf"\b(?P<h>1[0-2]|0?[1-9])(?:\.(?P<m>[0-5]\d))?(?=\s*(?:[ap]\.?\s?m\b|o'?\s?clock)){_TAIL}",
        re.I), frozenset([DIGIT])),
    ("clock", re.compile(
        rf"\b(?P<h>{_HOUR_W})(?:\s+hundred(?:\s+(?:and\s+)?(?P<hm>{_MIN_W}))?)?"
        rf"(?:[\s-]+(?P<m>{_MIN_W}))?{_MARKED}",
        re.I), _HOURS),
    ("relative", re.compile(
        rf"\b(?P<rel>{_REL_MIN})(?:\s+minutes?)?\s+(?P<dir>past|after)\s+"
        rf"(?P<h>{_HOUR_W}|1[0-2]\b|0?[1-9]\b){_TAIL}", re.I), _MINUTES_FIRST),
    ("relative", re.compile(
        rf"\b(?P<rel>(?:a\s+)?quarter|{_REL_MIN}\s+minutes?)\s+(?P<dir>to|till|before|of)\s+"
        rf"(?P<h>{_HOUR_W}|1[0-2]\b|0?[1-9]\b){_TAIL}", re.I), _MINUTES_FIRST),
    ("relative", re.compile(
        rf"\b(?P<rel>five|ten|twenty(?:[\s-]+five)?)\s+(?P<dir>to|till|before)\s+"
        rf"(?P<h>{_HOUR_W}|1[0-2]\b|0?[1-9]\b)(?:{_MARKED}|(?=\s*(?:$|[.,!?;])))", re.I),
     frozenset(["five", "ten", "twenty"])),
    ("named", re.compile(r"\b(?:twelve\s+)?(?P<named>noon|midday|midnight)\b", re.I),
     frozenset(["twelve", "noon", "midday", "midnight"])),
    ("bare", re.compile(
        rf"{_INTRO}(?P<span>(?P<h>{_HOUR_W}|1[0-2]\b|0?[1-9]\b)"
        rf"(?:\s+hundred(?:\s+(?:and\s+)?(?P<hm>{_MIN_W}))?|[\s-]+(?P<m>{_MIN_W})"
        rf"|:(?P<dm>[0-5]\d)\b)?){_FOLLOW}", re.I), _INTRO_WORDS, _HOURS | {DIGIT}),
]


def _number(text: str | None) -> int | None:
    if not text:
        return None
    words = text.lower().replace("-", " ").split()
    if words and words[0] == "oh":
        words = words[1:]
    value = parse_number(" ".join(words)) if words else None
    return value if isinstance(value, int) else None


def _hhmm(hour: int, minute: int, ampm: str | None, part: str | None) -> str | None:
    if ampm == "p" or part in ("afternoon", "evening", "night"):
        if hour > 12:
            return None if ampm else f"{hour:02d}:{minute:02d}"
        hour = 0 if (hour == 12 and part == "night" and not ampm) else (
            hour if hour == 12 else hour + 12)
    elif ampm == "a" or part == "morning":
        if hour > 12:
            return None
        hour = 0 if hour == 12 else hour
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return f"{hour:02d}:{minute:02d}"


def _value(kind: str, m: re.Match[str]) -> str | None:
    groups = m.groupdict()
    if kind == "named":
        return "00:00" if groups["named"].lower() == "midnight" else "12:00"
    hour = _number(groups.get("h")) if not groups["h"].isdigit() else int(groups["h"])
    if hour is None:
        return None
    ampm = groups["ap"].lower() if groups.get("ap") else None
    part = (groups.get("part") or groups.get("night") or "").lower() or None
    if kind == "relative":
        rel = groups["rel"].lower().split()[-1]
        minutes = {"half": 30, "quarter": 15}.get(rel)
        if minutes is None:
            minutes = int(rel) if rel.isdigit() else _number(groups["rel"].split(" minute")[0])
        if minutes is None or not 0 < minutes < 60 or hour > 12:
            return None
        if groups["dir"].lower() in ("past", "after"):
            return _hhmm(hour, minutes, ampm, part)
        return _hhmm(12 if hour == 1 else hour - 1, 60 - minutes, ampm, part)
    raw_minute = groups.get("dm") or groups.get("m") or groups.get("hm")
    if raw_minute is None:
        minute: int | None = 0
    elif raw_minute.isdigit():
        minute = int(raw_minute)
    else:
        minute = _number(raw_minute)
    if minute is None:
        return None
    return _hhmm(hour, minute, ampm, part)


def find_times(text: str) -> list[Entity]:
    """Every clock time in ``text`` (overlaps between rules are left to ``merge``)."""
    found: list[Entity] = []
    for kind, pattern, *tokens in _RULES:
        for m in scan(pattern, text, *tokens):
            if kind == "bare" and m.group("intro").lower() in ("by", "from") \
                    and _ARITHMETIC.search(text, 0, m.start()):
                continue
            value = _value(kind, m)
            if value is None:
                continue
            start, end = m.span("span") if kind == "bare" else m.span()
            found.append(Entity("time", text[start:end], start, end, value))
    return found


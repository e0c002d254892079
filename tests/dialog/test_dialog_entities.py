"""The regex entity extractor that gates transitions until the NLU models replace it."""

from __future__ import annotations

import pytest

from dialog import extract_entities


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("For two weeks", "duration", ["two weeks"]),
        ("10 days", "duration", ["10 days"]),
        ("a month", "duration", ["a month"]),
        ("maybe three or four days", "duration", ["four days"]),
        ("a couple of weeks", "duration", ["a couple of weeks"]),
        ("a week and a half", "duration", ["a week and a half"]),
        ("until Sunday", "duration", ["until Sunday"]),
        ("I'm here for a fortnight", "duration", ["a fortnight"]),
        ("twenty-five people", "number", ["twenty-five"]),
        ("I have 2 bags and 3 boxes", "number", ["2", "3"]),
        ("$5", "money", ["$5"]),
        ("£4.80 please", "money", ["£4.80"]),
        ("five dollars", "money", ["five dollars"]),
        ("That's four pounds fifty", "money", ["four pounds fifty"]),
        ("on the 15th of May", "date", ["the 15th of May"]),
        ("next Friday", "date", ["next Friday"]),
        ("June 3rd, 2025", "date", ["June 3rd, 2025"]),
    ],
)
def test_extracts(text, kind, expected):
    assert extract_entities(text)[kind] == expected


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("May I see it?", "date"),
        ("for a long time", "duration"),
        ("on holiday", "duration"),
        ("what's the weather this week", "duration"),
        ("someone", "number"),
        ("the pound is strong", "money"),
    ],
)
def test_does_not_invent(text, kind):
    assert kind not in extract_entities(text)


def test_empty_text_has_no_entities():
    assert extract_entities("") == {}

"""The pronunciation hook of lessons, and learner progress from assessments."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dialog import CompiledLesson, DialogEngine, Expectation, KeywordMatcher, Lesson, State
from dialog.lesson import PronunciationCheck
from dialog.progress import merge, phone_totals, trend, weakest


def _lesson(check: PronunciationCheck | None, attempts: int = 3) -> CompiledLesson:
    return CompiledLesson(Lesson(
        id="passport", title="Passport", mission="Show your passport", initial="a",
        states=[
            State(id="a", name="ask", lines=["Your passport, please."], max_attempts=attempts,
                  expects=[Expectation(id="e", target="b", patterns=[r"\bpassport\b"],
                                       pronunciation=check)]),
            State(id="b", name="end", lines=["Thank you."], kind="goal"),
        ]), 1)


def _assessment(passport: float, worst: str = "S") -> dict:
    phones = [{"phone": p, "score": passport if p == worst else 95.0,
               "tip": f"how to say {p}", "label": "wrong" if p == worst else "correct"}
              for p in ("P", "AE", "S", "P", "AO", "R", "T")]
    return {"words": [{"word": "here", "accuracy": 90.0, "label": "correct", "phones": []},
                      {"word": "passport", "accuracy": passport, "label": "wrong",
                       "phones": phones}]}


async def test_a_key_phrase_below_the_minimum_is_asked_again_with_a_tip():
    comp = _lesson(PronunciationCheck(phrase="passport", min_score=60))
    engine = DialogEngine(KeywordMatcher())
    state, _ = engine.start(comp, "s")
    state, result = await engine.turn(comp, state, "here is my passport", _assessment(35.0))
    assert result.outcome == "pronounce" and state.state == "a" and state.attempts == 1
    assert result.bot_lines == ["Let's say \u201cpassport\u201d again. Tip for S: how to say S"]
    state, result = await engine.turn(comp, state, "here is my passport", _assessment(72.0))
    assert result.outcome == "advanced" and state.status == "completed"


async def test_typed_turns_and_lessons_without_a_check_are_not_held():
    engine = DialogEngine(KeywordMatcher())
    comp = _lesson(PronunciationCheck(phrase="passport", min_score=60))
    state, _ = engine.start(comp, "s")
    _, typed = await engine.turn(comp, state, "here is my passport")  # no assessment
    assert typed.outcome == "advanced"
    plain = _lesson(None)
    state, _ = engine.start(plain, "s")
    _, spoken = await engine.turn(plain, state, "here is my passport", _assessment(10.0))
    assert spoken.outcome == "advanced"


async def test_the_lesson_moves_on_after_max_attempts_and_omitted_phrases_fail():
    comp = _lesson(PronunciationCheck(phrase="my passport", min_score=90, line="Once more!"),
                   attempts=2)
    engine = DialogEngine(KeywordMatcher())
    state, _ = engine.start(comp, "s")
    state, result = await engine.turn(comp, state, "passport", _assessment(99.0))
    assert result.outcome == "pronounce"  # "my" was not said: it counts as 0
    assert result.bot_lines[0].startswith("Once more! Tip for")
    state, result = await engine.turn(comp, state, "passport", _assessment(99.0))
    assert result.outcome == "advanced"  # second try of two: never stuck in a state


def test_a_check_is_validated():
    with pytest.raises(ValidationError):
        PronunciationCheck(phrase="", min_score=50)
    with pytest.raises(ValidationError):
        PronunciationCheck(phrase="ok", min_score=120)


def test_progress_sums_phones_ranks_weak_ones_and_fits_trends():
    first = phone_totals(_assessment(20.0))
    assert first["P"] == [2, 190.0, 0] and first["S"] == [1, 20.0, 1]
    omitted = {"words": [{"word": "x", "label": "omitted", "accuracy": 0,
                          "phones": [{"phone": "K", "score": 0, "label": "wrong"}]}]}
    assert phone_totals(omitted) == {}
    stats = merge([first, phone_totals(_assessment(30.0)), {"R": [40, 1600.0, 20]}])
    assert stats["S"].count == 2 and stats["S"].mean_score == 25.0
    assert stats["S"].wrong_rate == 1.0 and stats["R"].count == 42
    # two bad S weigh less than forty-two mediocre R once smoothed towards the mean
    assert weakest(stats, 2) == ["R", "S"] and weakest(stats, 1, prior=0.0) == ["S"]
    assert weakest({}, 3) == []
    assert trend([50, 60, 70]) == 10.0 and trend([80]) == 0.0 and trend([70, 60]) == -10.0

"""Replaying recorded transcripts: unchanged behaviour gives no diffs, a change gives one."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from dialog import replay

RECORDED = Path(__file__).parent / "data" / "immigration_recorded.json"


@pytest.fixture(scope="module")
def recorded() -> list[dict]:
    return json.loads(RECORDED.read_text(encoding="utf-8"))


def test_recording_is_a_complete_conversation(recorded, lessons):
    lesson = lessons["immigration"]
    assert recorded[0]["state_before"] == lesson.initial
    assert recorded[-1]["status"] == "completed"
    assert lesson.state(recorded[-1]["state_after"]).kind == "goal"
    assert {"hint", "advanced"} <= {t["outcome"] for t in recorded}
    for before, after in zip(recorded, recorded[1:], strict=False):
        assert after["state_before"] == before["state_after"]


async def test_recorded_conversation_replays_without_diffs(engine, compiled, recorded):
    assert await replay(engine, compiled["immigration"], recorded) == []


async def test_one_changed_answer_gives_exactly_one_diff(engine, compiled, recorded):
    turns = copy.deepcopy(recorded)
    index = next(i for i, t in enumerate(turns) if t["intent"] == "business")
    turns[index]["text"] = "Purple elephants dance quietly."
    diffs = await replay(engine, compiled["immigration"], turns)
    assert [d.turn for d in diffs] == [index]
    diff = diffs[0]
    assert diff.text == "Purple elephants dance quietly."
    assert diff.recorded["outcome"] == "advanced" and diff.replayed["outcome"] == "hint"
    assert "hint where the recording had advanced" in diff.reason


async def test_a_different_branch_is_a_different_transition(engine, compiled, recorded):
    turns = copy.deepcopy(recorded)
    index = next(i for i, t in enumerate(turns) if t["intent"] == "business")
    turns[index]["text"] = "I'm on holiday."
    diffs = await replay(engine, compiled["immigration"], turns)
    assert len(diffs) == 1 and diffs[0].turn == index
    assert diffs[0].reason.startswith("a different transition")
    assert "expectation_id" in diffs[0].reason and "state_after" in diffs[0].reason


async def test_a_hint_where_there_was_none_and_vice_versa(engine, compiled, recorded):
    turns = copy.deepcopy(recorded)
    miss = next(i for i, t in enumerate(turns) if t["outcome"] == "hint")
    turns[miss]["text"] = "About two weeks."  # the learner now answers at once
    diffs = await replay(engine, compiled["immigration"], turns)
    assert [d.turn for d in diffs][:1] == [miss]
    assert diffs[0].replayed["outcome"] == "advanced"


async def test_empty_transcript(engine, compiled):
    assert await replay(engine, compiled["cafe"], []) == []

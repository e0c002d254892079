"""Lesson schema and graph validation: every issue type is caught and names its state."""

from __future__ import annotations

import pickle
import re

import pytest
from pydantic import ValidationError

from dialog import Expectation, Lesson, LessonInvalid, State, ensure_valid, validate_lesson


def broken(lessons, lesson_id: str = "immigration") -> Lesson:
    return lessons[lesson_id].model_copy(deep=True)


def codes(lesson: Lesson) -> dict[str, set]:
    out: dict[str, set] = {}
    for issue in validate_lesson(lesson):
        out.setdefault(issue.code, set()).add(issue.state)
    return out


def test_builtin_lessons_are_valid(lessons):
    for lesson in lessons.values():
        assert validate_lesson(lesson) == []
        ensure_valid(lesson)


def test_builtin_lessons_are_rich_enough(lessons):
    imm, cafe = lessons["immigration"], lessons["cafe"]
    assert len(imm.states) >= 10 and len(cafe.states) >= 8
    for lesson in lessons.values():
        kinds = {s.kind for s in lesson.states}
        assert "goal" in kinds
        for state in lesson.states:
            assert len(state.lines) >= 2, state.name
            if state.kind == "normal":
                assert state.fallback is not None, f"{lesson.id}/{state.name} can get stuck"
                assert re.search(r"(Try|say): '", state.hint), f"no model answer: {state.name}"
                assert state.rephrase, state.name
            for exp in state.expects:
                assert 6 <= len(exp.examples) <= 12, (state.name, exp.intent)
    assert any(s.kind == "failure" for s in imm.states)


def test_duplicate_state_id_and_name(lessons):
    lesson = broken(lessons)
    lesson.states[2].id = lesson.states[1].id
    lesson.states[3].name = lesson.states[4].name
    found = codes(lesson)
    assert "duplicate_state_id" in found
    assert found["duplicate_state_name"] == {lesson.states[4].name}


def test_duplicate_expectation_id(lessons):
    lesson = broken(lessons)
    purpose = lesson.state_by_name("purpose")
    purpose.expects[1].id = purpose.expects[0].id
    assert codes(lesson)["duplicate_expectation_id"] == {"purpose"}


def test_unknown_initial(lessons):
    lesson = broken(lessons)
    lesson.initial = "nowhere"
    assert "unknown_initial" in codes(lesson)


def test_unknown_target_and_fallback(lessons):
    lesson = broken(lessons)
    lesson.state_by_name("job").expects[0].target = "nowhere"
    lesson.state_by_name("customs").fallback = "nowhere-either"
    assert codes(lesson)["unknown_target"] == {"job", "customs"}


def test_unreachable_state(lessons):
    lesson = broken(lessons)
    lesson.states.append(State(
        id="orphan-id", name="orphan", lines=["Hi"],
        expects=[Expectation(id="x1", target=lesson.initial, keywords=["hi"])],
    ))
    assert codes(lesson)["unreachable"] == {"orphan"}


def test_edges_out_of_terminal_states_do_not_count(lessons):
    lesson = broken(lessons)
    welcome = lesson.state_by_name("welcome")
    welcome.expects = [Expectation(id="x2", target="orphan-id", keywords=["again"])]
    lesson.states.append(State(
        id="orphan-id", name="orphan", lines=["Hi"],
        expects=[Expectation(id="x1", target=lesson.initial, keywords=["hi"])],
    ))
    assert codes(lesson)["unreachable"] == {"orphan"}


def test_dead_end(lessons):
    lesson = broken(lessons)
    lesson.state_by_name("bag_check").expects = []
    assert codes(lesson)["dead_end"] == {"bag_check"}


def test_no_goal(lessons):
    lesson = broken(lessons, "cafe")
    lesson.state_by_name("done").kind = "failure"
    found = codes(lesson)
    assert "no_goal" in found
    assert "goal_unreachable" not in found


def test_goal_unreachable(lessons):
    lesson = broken(lessons, "cafe")
    done, pay = lesson.state_by_name("done").id, lesson.state_by_name("pay")
    lesson.states.append(State(id="end2", name="walked_out", lines=["Bye"], kind="failure"))
    for exp in pay.expects:
        assert exp.target == done
        exp.target = "end2"
    pay.fallback = "end2"
    found = codes(lesson)
    assert "goal_unreachable" in found
    assert found["unreachable"] == {"done"}


def test_bad_pattern_empty_expectation_no_lines_unknown_entity(lessons):
    lesson = broken(lessons)
    purpose = lesson.state_by_name("purpose")
    purpose.expects[0].patterns.append("(unclosed")
    purpose.expects[1].examples, purpose.expects[1].keywords = [], []
    lesson.state_by_name("job").lines = ["   "]
    lesson.state_by_name("stay_length").expects[0].entities = ["duration", "shoe_size"]
    found = codes(lesson)
    assert found["bad_pattern"] == {"purpose"}
    assert found["empty_expectation"] == {"purpose"}
    assert found["no_lines"] == {"job"}
    assert found["unknown_entity"] == {"stay_length"}


def test_ensure_valid_raises_lesson_invalid_naming_states(lessons):
    lesson = broken(lessons)
    lesson.state_by_name("bag_check").expects = []
    lesson.state_by_name("job").expects[0].patterns = ["[a-"]
    with pytest.raises(LessonInvalid) as info:
        ensure_valid(lesson)
    err = info.value
    assert err.status == 422 and err.code == "lesson_invalid"
    assert "bag_check" in err.message and "job" in err.message
    assert {i.code for i in err.issues} == {"dead_end", "bad_pattern"}
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is LessonInvalid
    assert again.issues == err.issues and again.args == err.args


def test_schema_is_strict(lessons):
    data = lessons["cafe"].model_dump()
    data["states"][0]["hints"] = "typo'd field"
    with pytest.raises(ValidationError):
        Lesson.model_validate(data)
    data = lessons["cafe"].model_dump()
    data["states"][0]["max_attempts"] = 0
    with pytest.raises(ValidationError):
        Lesson.model_validate(data)


def test_content_hash_and_state_lookup(lessons):
    lesson = lessons["cafe"]
    copy = Lesson.model_validate_json(lesson.model_dump_json())
    assert copy.content_hash() == lesson.content_hash()
    copy.states[0].lines.append("Hey!")
    assert copy.content_hash() != lesson.content_hash()
    assert lesson.state(lesson.initial).name == "greet"
    with pytest.raises(KeyError):
        lesson.state("missing")

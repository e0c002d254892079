"""The shared transitions machine: correct targets, reused across sessions, never leaking models."""

from __future__ import annotations

import asyncio
import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from dialog import CompiledLesson, InvalidTransition, LessonCache, LessonInvalid


def test_every_expectation_and_fallback_fires_to_its_target(compiled):
    for comp in compiled.values():
        for state in comp.lesson.states:
            for exp in state.expects:
                assert comp.fire(state.id, exp.id) == exp.target
            if state.fallback:
                assert comp.fire(state.id, None) == state.fallback
        assert comp.machine.models == []


def test_trigger_names_are_identifiers(compiled):
    for comp in compiled.values():
        names = list(comp.triggers.values())
        assert all(n.isidentifier() for n in names)
        assert len(set(names)) == len(names)
        assert set(names) <= set(comp.machine.events)


def test_invalid_transitions_raise_and_leave_no_model(compiled):
    comp = compiled["immigration"]
    lesson = comp.lesson
    purpose, job = lesson.state_by_name("purpose"), lesson.state_by_name("job")
    with pytest.raises(InvalidTransition) as info:
        comp.fire(job.id, purpose.expects[0].id)  # expectation of another state
    assert info.value.status == 409
    with pytest.raises(InvalidTransition):
        comp.fire(lesson.state_by_name("welcome").id, None)  # goal has no fallback
    with pytest.raises(InvalidTransition):
        comp.fire("no-such-state", None)
    assert comp.machine.models == []


def test_one_machine_serves_ten_thousand_sessions(lessons):
    comp = CompiledLesson(lessons["immigration"], 7)
    machine = comp.machine
    rng = random.Random(42)
    playable = [s for s in comp.lesson.states if not s.terminal]
    # 10,000 live sessions scattered over the lesson, each taking its next turn.
    sessions = {f"s{i}": rng.choice(playable).id for i in range(10_000)}
    for sid, state in sessions.items():
        node = comp.state(state)
        options = [e.id for e in node.expects] + [None]
        choice = rng.choice(options)
        sessions[sid] = comp.fire(state, choice)
        expected = node.fallback if choice is None else comp.expectations[choice].target
        assert sessions[sid] == expected
        assert len(machine.models) == 0
    assert comp.machine is machine
    assert len(machine.models) == 0


def test_random_walks_always_end(compiled):
    """No cycle without an exit: any mix of answers and misses reaches a goal or failure."""
    rng = random.Random(7)
    for comp in compiled.values():
        ends = set()
        for _ in range(300):
            state = comp.lesson.initial
            for _ in range(40):
                node = comp.state(state)
                if node.terminal:
                    ends.add(node.kind)
                    break
                options = [e.id for e in node.expects] + ([None] if node.fallback else [])
                state = comp.fire(state, rng.choice(options))
            else:
                pytest.fail(f"{comp.lesson.id}: walk did not end")
        assert "goal" in ends
        assert comp.machine.models == []


async def test_many_tasks_and_threads_share_the_machine(compiled):
    comp = compiled["cafe"]
    order = [s for s in comp.lesson.states if s.expects]

    async def walk(i: int) -> int:
        steps = 0
        for state in order:
            exp = state.expects[i % len(state.expects)]
            assert comp.fire(state.id, exp.id) == exp.target
            steps += 1
            await asyncio.sleep(0)  # let the other sessions interleave between turns
        return steps

    assert sum(await asyncio.gather(*(walk(i) for i in range(200)))) == 200 * len(order)

    def fire_many(i: int) -> bool:
        state = order[i % len(order)]
        return all(comp.fire(state.id, e.id) == e.target for e in state.expects)

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(fire_many, range(500)))
    assert comp.machine.models == []


def test_lesson_cache_is_an_lru_keyed_by_version(lessons):
    cache = LessonCache(maxsize=2)
    imm, cafe = lessons["immigration"], lessons["cafe"]
    a = cache.get_or_compile(imm, 1)
    assert cache.get_or_compile(imm, 1) is a
    b = cache.get_or_compile(imm, 2)
    assert b is not a and b.version == 2
    cache.get_or_compile(imm, 1)  # touch v1, so v2 is now least recent
    cache.get_or_compile(cafe, 1)
    assert len(cache) == 2
    assert cache.get("immigration", 2) is None
    assert cache.get("immigration", 1) is a


def test_lesson_cache_refuses_invalid_lessons(lessons):
    cache = LessonCache()
    bad = lessons["cafe"].model_copy(deep=True)
    bad.state_by_name("size").expects = []
    with pytest.raises(LessonInvalid):
        cache.get_or_compile(bad, 1)
    assert len(cache) == 0

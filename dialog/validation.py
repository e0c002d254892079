"""Semantic checks on a lesson graph, beyond what the pydantic schema can say.

A lesson that passes is playable: every state can be reached, every normal state
has a way forward, a goal exists and can be reached, and every pattern compiles.
Issues name the state by its human ``name`` because that is what an author sees
in the editor.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from dataclasses import dataclass

from dialog.errors import LessonInvalid
from dialog.lesson import Lesson
from dialog.matching.entities import ENTITY_TYPES

__all__ = ["ValidationIssue", "ensure_valid", "validate_lesson"]


@dataclass(frozen=True)
class ValidationIssue:
    code: str
    message: str
    state: str | None  # the state's name, None for lesson-wide issues


def validate_lesson(lesson: Lesson) -> list[ValidationIssue]:
    """Every problem found, in a stable order (empty list: the lesson is playable)."""
    issues: list[ValidationIssue] = []
    add = issues.append
    ids = {s.id for s in lesson.states}

    for sid, n in Counter(s.id for s in lesson.states).items():
        if n > 1:
            names = ", ".join(s.name for s in lesson.states if s.id == sid)
            add(ValidationIssue("duplicate_state_id", f"id {sid} is used by {names}", None))
    for name, n in Counter(s.name for s in lesson.states).items():
        if n > 1:
            add(ValidationIssue("duplicate_state_name", f"{n} states are named '{name}'", name))
    exp_ids = Counter(e.id for s in lesson.states for e in s.expects)
    for state in lesson.states:
        for exp in state.expects:
            if exp_ids[exp.id] > 1:
                add(ValidationIssue(
                    "duplicate_expectation_id", f"expectation id {exp.id} is not unique", state.name
                ))
    if lesson.initial not in ids:
        add(ValidationIssue(
            "unknown_initial", f"initial state {lesson.initial} does not exist", None
        ))

    for state in lesson.states:
        issues.extend(_state_issues(state, ids))

    if not any(s.kind == "goal" for s in lesson.states):
        add(ValidationIssue("no_goal", "the lesson has no goal state", None))
    elif lesson.initial in ids:
        reached = _reachable(lesson)
        for state in lesson.states:
            if state.id not in reached:
                add(ValidationIssue(
                    "unreachable", "no path leads here from the initial state", state.name
                ))
        if not any(s.kind == "goal" and s.id in reached for s in lesson.states):
            add(ValidationIssue("goal_unreachable", "no goal state can be reached", None))
    return issues


def ensure_valid(lesson: Lesson) -> None:
    """Raise ``LessonInvalid`` listing every issue, or return quietly."""
    issues = validate_lesson(lesson)
    if issues:
        raise LessonInvalid(issues)


def _state_issues(state, ids: set[str]) -> list[ValidationIssue]:
    out: list[ValidationIssue] = []
    name = state.name
    if not any(line.strip() for line in state.lines):
        out.append(ValidationIssue("no_lines", "the bot has nothing to say here", name))
    if state.kind == "normal" and not state.expects:
        out.append(ValidationIssue(
            "dead_end", "a normal state needs at least one expected answer", name
        ))
    if state.fallback is not None and state.fallback not in ids:
        out.append(ValidationIssue(
            "unknown_target", f"fallback {state.fallback} does not exist", name
        ))
    for exp in state.expects:
        label = exp.intent or exp.id
        if exp.target not in ids:
            out.append(ValidationIssue(
                "unknown_target", f"expectation '{label}' targets unknown state {exp.target}", name
            ))
        if not (exp.examples or exp.keywords or exp.patterns):
            out.append(ValidationIssue(
                "empty_expectation", f"expectation '{label}' has no examples, keywords or patterns",
                name,
            ))
        for pattern in exp.patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                out.append(ValidationIssue(
                    "bad_pattern", f"expectation '{label}': pattern {pattern!r}: {exc}", name
                ))
        for entity in exp.entities:
            if entity not in ENTITY_TYPES:
                out.append(ValidationIssue(
                    "unknown_entity",
                    f"expectation '{label}' requires '{entity}'; known: {', '.join(ENTITY_TYPES)}",
                    name,
                ))
    return out


def _reachable(lesson: Lesson) -> set[str]:
    edges: dict[str, list[str]] = {s.id: [] for s in lesson.states}
    for state in lesson.states:
        if state.terminal:  # entering a goal or failure state ends the session
            continue
        edges[state.id].extend(e.target for e in state.expects)
        if state.fallback:
            edges[state.id].append(state.fallback)
    seen = {lesson.initial}
    queue = deque([lesson.initial])
    while queue:
        for nxt in edges.get(queue.popleft(), ()):
            if nxt in edges and nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen

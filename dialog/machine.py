"""One compiled ``transitions`` machine per lesson version, shared by every session.

Building a ``transitions.Machine`` costs milliseconds and a few hundred objects
per state, so a server with hundreds of live sessions must not build one per
session or per turn. ``CompiledLesson`` builds it once (``model=None``) and
``fire`` borrows it: attach a throw-away model at the session's current state,
trigger, read the new state, detach (about 0.3 ms). Sessions therefore keep
only a state id, which is what the server stores in Redis or the database.

Concurrency: ``fire`` is synchronous and never awaits, so on one asyncio event
loop two tasks cannot interleave inside it; the model list is back to empty
before any other task runs. A ``threading.Lock`` additionally guards the
attach/trigger/detach sequence for callers that use worker threads.
"""

from __future__ import annotations

import hashlib
import re
import threading
import uuid
from collections import OrderedDict
from typing import Any

from transitions import Machine

from dialog.errors import InvalidTransition
from dialog.lesson import Expectation, Lesson, State
from dialog.validation import ensure_valid

__all__ = ["FALLBACK_TRIGGER", "CompiledLesson", "LessonCache", "lesson_cache", "trigger_name"]

FALLBACK_TRIGGER = "fallback"


def trigger_name(expectation_id: str) -> str:
    """A valid Python identifier for an expectation id (ids are client-made UUIDs)."""
    try:
        return "t_" + uuid.UUID(expectation_id).hex
    except ValueError:
        return "t_" + hashlib.sha1(expectation_id.encode("utf-8")).hexdigest()[:24]


def keyword_regex(keyword: str) -> re.Pattern[str]:
    """Whole-word, case-insensitive; spaces inside a keyword match any whitespace."""
    body = r"\s+".join(re.escape(part) for part in keyword.split())
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


class _Cursor:
    """The throw-away model ``transitions`` moves; ``state`` is set by the machine."""

    state: str


class CompiledLesson:
    """A validated lesson with its shared machine and precompiled matching data."""

    def __init__(self, lesson: Lesson, version: int) -> None:
        ensure_valid(lesson)
        self.lesson = lesson
        self.version = version
        self.states: dict[str, State] = {s.id: s for s in lesson.states}
        self.expectations: dict[str, Expectation] = {}
        self.expectation_state: dict[str, str] = {}
        self.triggers: dict[str, str] = {}
        self.patterns: dict[str, list[re.Pattern[str]]] = {}
        self.keywords: dict[str, list[re.Pattern[str]]] = {}
        # Cache slot for matchers: precomputed example embeddings keyed by encoder.
        self.example_embeddings: dict[str, Any] = {}
        self._lock = threading.Lock()

        self.machine = Machine(
            model=None,
            states=[s.id for s in lesson.states],
            initial=lesson.initial,
            auto_transitions=False,
            send_event=False,
        )
        for state in lesson.states:
            if state.fallback is not None:
                self.machine.add_transition(FALLBACK_TRIGGER, state.id, state.fallback)
            for exp in state.expects:
                name = trigger_name(exp.id)
                self.expectations[exp.id] = exp
                self.expectation_state[exp.id] = state.id
                self.triggers[exp.id] = name
                self.machine.add_transition(name, state.id, exp.target)
                self.patterns[exp.id] = [re.compile(p, re.IGNORECASE) for p in exp.patterns]
                self.keywords[exp.id] = [keyword_regex(k) for k in exp.keywords if k.strip()]

    @property
    def lesson_id(self) -> str:
        return self.lesson.id

    def state(self, state_id: str) -> State:
        """The state with this id; ``KeyError`` if there is none."""
        return self.states[state_id]

    def expected_sentences(self, state_id: str) -> list[str]:
        """What a learner is likely to say in a state: its expectations' examples, in order.

        The recogniser builds the state's language model from these (``speech.lm``);
        an unknown state or one with no examples gives ``[]`` (the general model).
        """
        state = self.states.get(state_id)
        if state is None:
            return []
        seen: dict[str, None] = {}
        for exp in state.expects:
            for example in exp.examples:
                seen.setdefault(example.strip(), None)
        return [s for s in seen if s]

    def fire(self, current_state: str, expectation_id: str | None) -> str:
        """The state reached from ``current_state`` by an expectation (``None``: the fallback)."""
        state = self.states.get(current_state)
        if expectation_id is None:
            trigger = FALLBACK_TRIGGER
            ok = state is not None and state.fallback is not None
        else:
            trigger = self.triggers.get(expectation_id, expectation_id)
            ok = self.expectation_state.get(expectation_id) == current_state
        if not ok:
            raise InvalidTransition(current_state, trigger)
        cursor = _Cursor()
        with self._lock:
            self.machine.add_model(cursor, initial=current_state)
            try:
                cursor.trigger(trigger)
                return cursor.state
            finally:
                self.machine.remove_model(cursor)

    def __repr__(self) -> str:
        return f"CompiledLesson({self.lesson.id!r}, version={self.version})"


class LessonCache:
    """LRU of compiled lessons keyed by ``(lesson_id, version)``; versions are immutable."""

    def __init__(self, maxsize: int = 256) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[tuple[str, int], CompiledLesson] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, lesson_id: str, version: int) -> CompiledLesson | None:
        """The compiled lesson if cached (marking it recently used), else ``None``."""
        key = (lesson_id, version)
        with self._lock:
            compiled = self._items.get(key)
            if compiled is not None:
                self._items.move_to_end(key)
            return compiled

    def get_or_compile(self, lesson: Lesson, version: int) -> CompiledLesson:
        """The cached compiled lesson, compiling (and validating) it on first use."""
        compiled = self.get(lesson.id, version)
        if compiled is not None:
            return compiled
        compiled = CompiledLesson(lesson, version)  # outside the lock: may raise LessonInvalid
        with self._lock:
            existing = self._items.get((lesson.id, version))
            if existing is not None:
                return existing
            self._items[(lesson.id, version)] = compiled
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)
        return compiled

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


lesson_cache = LessonCache()

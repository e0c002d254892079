"""The lessons that ship with Parley, read from ``dialog/lessons/*.json``.

They are package data (loaded through ``importlib.resources``) so a fresh
install has something to practise and the tests have real lessons to check.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from dialog.lesson import Lesson

__all__ = ["BUILTIN_LESSON_FILES", "builtin_lesson", "builtin_lessons"]

BUILTIN_LESSON_FILES = ("immigration.json", "cafe.json")


@cache
def _load(name: str) -> Lesson:
    text = resources.files("dialog").joinpath("lessons", name).read_text(encoding="utf-8")
    return Lesson.model_validate_json(text)


def builtin_lessons() -> list[Lesson]:
    """Fresh copies of the built-in lessons (callers may mutate them)."""
    return [_load(name).model_copy(deep=True) for name in BUILTIN_LESSON_FILES]


def builtin_lesson(lesson_id: str) -> Lesson:
    """One built-in lesson by id; ``KeyError`` if there is none."""
    for lesson in builtin_lessons():
        if lesson.id == lesson_id:
            return lesson
    raise KeyError(lesson_id)

"""Role-play lessons and the dialog engine that plays them.

No HTTP, database driver or Ray in here: the server stores ``SessionState``
and lesson documents, this package decides what happens on each turn.
"""

from dialog.builtin import builtin_lesson, builtin_lessons
from dialog.engine import DialogEngine, SessionState, TurnResult, choose_line
from dialog.errors import (
    DialogError,
    EmptyUtterance,
    InvalidTransition,
    LessonInvalid,
    SessionFinished,
    StaleSession,
)
from dialog.lesson import Expectation, Lesson, State
from dialog.machine import CompiledLesson, LessonCache, lesson_cache
from dialog.matching import (
    DEFAULT_THRESHOLD,
    EmbeddingMatcher,
    HybridMatcher,
    KeywordMatcher,
    Match,
    Matcher,
    TextEncoder,
    extract_entities,
)
from dialog.replay import ReplayDiff, replay
from dialog.validation import ValidationIssue, ensure_valid, validate_lesson

__all__ = [
    "DEFAULT_THRESHOLD",
    "CompiledLesson",
    "DialogEngine",
    "DialogError",
    "EmbeddingMatcher",
    "EmptyUtterance",
    "Expectation",
    "HybridMatcher",
    "InvalidTransition",
    "KeywordMatcher",
    "Lesson",
    "LessonCache",
    "LessonInvalid",
    "Match",
    "Matcher",
    "ReplayDiff",
    "SessionFinished",
    "SessionState",
    "StaleSession",
    "State",
    "TextEncoder",
    "TurnResult",
    "ValidationIssue",
    "builtin_lesson",
    "builtin_lessons",
    "choose_line",
    "ensure_valid",
    "extract_entities",
    "lesson_cache",
    "replay",
    "validate_lesson",
]

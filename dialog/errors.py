"""Errors raised by the dialog package.

One root, ``DialogError``, carrying the HTTP ``status`` and a stable ``code``;
``server.errors.problem`` maps any of them to a JSON problem response. The
message is always ``args[0]`` (that is what the server shows). Errors with
structured payloads define ``__reduce__`` so they survive pickling across
processes (Ray, multiprocessing) with their original constructor arguments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dialog.validation import ValidationIssue

__all__ = [
    "DialogError",
    "EmptyUtterance",
    "InvalidTransition",
    "LessonInvalid",
    "SessionFinished",
    "StaleSession",
]


class DialogError(Exception):
    """Root of every error the dialog package raises on purpose."""

    status: int = 400
    code: str = "dialog_error"

    def __init__(self, message: str = "", *args: object) -> None:
        super().__init__(message or self.code, *args)

    @property
    def message(self) -> str:
        return str(self.args[0])


class LessonInvalid(DialogError):
    """The lesson document is well-formed but not a playable conversation."""

    status = 422
    code = "lesson_invalid"

    def __init__(self, issues: list[ValidationIssue]) -> None:
        self.issues = list(issues)
        lines = [
            f"{i.code}" + (f" in state '{i.state}'" if i.state else "") + f": {i.message}"
            for i in self.issues
        ]
        super().__init__(f"lesson has {len(lines)} problem(s): " + "; ".join(lines), self.issues)

    def __reduce__(self):
        return (type(self), (self.issues,))


class SessionFinished(DialogError):
    """A turn arrived for a session that already reached its end."""

    status = 409
    code = "session_finished"

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        super().__init__(f"session {session_id} has finished", session_id)

    def __reduce__(self):
        return (type(self), (self.session_id,))


class EmptyUtterance(DialogError):
    """The learner's turn has no words; it does not count as an attempt."""

    status = 400
    code = "empty_utterance"

    def __init__(self, message: str = "the utterance is empty") -> None:
        super().__init__(message)


class InvalidTransition(DialogError):
    """An expectation was fired from a state it does not belong to (a caller bug or stale state)."""

    status = 409
    code = "invalid_transition"

    def __init__(self, state_id: str, trigger: str) -> None:
        self.state_id = state_id
        self.trigger = trigger
        super().__init__(f"no transition '{trigger}' from state {state_id}", state_id, trigger)

    def __reduce__(self):
        return (type(self), (self.state_id, self.trigger))


class StaleSession(DialogError):
    """The session's state does not belong to the compiled lesson it was played against."""

    status = 409
    code = "stale_session"

    def __init__(self, message: str) -> None:
        super().__init__(message)

"""The one exception root of ``nlu/``: each error carries its HTTP status and code.

Errors pass exactly their constructor arguments to ``Exception.__init__`` so they
cross a Ray boundary by pickling and arrive as the same type with the same fields.
"""

from __future__ import annotations

__all__ = ["BadTrainingData", "NluError", "NoTrainingData", "NotFitted"]


class NluError(Exception):
    """Root of text-understanding errors."""

    status: int = 400
    code: str = "nlu_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NoTrainingData(NluError):
    """Nothing (or not enough) to learn from: no samples, or a single label."""

    status, code = 422, "no_training_data"


class BadTrainingData(NluError):
    """Training data or hyper-parameters that cannot be used as given."""

    status, code = 422, "bad_training_data"


class NotFitted(NluError):
    """The classifier has no trained version to answer with yet."""

    status, code = 409, "not_fitted"

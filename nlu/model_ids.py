"""Model ids (``acme/intents/v3``): the one check, importable without torch.

The web tier validates ids before it calls the model tier, and must not pay
torch's import (half a gigabyte of RSS) to do so.
"""

from __future__ import annotations

import re

__all__ = ["HeadError", "InvalidModelId", "validate_model_id"]

_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_MAX_SEGMENTS = 4


class HeadError(Exception):
    """Root of head artefact errors."""


class InvalidModelId(HeadError, ValueError):
    """A model id that is not ``segment[/segment...]`` of safe characters."""

    def __init__(self, model_id: str) -> None:
        super().__init__(model_id)
        self.model_id = model_id

    def __str__(self) -> str:
        return (f"invalid model id {self.model_id!r}: use 1-{_MAX_SEGMENTS} '/'-separated "
                "segments of letters, digits, '_', '-', '.', each starting with a letter or digit")



def validate_model_id(model_id: str) -> str:
    """Return ``model_id`` if it is a safe relative artefact name, else raise InvalidModelId."""
    if not isinstance(model_id, str):
        raise InvalidModelId(repr(model_id))
    parts = model_id.split("/")
    if not 1 <= len(parts) <= _MAX_SEGMENTS or not all(_SEGMENT.match(p) for p in parts):
        raise InvalidModelId(model_id)
    if any(".." in p for p in parts):
        raise InvalidModelId(model_id)
    return model_id

"""Voice activity detection: a shared model, one cheap stream per session."""

from speech.vad.base import VadEngine, VadStream

__all__ = ["VadEngine", "VadStream"]

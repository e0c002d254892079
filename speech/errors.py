"""The one exception root of ``speech/``; ``server/`` maps them to HTTP/WebSocket errors.

Every error passes its arguments to ``super().__init__`` so it survives pickling
across Ray, and carries the HTTP status and a stable ``code`` for the API.
"""

from __future__ import annotations

__all__ = [
    "AudioTooFast",
    "AudioTooLong",
    "BadAudio",
    "BadReference",
    "NotAligned",
    "SpeechError",
    "SpeechUnavailable",
]


class SpeechError(Exception):
    """Root of every speech error."""

    status = 500
    code = "speech_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class BadAudio(SpeechError):
    """Audio the server cannot use: wrong format, odd frame size, undecodable file."""

    status = 400
    code = "bad_audio"


class NotAligned(BadAudio):
    """The audio cannot hold the reference's phones (far shorter, or something else said)."""

    code = "not_aligned"


class BadReference(SpeechError):
    """A pronunciation reference text that cannot be assessed (empty, too long, no words)."""

    status = 422
    code = "bad_reference"


class AudioTooLong(SpeechError):
    """An utterance (or upload) longer than the configured limit."""

    status = 413
    code = "audio_too_long"


class AudioTooFast(SpeechError):
    """Frames arrive faster than real time beyond the tolerance (a flood)."""

    status = 429
    code = "audio_too_fast"


class SpeechUnavailable(SpeechError):
    """An engine or its model cannot be loaded (missing optional extra, bad model path)."""

    status = 503
    code = "speech_unavailable"

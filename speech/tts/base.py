"""The synthesis interface and the checks every engine applies to a request."""

from __future__ import annotations

import io
import wave
from abc import ABC, abstractmethod

import numpy as np

from speech.errors import SpeechError

__all__ = ["BadSynthesisRequest", "Synthesizer", "UnknownVoice", "pcm16_wav"]

MAX_TEXT_CHARS = 1000
"""A bot line is a sentence or two; the cap keeps one request from holding the engine."""


class BadSynthesisRequest(SpeechError):
    """Text or options a synthesizer cannot use (empty, too long, rate out of range)."""

    status = 400
    code = "bad_tts_request"


class UnknownVoice(BadSynthesisRequest):
    """A voice the engine does not have; the message lists the ones it has."""

    code = "unknown_voice"


def pcm16_wav(samples: np.ndarray, sample_rate: int) -> bytes:
    """int16 mono samples as a RIFF/WAVE file (16-bit PCM, which every browser plays)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(samples.astype("<i2", copy=False).tobytes())
    return out.getvalue()


class Synthesizer(ABC):
    """Text to WAV bytes. Implementations are thread-safe and called off the event loop."""

    name: str
    sample_rate: int
    voices: frozenset[str]
    default_voice: str
    default_rate: int
    min_rate: int
    max_rate: int

    @abstractmethod
    def synthesize(self, text: str, *, voice: str | None = None, rate: int | None = None
                   ) -> bytes:
        """Speak ``text`` with ``voice`` at ``rate`` words per minute; 16-bit PCM WAV."""

    def resolve(self, text: str, voice: str | None, rate: int | None) -> tuple[str, str, int]:
        """Validate a request and fill in defaults: the normal form a cache keys on."""
        if not isinstance(text, str):
            raise BadSynthesisRequest(f"text must be a string, got {type(text).__name__}")
        if len(text) > MAX_TEXT_CHARS:
            raise BadSynthesisRequest(f"text is {len(text)} characters; "
                                      f"the limit is {MAX_TEXT_CHARS}")
        voice = self.default_voice if voice is None else voice
        if not isinstance(voice, str) or not self.has_voice(voice):
            raise UnknownVoice(f"unknown voice {voice!r} for {self.name}; "
                               f"choose from {', '.join(sorted(self.voices))}")
        rate = self.default_rate if rate is None else rate
        if isinstance(rate, bool) or not isinstance(rate, int) or not (
                self.min_rate <= rate <= self.max_rate):
            raise BadSynthesisRequest(f"rate must be {self.min_rate}-{self.max_rate} "
                                      f"words per minute, got {rate!r}")
        text = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
        if not text:
            raise BadSynthesisRequest("nothing to say: the text is empty")
        return text, voice, rate

    def has_voice(self, voice: str) -> bool:
        return voice in self.voices

"""Speech synthesis of the bot's lines: WAV bytes the browser plays as they are."""

from speech.tts.base import BadSynthesisRequest, Synthesizer, UnknownVoice
from speech.tts.cache import CachedSynthesizer

__all__ = ["BadSynthesisRequest", "CachedSynthesizer", "Synthesizer", "UnknownVoice"]

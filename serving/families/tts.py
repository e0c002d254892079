"""Speech synthesis (espeak-ng) for both backends, behind an LRU cache of lines.

Engine errors about the request (unknown voice, empty or overlong text, rate
out of range) become ``BadInput`` with the engine's code, so both backends
raise the same error whatever crossed a process boundary.
"""

from __future__ import annotations

from serving.base import BadInput, ModelUnavailable

__all__ = ["SpeechSynthesisModel"]


class SpeechSynthesisModel:
    family = "tts"

    def __init__(self, cache_bytes: int = 32 * 2**20) -> None:
        self._cache_bytes = cache_bytes
        self._tts = None

    def load(self) -> SpeechSynthesisModel:
        if self._tts is None:
            from speech.errors import SpeechError
            from speech.tts import CachedSynthesizer
            from speech.tts.espeak import EspeakTts

            try:
                self._tts = CachedSynthesizer(EspeakTts(), max_bytes=self._cache_bytes)
            except (SpeechError, OSError) as exc:
                raise ModelUnavailable(self.family, f"{type(exc).__name__}: {exc}") from exc
        return self

    def synthesize(self, text: str, voice: str | None = None, rate: int | None = None) -> bytes:
        from speech.errors import SpeechError

        if not isinstance(text, str) or (voice is not None and not isinstance(voice, str)):
            raise BadInput(self.family, "text and voice must be strings")
        try:
            return self.load()._tts.synthesize(text, voice=voice, rate=rate)
        except SpeechError as exc:
            if 400 <= exc.status < 500:
                raise BadInput(self.family, exc.message, exc.code) from None
            raise

    def stats(self) -> dict[str, int]:
        tts = self._tts
        return {} if tts is None else {"cache_hits": tts.hits, "cache_misses": tts.misses,
                                       "cache_entries": len(tts), "cache_bytes": tts.size_bytes}

"""An LRU cache of synthesized lines: lessons repeat the same bot lines for every learner."""

from __future__ import annotations

import threading
from collections import OrderedDict

from speech.tts.base import Synthesizer

__all__ = ["CachedSynthesizer"]


class CachedSynthesizer(Synthesizer):
    """Wrap a synthesizer with an LRU cache keyed by (text, voice, rate).

    The key is the validated, whitespace-normalised request, so ``"Hi  there"`` and
    ``"Hi there"`` share an entry. Bounded by total WAV bytes (the memory it costs)
    and entry count. Thread-safe; two threads missing the same key at once may both
    synthesize (the engine is fast; a single-flight map would cost more than it saves).
    """

    def __init__(self, inner: Synthesizer, *, max_bytes: int = 32 * 2**20,
                 max_entries: int = 1024) -> None:
        if max_bytes <= 0 or max_entries <= 0:
            raise ValueError("cache bounds must be positive")
        self.inner = inner
        self.name, self.sample_rate = inner.name, inner.sample_rate
        self.voices, self.default_voice = inner.voices, inner.default_voice
        self.default_rate, self.min_rate, self.max_rate = (inner.default_rate, inner.min_rate,
                                                           inner.max_rate)
        self.max_bytes, self.max_entries = max_bytes, max_entries
        self._entries: OrderedDict[tuple[str, str, int], bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def has_voice(self, voice: str) -> bool:
        return self.inner.has_voice(voice)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def synthesize(self, text: str, *, voice: str | None = None, rate: int | None = None
                   ) -> bytes:
        key = self.resolve(text, voice, rate)
        with self._lock:
            wav = self._entries.get(key)
            if wav is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return wav
            self.misses += 1
        wav = self.inner.synthesize(key[0], voice=key[1], rate=key[2])
        if len(wav) > self.max_bytes:
            return wav  # larger than the whole cache: serve it, keep nothing
        with self._lock:
            if key not in self._entries:
                self._entries[key] = wav
                self._bytes += len(wav)
            while self._bytes > self.max_bytes or len(self._entries) > self.max_entries:
                _, old = self._entries.popitem(last=False)
                self._bytes -= len(old)
        return wav

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

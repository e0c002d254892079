"""Speech recognition for both backends: PCM in, a transcript steered by a state LM out.

Requests carry the utterance as 16-bit little-endian mono PCM at 16 kHz (bytes
pickle cheaply across Ray) and the dialog state's expected sentences; the
sentences become a :class:`speech.lm.StateLM`, built once per content hash and
cached, so the first turn in a state pays the build (~50 ms) and later turns
do not. Results are plain dicts so they cross process boundaries unchanged.

Engine errors about the request (bad audio, too long) become ``BadInput`` with
the engine's code and status class, as the ``tts`` family does.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from serving.base import BadInput, ModelUnavailable
from serving.validation import check_pcm

__all__ = ["MAX_SENTENCES", "LiveStream", "SpeechRecognitionModel"]

MAX_SENTENCES = 500  # expected answers of one state; more is a client bug, not a lesson
_MAX_SECONDS = 60.0


class LiveStream:
    """An utterance being decoded as it arrives; lives on the replica that holds it."""

    def __init__(self) -> None:
        self.stream: Any = None
        self.samples = 0


class SpeechRecognitionModel:
    family = "asr"

    def __init__(self, engine: str = "pocketsphinx", options: dict[str, Any] | None = None,
                 max_seconds: float = _MAX_SECONDS) -> None:
        self.engine = engine
        self.options = dict(options or {})
        self.max_seconds = max_seconds
        self._recognizer: Any = None
        self._lock = threading.Lock()
        self.counts = {"final": 0, "partial": 0, "audio_s": 0.0}

    def load(self) -> SpeechRecognitionModel:
        with self._lock:
            if self._recognizer is None:
                from speech.asr import create_recognizer
                from speech.errors import SpeechError
                from speech.lm import StateLM

                try:
                    self._recognizer = create_recognizer(self.engine, **self.options)
                    # load the acoustic model, lexicon and background LM now, not in a turn
                    self._recognizer.recognize(np.zeros(1600, np.int16))
                    self._recognizer.prepare(StateLM.from_sentences(["hello there"]))
                except (SpeechError, OSError, RuntimeError) as exc:
                    raise ModelUnavailable(self.family, f"{type(exc).__name__}: {exc}") from exc
        return self

    def recognize(self, pcm: bytes, sentences: list[str] | None = None,
                  partial: bool = False) -> dict[str, Any]:
        """The final result (``partial=False``) or a quick partial transcript of ``pcm``."""
        from speech.errors import SpeechError

        samples, lm = self._check(pcm, sentences)
        recognizer = self.load()._recognizer
        try:
            if partial:
                self.counts["partial"] += 1
                return {"text": recognizer.partial(samples, lm), "partial": True}
            result = recognizer.recognize(samples, lm)
        except SpeechError as exc:
            if 400 <= exc.status < 500:
                raise BadInput(self.family, exc.message, exc.code) from None
            raise
        self.counts["final"] += 1
        self.counts["audio_s"] += result.audio_seconds
        return _result(result)

    def stream_step(self, live: LiveStream, pcm: bytes, sentences: list[str] | None,
                    offset: int, end: bool) -> dict[str, Any]:
        """Feed the next chunk of an utterance; with ``end``, the final result.

        ``offset`` is how many samples the caller sent before this chunk: when it
        differs from what this replica holds (a restart, an eviction), the answer is
        ``BadInput("stream_lost")`` and the caller recognises the whole utterance
        in one call instead.
        """
        samples, lm = self._check(pcm, sentences)
        if offset != live.samples or (live.stream is None and offset):
            raise BadInput(self.family, f"this replica holds {live.samples} samples of the "
                           f"utterance, not {offset}", "stream_lost")
        recognizer = self.load()._recognizer
        if live.stream is None:
            live.stream = recognizer.start(lm, partials=True)
        live.samples += samples.size
        text = live.stream.feed(samples) if samples.size else None
        if not end:
            return {"text": text or "", "partial": True}
        stream, live.stream = live.stream, None
        result = stream.finish()
        self.counts["final"] += 1
        self.counts["audio_s"] += result.audio_seconds
        return _result(result)

    def prepare(self, sentences: list[str]) -> str:
        """Build a state's model ahead of its first turn (lesson publish); returns its key."""
        _, lm = self._check(b"", sentences)
        assert lm is not None
        self.load()._recognizer.prepare(lm)
        return lm.key

    def _check(self, pcm: Any, sentences: Any) -> tuple[np.ndarray, Any]:
        from speech.lm import StateLM

        samples = check_pcm(self.family, pcm, self.max_seconds)
        lm = None
        if sentences is not None:
            if (not isinstance(sentences, list) or len(sentences) > MAX_SENTENCES
                    or not all(isinstance(s, str) and len(s) <= 500 for s in sentences)):
                raise BadInput(self.family, f"sentences: a list of at most {MAX_SENTENCES} "
                               "strings of at most 500 characters")
            try:
                lm = StateLM.from_sentences(sentences)
            except ValueError:
                lm = None  # nothing speakable expected: recognise with the general model
        return samples, lm

    def stats(self) -> dict[str, Any]:
        """The family's counts and the engine's own (pocketsphinx: open passes run)."""
        engine = getattr(self._recognizer, "counts", None) or {}
        return {"engine": self.engine, **self.counts,
                **{f"engine_{k}": v for k, v in engine.items()}}


def _result(result: Any) -> dict[str, Any]:
    return {
        "text": result.text,
        "confidence": round(result.confidence, 4),
        "path": result.path,
        "expected": result.expected,
        "audio_seconds": result.audio_seconds,
        "words": [{"word": w.word, "start": round(w.start, 3), "end": round(w.end, 3),
                   "confidence": round(w.confidence, 4)} for w in result.words],
        "partial": False,
    }

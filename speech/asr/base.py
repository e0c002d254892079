"""The recogniser interface: streaming sessions and one-shot recognition, steered by a state LM.

Audio is mono 16 kHz, either int16 PCM or float32 in [-1, 1]. A session is
``stream = recognizer.start(lm)``; ``stream.feed(pcm)`` after each chunk (every
~200 ms is fine) returns the text so far or ``None``; ``stream.finish()`` returns
the final :class:`Recognition`. ``recognize(pcm, lm)`` does the same in one call.
``lm`` is a :class:`speech.lm.StateLM` (what a learner is likely to say in the
dialog state) or ``None`` for the general model.

Threading: a ``Recognizer`` may be shared by threads (``start``/``recognize`` are
thread-safe); a stream belongs to one thread at a time (its decoders are not
shared while it is open). The work is synchronous CPU work: callers in async code
run it in a worker thread or a Ray replica.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal

import numpy as np

from speech.errors import BadAudio
from speech.lm.base import StateLM

__all__ = [
    "MIN_UTTERANCE_SAMPLES",
    "SAMPLE_RATE",
    "BufferedStream",
    "Recognition",
    "RecognitionStream",
    "Recognizer",
    "Word",
    "as_pcm16",
    "empty_result",
]

SAMPLE_RATE = 16_000
MIN_UTTERANCE_SAMPLES = SAMPLE_RATE // 10  # shorter audio is no utterance: an empty result

Path_ = Literal["grammar", "open", "general"]


@dataclass(frozen=True)
class Word:
    """One recognised word: times in seconds from the start of the audio, confidence in [0, 1]."""

    word: str
    start: float
    end: float
    confidence: float


@dataclass(frozen=True)
class Recognition:
    """The final result of an utterance.

    ``path`` says which model produced ``text``: ``"grammar"`` (one of the state's
    expected sentences, verified acoustically), ``"open"`` (the state's open
    path: the learner said something else) or ``"general"`` (no state LM).
    ``confidence`` is in [0, 1]; for the grammar path 0.5 is the acceptance
    threshold, so a grammar result always has ``confidence >= 0.5``.
    """

    text: str
    words: tuple[Word, ...]
    confidence: float
    path: Path_
    audio_seconds: float

    @property
    def expected(self) -> bool:
        """Whether the text is one of the state's expected sentences."""
        return self.path == "grammar"


def as_pcm16(pcm: np.ndarray) -> np.ndarray:
    """Validate mono audio and return it as contiguous int16 (float32 is clipped to [-1, 1])."""
    if not isinstance(pcm, np.ndarray):
        raise BadAudio("audio must be a numpy array of int16 or float32 samples")
    if pcm.ndim == 2 and 1 in pcm.shape:
        pcm = pcm.reshape(-1)
    if pcm.ndim != 1:
        raise BadAudio(f"audio must be mono (1-D), got shape {pcm.shape}")
    if pcm.dtype == np.int16:
        return np.ascontiguousarray(pcm)
    if pcm.dtype in (np.float32, np.float64):
        if not np.all(np.isfinite(pcm)):
            raise BadAudio("audio contains NaN or infinite samples")
        scaled = np.clip(pcm, -1.0, 1.0) * 32767.0
        return np.round(scaled).astype(np.int16)
    raise BadAudio(f"audio must be int16 or float32, got {pcm.dtype}")


class RecognitionStream(ABC):
    """One utterance being recognised. Not shared between threads while open."""

    @abstractmethod
    def feed(self, pcm: np.ndarray) -> str | None:
        """Add audio; return the partial text so far (``None`` when there is none yet)."""

    @abstractmethod
    def finish(self) -> Recognition:
        """End the utterance and return the final result (the stream is closed afterwards)."""

    @abstractmethod
    def close(self) -> None:
        """Abandon the utterance and release its decoders (idempotent)."""

    def __enter__(self) -> RecognitionStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def empty_result(lm: StateLM | None, samples: int) -> Recognition:
    """What too little audio is heard as: nothing, on the path the LM would have taken."""
    return Recognition("", (), 0.0, "general" if lm is None else "open", samples / SAMPLE_RATE)


class BufferedStream(RecognitionStream):
    """What every engine's stream keeps: the utterance's audio so far and its state."""

    def __init__(self) -> None:
        self._chunks: list[np.ndarray] = []
        self._samples = 0
        self._partial: str | None = None
        self._closed = False

    def _take(self, pcm: np.ndarray) -> np.ndarray:
        """Validate and keep a chunk (raises once the stream is finished)."""
        self._check_open()
        data = as_pcm16(pcm)
        if len(data):
            self._chunks.append(data)
            self._samples += len(data)
        return data

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("stream is finished")

    def _audio(self) -> np.ndarray:
        """The whole utterance so far as one int16 array."""
        if len(self._chunks) > 1:
            self._chunks = [np.concatenate(self._chunks)]
        return self._chunks[0] if self._chunks else np.zeros(0, np.int16)

    def close(self) -> None:
        self._closed = True
        self._chunks = []


class Recognizer(ABC):
    """A speech recogniser engine. Thread-safe; one decoder per open stream."""

    name: str = "base"

    @abstractmethod
    def start(self, lm: StateLM | None = None, partials: bool = True) -> RecognitionStream:
        """Open a stream; ``partials=False`` skips the incremental search ``feed`` would run."""

    def recognize(self, pcm: np.ndarray, lm: StateLM | None = None) -> Recognition:
        """One-shot recognition of a whole utterance."""
        with self.start(lm, partials=False) as stream:
            stream.feed(pcm)
            return stream.finish()

    def partial(self, pcm: np.ndarray, lm: StateLM | None = None) -> str:
        """A quick transcript of an utterance in progress (stateless: the audio so far).

        What a server with stateless replicas calls every so often while the
        learner speaks; the streaming ``feed`` computes the same incrementally.
        """
        with self.start(lm, partials=True) as stream:
            return stream.feed(pcm) or ""

    def prepare(self, lm: StateLM) -> None:  # noqa: B027 - optional hook
        """Build (or load from the cache) what ``lm`` needs, ahead of the first turn."""

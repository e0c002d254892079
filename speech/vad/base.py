"""The VAD interface: one engine per process, one stream per session.

An engine holds what is expensive and shareable (a loaded model); a stream holds the
few bytes of per-session state (recurrent state, audio context), so a thousand
sessions share one model and the ``Endpointer`` stays cheap.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

__all__ = ["VadEngine", "VadStream"]


class VadStream(ABC):
    """Per-session VAD state; call ``probability`` on consecutive chunks of one stream."""

    chunk_samples: int
    """The native chunk size in samples at 16 kHz; ``probability`` takes exactly this many."""

    @abstractmethod
    def probability(self, chunk: np.ndarray) -> float:
        """Speech probability in [0, 1] of one int16 chunk, in stream order."""

    @abstractmethod
    def reset(self) -> None:
        """Forget the stream's history (a new utterance or a new session)."""


class VadEngine(ABC):
    """A loaded VAD model; thread-safe, shared by every session of a process."""

    name: str
    chunk_samples: int
    sample_rate: int = 16_000

    @abstractmethod
    def stream(self) -> VadStream:
        """A fresh per-session stream over this engine."""

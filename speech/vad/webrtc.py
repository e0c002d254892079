"""WebRTC's VAD (PyPI ``webrtcvad-wheels``): a GMM on band energies, ~5 µs per frame.

A light alternative to Silero when no ONNX Runtime is wanted: no model file, but
it answers speech/non-speech only (probability 0 or 1), fires more on noise and ends
speech less precisely (see shared/FACTS.md). Each stream owns a tiny C ``Vad``
object (the library keeps per-instance state), so the engine itself holds nothing.
"""

from __future__ import annotations

import numpy as np

from speech.errors import SpeechUnavailable
from speech.vad.base import VadEngine, VadStream

__all__ = ["WebRtcVad"]

_CHUNK = 480  # 30 ms, the longest frame the library takes (10/20/30 ms allowed)


class _WebRtcStream(VadStream):
    chunk_samples = _CHUNK

    def __init__(self, vad_cls: type, mode: int) -> None:
        self._cls, self._mode = vad_cls, mode
        self._vad = vad_cls(mode)

    def probability(self, chunk: np.ndarray) -> float:
        if chunk.shape != (_CHUNK,):
            raise ValueError(f"webrtc VAD takes {_CHUNK} samples per chunk, got {chunk.shape}")
        return 1.0 if self._vad.is_speech(chunk.astype("<i2").tobytes(), 16_000) else 0.0

    def reset(self) -> None:
        self._vad = self._cls(self._mode)


class WebRtcVad(VadEngine):
    """``mode`` 0-3: higher refuses more non-speech (3 suits noisy rooms and laptops)."""

    name = "webrtc"
    chunk_samples = _CHUNK

    def __init__(self, *, mode: int = 3) -> None:
        if mode not in (0, 1, 2, 3):
            raise ValueError(f"webrtc VAD mode must be 0-3, got {mode}")
        try:
            import webrtcvad
        except ImportError as exc:
            raise SpeechUnavailable("webrtc VAD needs 'webrtcvad-wheels': "
                                    "pip install webrtcvad-wheels") from exc
        self._cls, self.mode = webrtcvad.Vad, mode

    def stream(self) -> VadStream:
        return _WebRtcStream(self._cls, self.mode)

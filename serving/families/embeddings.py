"""Sentence embeddings (all-MiniLM-L6-v2) for both backends."""

from __future__ import annotations

import numpy as np

from nlu.embeddings import SentenceEncoder
from serving.validation import check_texts

__all__ = ["EmbeddingModel"]


class EmbeddingModel:
    """``embed`` one request; ``embed_many`` a batch of requests in one forward pass."""

    family = "embeddings"

    def __init__(self, device: str | None = None, threads: int | None = None,
                 encoder: SentenceEncoder | None = None) -> None:
        self.encoder = encoder or SentenceEncoder(device=device, num_threads=threads)

    def load(self) -> EmbeddingModel:
        self.encoder.load()
        self.encoder.encode(["warm up"])
        return self

    @property
    def dim(self) -> int:
        return self.encoder.dim

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.encoder.encode(check_texts(self.family, texts))

    def embed_many(self, requests: list[list[str]]) -> list[np.ndarray]:
        """One encoder call for all requests, split back per request."""
        flat = [text for texts in requests for text in check_texts(self.family, texts)]
        vectors = self.encoder.encode(flat)
        out, start = [], 0
        for texts in requests:
            out.append(vectors[start:start + len(texts)])
            start += len(texts)
        return out

"""The ``embeddings`` deployment: MiniLM sentence vectors with ``@serve.batch``."""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
from ray import serve

from serving.deployments._replica import ReplicaBase
from serving.families.embeddings import EmbeddingModel
from serving.validation import check_texts

__all__ = ["EmbeddingsDeployment"]


@serve.deployment(name="embeddings")
class EmbeddingsDeployment(ReplicaBase):
    family = "embeddings"

    def __init__(self, settings: dict[str, Any]) -> None:
        super().__init__(settings)
        self._model = EmbeddingModel(device=self.device, threads=self.settings.threads).load()
        self._sizes: deque[int] = deque(maxlen=1000)
        self.embed_batch.set_max_batch_size(self.settings.max_batch_size)
        self.embed_batch.set_batch_wait_timeout_s(self.settings.batch_wait_timeout_s)

    async def embed(self, texts: list[str]) -> np.ndarray:
        texts = check_texts(self.family, texts)  # one bad request must not fail a batch
        if not texts:
            return np.zeros((0, self._model.dim), dtype=np.float32)
        return await self.embed_batch(texts)

    @serve.batch(max_batch_size=32, batch_wait_timeout_s=0.005)
    async def embed_batch(self, requests: list[list[str]]) -> list[np.ndarray]:
        self._sizes.append(len(requests))
        return await self._run(self._model.embed_many, requests)

    async def stats(self) -> dict[str, Any]:
        return {**self._identity(), "batch_sizes": list(self._sizes)}

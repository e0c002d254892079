"""The ``text_classifier`` deployment: tenant heads over MiniLM, ``@serve.multiplexed``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from ray import serve

from serving.base import BadInput, TopK
from serving.deployments._replica import Multiplexer, ReplicaBase
from serving.training import embed_on, stream_progress
from serving.validation import check_texts, check_top_k

if TYPE_CHECKING:  # keeps torch out of the web process, which only builds the app
    from serving.families.text_classifier import Loaded

__all__ = ["TextClassifierDeployment"]


@serve.deployment(name="text_classifier")
class TextClassifierDeployment(ReplicaBase):
    """Call through ``handle.options(multiplexed_model_id="tenant/clf/v1").classify``."""

    family = "text_classifier"

    def __init__(self, settings: dict[str, Any], artefact_root: str) -> None:
        super().__init__(settings)
        from serving.families.text_classifier import TextClassifierModel  # in the replica only

        self._model = TextClassifierModel(artefact_root, device=self.device,
                                          threads=self.settings.threads).load()
        self._heads: Multiplexer[Loaded] = Multiplexer(
            self._load_head, self.settings.max_models_per_replica)
        self._train_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="train")

    async def _load_head(self, model_id: str) -> Loaded:
        return await self._run(self._model.load_head, model_id)

    async def classify(self, texts: list[str], top_k: int = 3) -> TopK:
        model_id = serve.get_multiplexed_model_id()
        if not model_id:
            raise BadInput(self.family, "no model id given", "bad_model_id")
        texts, k = check_texts(self.family, texts), check_top_k(self.family, top_k)
        head = await self._heads.get(model_id)
        return await self._run(self._model.classify, head, texts, k)

    async def retrieve(self, texts: list[str], top_k: int = 3,
                       threshold: float | None = None) -> list[dict[str, Any]]:
        model_id = serve.get_multiplexed_model_id()
        if not model_id:
            raise BadInput(self.family, "no model id given", "bad_model_id")
        texts, k = check_texts(self.family, texts), check_top_k(self.family, top_k)
        model = await self._heads.get(model_id)
        return await self._run(self._model.retrieve, model, texts, k, threshold)

    async def train(self, spec: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """Streamed (``handle.options(stream=True)``): progress events, then the result."""
        embed = embed_on(self._pool, self._model.encoders)
        async for event in stream_progress(
                self._train_pool, lambda progress: self._model.train(spec, progress, embed)):
            yield event

    async def stats(self) -> dict[str, Any]:
        return {**self._identity(), **self._heads.stats()}

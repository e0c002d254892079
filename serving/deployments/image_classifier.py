"""The ``image_classifier`` deployment: batched EfficientNet-Lite0, optional tenant heads."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from ray import serve

from serving.base import TopK
from serving.deployments._replica import Multiplexer, ReplicaBase
from serving.validation import check_top_k

if TYPE_CHECKING:  # keeps torch out of the web process, which only builds the app
    import torch

    from nlu.heads import ClassifierHead

__all__ = ["ImageClassifierDeployment"]


@serve.deployment(name="image_classifier")
class ImageClassifierDeployment(ReplicaBase):
    """No model id: ImageNet-1k labels; ``multiplexed_model_id``: a tenant's head."""

    family = "image_classifier"

    def __init__(self, settings: dict[str, Any], artefact_root: str) -> None:
        super().__init__(settings)
        from serving.families.image_classifier import ImageClassifierModel  # in the replica only

        self._model = ImageClassifierModel(artefact_root, device=self.device,
                                           threads=self.settings.threads).load()
        self._heads: Multiplexer[ClassifierHead] = Multiplexer(
            self._load_head, self.settings.max_models_per_replica)
        self._sizes: deque[int] = deque(maxlen=1000)
        self.features_batch.set_max_batch_size(self.settings.max_batch_size)
        self.features_batch.set_batch_wait_timeout_s(self.settings.batch_wait_timeout_s)

    async def _load_head(self, model_id: str) -> ClassifierHead:
        return await self._run(self._model.load_head, model_id)

    async def classify(self, images: list[bytes], top_k: int = 3) -> TopK:
        k = check_top_k(self.family, top_k)
        model_id = serve.get_multiplexed_model_id()
        head = await self._heads.get(model_id) if model_id else None  # ModelNotFound first
        batch = await self._run(self._model.preprocess, images)  # then BadInput("bad_image")
        if batch.shape[0] == 0:
            return []
        features = await self.features_batch(batch)
        return await self._run(self._model.classify_features, features, head, k)

    @serve.batch(max_batch_size=8, batch_wait_timeout_s=0.01)
    async def features_batch(self, batches: list[torch.Tensor]) -> list[torch.Tensor]:
        self._sizes.append(len(batches))
        return await self._run(self._model.features_many, batches)

    async def stats(self) -> dict[str, Any]:
        return {**self._identity(), "batch_sizes": list(self._sizes), **self._heads.stats()}

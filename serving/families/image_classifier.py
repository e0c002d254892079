"""Image classification: EfficientNet-Lite0 features, ImageNet labels or a tenant head."""

from __future__ import annotations

from pathlib import Path

import torch

from nlu.heads import ClassifierHead
from serving.base import BadInput, TopK
from serving.families._heads import load_tenant_head
from serving.validation import check_images, check_top_k
from vision.backbone import BadImage, ImageBackbone

__all__ = ["ImageClassifierModel"]


class ImageClassifierModel:
    """``preprocess`` per request, ``features_many`` per batch, ``classify`` per request."""

    family = "image_classifier"

    def __init__(self, artefact_root: str | Path, device: str | None = None,
                 threads: int | None = None) -> None:
        self.artefact_root = Path(artefact_root)
        self.backbone = ImageBackbone(device=device, num_threads=threads)

    def load(self) -> ImageClassifierModel:
        self.backbone.load()
        self.backbone.features(torch.zeros((1, 3, 224, 224)))
        _ = self.backbone.labels
        return self

    def preprocess(self, images: list[bytes]) -> torch.Tensor:
        """(n, 3, 224, 224) batch; an undecodable image raises BadInput("bad_image")."""
        images = check_images(self.family, images)
        tensors = []
        for i, data in enumerate(images):
            try:
                tensors.append(self.backbone.preprocess(data))
            except BadImage as exc:
                raise BadInput(self.family, f"images[{i}]: {exc.detail}", "bad_image") from None
        if not tensors:
            return torch.zeros((0, 3, 224, 224))
        return torch.stack(tensors)

    def features_many(self, batches: list[torch.Tensor]) -> list[torch.Tensor]:
        """One backbone pass over several requests' images, split back per request."""
        sizes = [int(b.shape[0]) for b in batches]
        feats = self.backbone.features(torch.cat(batches)) if sum(sizes) else None
        out, start = [], 0
        for n in sizes:
            out.append(feats[start:start + n] if feats is not None else torch.zeros((0, 1280)))
            start += n
        return out

    def load_head(self, model_id: str) -> ClassifierHead:
        return load_tenant_head(self.family, self.artefact_root, model_id,
                                self.backbone.feature_dim)

    def classify_features(self, features: torch.Tensor, head: ClassifierHead | None,
                          top_k: int = 3) -> TopK:
        k = check_top_k(self.family, top_k)
        if features.shape[0] == 0:
            return []
        if head is not None:
            return head.top_k(features, k)
        probs = self.backbone.logits(features).softmax(dim=-1)
        values, indices = probs.topk(min(k, probs.shape[1]), dim=-1)
        labels = self.backbone.labels
        return [[(labels[int(j)], float(v)) for v, j in zip(vs, js, strict=True)]
                for vs, js in zip(values, indices, strict=True)]

    def classify(self, images: list[bytes], head: ClassifierHead | None = None,
                 top_k: int = 3) -> TopK:
        """Unbatched path: preprocess, features and labels in one call."""
        batch = self.preprocess(images)
        return self.classify_features(self.features_many([batch])[0], head, top_k)

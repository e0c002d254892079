"""Per-tenant text classifiers: a head (nlu.heads) over MiniLM sentence embeddings."""

from __future__ import annotations

from pathlib import Path

from nlu.embeddings import SentenceEncoder
from nlu.heads import ClassifierHead
from serving.base import TopK
from serving.families._heads import load_tenant_head
from serving.validation import check_texts, check_top_k

__all__ = ["TextClassifierModel"]


class TextClassifierModel:
    """Loads heads by model id and classifies texts with them."""

    family = "text_classifier"

    def __init__(self, artefact_root: str | Path, device: str | None = None,
                 threads: int | None = None, encoder: SentenceEncoder | None = None) -> None:
        self.artefact_root = Path(artefact_root)
        self.encoder = encoder or SentenceEncoder(device=device, num_threads=threads)

    def load(self) -> TextClassifierModel:
        self.encoder.load()
        self.encoder.encode(["warm up"])
        return self

    def load_head(self, model_id: str) -> ClassifierHead:
        """The tenant's head (raises ModelNotFound, BadInput or ModelUnavailable)."""
        return load_tenant_head(self.family, self.artefact_root, model_id, self.encoder.dim)

    def classify(self, head: ClassifierHead, texts: list[str], top_k: int = 3) -> TopK:
        texts = check_texts(self.family, texts)
        k = check_top_k(self.family, top_k)
        if not texts:
            return []
        return head.top_k(self.encoder.encode(texts), k)

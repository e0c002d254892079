"""Per-tenant text classifiers over MiniLM: trained versions (nlu.classifiers) and bare heads.

A model id names an artefact folder. A trained version (``classifier.json``)
answers ``retrieve`` with calibrated scores and out-of-scope decisions; a bare
head (``nlu.heads``) answers ``classify`` only. ``train`` fits a new version and
writes its folder; the caller provides ``embed_for`` (the replica's encoders by
name, run on the thread that owns them) and ``progress``. The encoders are the
replica's fp32 MiniLM (shared with bare heads) and, on first use, its int8 one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nlu.classifiers.base import EmbedFor, Progress
from nlu.classifiers.training import (
    TrainedClassifier,
    algorithm_class,
    is_classifier,
    load_classifier,
    train_classifier,
)
from nlu.embeddings import EncoderSet, SentenceEncoder
from nlu.errors import NluError
from nlu.heads import ClassifierHead, artefact_dir
from serving.base import BadInput, ModelNotFound, ModelUnavailable, TopK
from serving.families._heads import load_tenant_head
from serving.validation import check_model_id, check_texts, check_top_k

__all__ = ["TextClassifierModel"]

Loaded = ClassifierHead | TrainedClassifier


class TextClassifierModel:
    """Loads heads and trained versions by model id, classifies, retrieves and trains."""

    family = "text_classifier"

    def __init__(self, artefact_root: str | Path, device: str | None = None,
                 threads: int | None = None, encoder: SentenceEncoder | None = None) -> None:
        self.artefact_root = Path(artefact_root)
        self.encoder = encoder or SentenceEncoder(device=device, num_threads=threads)
        self.encoders = EncoderSet(self.encoder, num_threads=threads)
        self.device = device or "cpu"

    def load(self) -> TextClassifierModel:
        self.encoder.load()
        self.encoder.encode(["warm up"])
        return self

    def load_head(self, model_id: str) -> Loaded:
        """The tenant's model (raises ModelNotFound, BadInput or ModelUnavailable)."""
        check_model_id(self.family, model_id)
        folder = artefact_dir(self.artefact_root, model_id)
        if not is_classifier(folder):
            return load_tenant_head(self.family, self.artefact_root, model_id,
                                    self.encoder.dim)
        try:
            return load_classifier(folder, self.encoders.embed_for, self.device)
        except FileNotFoundError:
            raise ModelNotFound(self.family, model_id) from None
        except (NluError, OSError, ValueError, RuntimeError, KeyError) as exc:
            raise ModelUnavailable(self.family, f"cannot load {model_id!r}: {exc}") from None

    def classify(self, head: Loaded, texts: list[str], top_k: int = 3) -> TopK:
        texts = check_texts(self.family, texts)
        k = check_top_k(self.family, top_k)
        if not texts:
            return []
        if isinstance(head, TrainedClassifier):
            return [[(item["label"], item["score"]) for item in row["labels"]]
                    for row in head.retrieve(texts, k)]
        return head.top_k(self.encoder.encode(texts), k)

    def retrieve(self, model: Loaded, texts: list[str], top_k: int = 3,
                 threshold: float | None = None) -> list[dict[str, Any]]:
        texts = check_texts(self.family, texts)
        k = check_top_k(self.family, top_k)
        if not isinstance(model, TrainedClassifier):
            raise BadInput(self.family, "this model is a bare head: use classify",
                           "model_mismatch")
        if threshold is not None and not 0.0 <= float(threshold) <= 1.0:
            raise BadInput(self.family, "threshold must be in [0, 1]")
        return model.retrieve(texts, k, threshold)

    def train(self, spec: dict[str, Any], progress: Progress,
              embed_for: EmbedFor) -> dict[str, Any]:
        """Fit ``spec`` (model_id, algorithm, params, texts, labels, oos_rate) and save it;
        returns the version's metadata. ``NluError``s pass through (they map to 4xx)."""
        model_id = check_model_id(self.family, spec.get("model_id"))
        texts, labels = spec.get("texts"), spec.get("labels")
        if not isinstance(texts, list) or not isinstance(labels, list) or len(texts) != len(
                labels) or not all(isinstance(t, str) for t in texts + labels):
            raise BadInput(self.family, "texts and labels must be lists of strings of one "
                           "length")
        algorithm = algorithm_class(str(spec.get("algorithm", "fast")))(embed_for, self.device)
        trained = train_classifier(algorithm, texts, labels,
                                   spec.get("params") or {}, progress,
                                   float(spec.get("oos_rate", 0.05)))
        trained.save(self.artefact_root, model_id)
        return {**trained.meta, "labels": trained.labels}

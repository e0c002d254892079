"""Answering with a classifier: retrieval (labels, out of scope, entities) and testing.

The model tier computes calibrated label scores and each answer's confidence
(``retrieve_text``); the out-of-scope cut is applied here, so concurrent
one-text requests for a version share model calls whatever threshold each
asked for (``RetrieveBatcher``: at 200 requests a second, one call per request
queued for minutes behind Ray's per-call cost). Entities are rules and
gazetteers, microseconds of work, so they run here in the web process too.
"""

from __future__ import annotations

from typing import Any

from nlu.classifiers.training import OOS_LABELS
from nlu.emotion import EmotionModel, load_default
from nlu.entities import BuiltinExtractor, merge
from nlu.metrics import classification_report
from server.classifiers import ClassifierService, Resolved
from server.errors import ApiError
from server.nlu_schemas import RetrieveOut, TestOut
from server.retrieve_batcher import RetrieveBatcher
from serving.base import ModelClient, ServingError

__all__ = ["TurnEmotion", "UnderstandingService"]

_BATCH = 256


class UnderstandingService:
    def __init__(self, models: ModelClient, classifiers: ClassifierService,
                 emotion_model: EmotionModel | None = None) -> None:
        self.models, self.classifiers = models, classifiers
        self.builtin = BuiltinExtractor()
        self.emotion_model = emotion_model or load_default()
        self.batcher = RetrieveBatcher(models)

    async def close(self) -> None:
        await self.batcher.close()

    async def emotion(self, texts: list[str]) -> list[dict[str, Any]]:
        """Per text its emotion and the calibrated scores (one embedding each)."""
        rows = self.emotion_model.predict(await self.models.embed(texts))
        return [{"text": text, "label": row[0][0],
                 "scores": [{"label": label, "score": score} for label, score in row]}
                for text, row in zip(texts, rows, strict=True)]

    def entities(self, text: str, resolved: Resolved | None = None) -> list[dict[str, Any]]:
        """Built-in entities, with the classifier's gazetteers and patterns winning overlaps."""
        custom = []
        if resolved is not None:
            for extractor in (resolved.gazetteers, resolved.patterns):
                if extractor is not None:
                    custom.extend(extractor.extract(text))
        return [e.to_dict() for e in merge(custom + self.builtin.extract(text))]

    async def retrieve(self, tenant_id: str, classifier_id: str, texts: list[str], top_k: int,
                       version: int | None, threshold: float | None,
                       with_entities: bool) -> RetrieveOut:
        resolved = await self.classifiers.resolve(tenant_id, classifier_id, version)
        cut = resolved.threshold if threshold is None else threshold
        if len(texts) == 1:
            rows = [await self.batcher.retrieve(resolved.model_id, texts[0], top_k)]
        else:
            rows = await self.models.retrieve_text(resolved.model_id, texts, top_k)
        results = [{**_answer(row, cut), "text": text,
                    "entities": self.entities(text, resolved) if with_entities else []}
                   for text, row in zip(texts, rows, strict=True)]
        return RetrieveOut(classifier_id=classifier_id, version=resolved.version,
                           threshold=cut, results=results)

    async def test(self, tenant_id: str, classifier_id: str, version: int | None,
                   samples: list[tuple[str, str]] | None) -> TestOut:
        resolved = await self.classifiers.resolve(tenant_id, classifier_id, version)
        if samples is None:
            samples = await self.classifiers.samples(tenant_id, classifier_id, "test")
            if not samples:
                raise ApiError("the classifier has no test samples: add some under "
                               "test-samples or post them", status=422, code="no_test_data")
        version_info = await self.classifiers.version(tenant_id, classifier_id,
                                                      resolved.version)
        answers: list[str | None] = []
        tops: list[str] = []
        texts = [t for t, _ in samples]
        for start in range(0, len(texts), _BATCH):
            rows = await self.models.retrieve_text(resolved.model_id,
                                                   texts[start:start + _BATCH], 1)
            answers.extend(_answer(row, resolved.threshold)["label"] for row in rows)
            tops.extend(row["labels"][0]["label"] for row in rows)
        truth = [label for _, label in samples]
        report = classification_report(truth, answers, version_info["labels"], OOS_LABELS)
        known = set(version_info["labels"]) - OOS_LABELS
        inscope = [(t, top) for t, top in zip(truth, tops, strict=True) if t in known]
        top1 = sum(t == top for t, top in inscope) / len(inscope) if inscope else None
        return TestOut(version=resolved.version, top1_accuracy=top1, **report)


def _answer(row: dict[str, Any], cut: float) -> dict[str, Any]:
    """The model's scores with this request's out-of-scope threshold applied."""
    best = row["labels"][0]["label"]
    oos = best in OOS_LABELS or row["confidence"] < cut
    return {**row, "label": None if oos else best, "out_of_scope": oos}


class TurnEmotion:
    """The dialog engine's emotion sensor: a model failure means "cannot tell", never a
    failed turn."""

    def __init__(self, understanding: UnderstandingService) -> None:
        self.understanding = understanding

    async def emotion(self, text: str) -> str | None:
        try:
            return (await self.understanding.emotion([text]))[0]["label"]
        except ServingError:
            return None

"""One trained text classifier per published lesson version, trained in the background.

Why: the hybrid matcher (patterns, keywords, nearest-example cosine) accepts a
keyword inside an unrelated request ("find tacos near my home" has "home"); a
classifier trained on the lesson's own expected responses learns what each
expectation's answers have in common and how close the text is to any of them,
which ``server.lesson_matcher`` blends with the hybrid's score.

What is trained: a ``fast`` classifier (frozen MiniLM + torch head) whose labels
are the lesson's expectation ids and whose texts are their examples. A lesson
with fewer than two expectations that have examples gets none (nothing to tell
apart). Epochs scale with the data so a fit takes about ``TARGET_STEPS`` optimiser
steps: the trainer's default (30 epochs of batch 128) is two steps an epoch on a
lesson's ~170 examples and leaves the head undertrained (measured on the built-in
lessons: 0.49 cross-fit accuracy at 30 epochs, 0.65 at 200).

Keying: the model id is ``lessons/<lesson_id>/<hash>``, the hash of what the
classifier learns from (labels, normalised examples, algorithm, parameters), not
of the version number. So an unchanged lesson is never retrained: re-publishing
a version, seeding unchanged built-ins at start-up, restarting the server, or
saving a new version that only rewords the bot's lines all find the artefact
folder (or, with a model tier on other machines, the model tier answers for the
id) and reuse it. Which id answers each ``(lesson_id, version)`` is kept in
memory; after a restart the first turn of a version asks for it again (lazily,
in the background).

Never blocking: ``schedule`` only starts a task; publishing and start-up return
at once, and turns use the hybrid matcher alone until the classifier is ready.
Trainings run one at a time (a start-up seeding every built-in does not take
every core). A failed training is logged, the matcher keeps falling back, and
the lesson is retried no sooner than ``RETRY_AFTER_S``. Tasks belong to this
service and ``close()`` cancels them (a cancelled fit stops at its next step and
leaves no artefact behind).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dialog.lesson import Lesson
from dialog.matching.base import normalise
from nlu.errors import NluError
from nlu.model_ids import InvalidModelId, validate_model_id
from serving.base import ModelClient, ModelNotFound, ServingError

__all__ = ["ALGORITHM", "LessonClassifiers", "training_data"]

log = logging.getLogger("parley.lesson_classifiers")

ALGORITHM = "fast"
BATCH_SIZE = 128
TARGET_STEPS = 400  # optimiser steps per fit; epochs follow from the data size
MIN_EPOCHS, MAX_EPOCHS = 30, 200
RETRY_AFTER_S = 600.0
_META = "classifier.json"  # what nlu.classifiers.training writes last, atomically
_FORMAT = 1  # bump to retrain every lesson after a change of what is trained


def training_data(lesson: Lesson) -> tuple[list[str], list[str]] | None:
    """(texts, labels) of the lesson's examples, or None when fewer than two
    expectations have examples."""
    texts: list[str] = []
    labels: list[str] = []
    seen: set[tuple[str, str]] = set()
    for state in lesson.states:
        for exp in state.expects:
            for example in exp.examples:
                text = normalise(example)
                if text and (text, exp.id) not in seen:
                    seen.add((text, exp.id))
                    texts.append(text)
                    labels.append(exp.id)
    return (texts, labels) if len(set(labels)) >= 2 else None


def _params(n_texts: int) -> dict[str, Any]:
    steps_per_epoch = max(1, math.ceil(n_texts / BATCH_SIZE))
    epochs = min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(TARGET_STEPS / steps_per_epoch)))
    return {"epochs": epochs, "batch_size": BATCH_SIZE}


def _lesson_segment(lesson_id: str) -> str:
    """The lesson id as one model-id segment (server-made ids already are one)."""
    with contextlib.suppress(InvalidModelId):
        if "/" not in lesson_id and validate_model_id(lesson_id):
            return lesson_id
    return "l" + hashlib.sha256(lesson_id.encode()).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class _Plan:
    model_id: str
    spec: dict[str, Any]


def _plan(lesson: Lesson) -> _Plan | None:
    data = training_data(lesson)
    if data is None:
        return None
    texts, labels = data
    params = _params(len(texts))
    digest = hashlib.sha256(json.dumps(
        {"format": _FORMAT, "algorithm": ALGORITHM, "params": params,
         "pairs": sorted(zip(texts, labels, strict=True))},
        separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()
    model_id = f"lessons/{_lesson_segment(lesson.id)}/{digest[:16]}"
    spec = {"model_id": model_id, "algorithm": ALGORITHM, "params": params,
            "texts": texts, "labels": labels, "oos_rate": 0.05}
    return _Plan(model_id, spec)


class LessonClassifiers:
    """Trains lesson classifiers in the background and says which one answers a version."""

    def __init__(self, models: ModelClient, artefact_root: str | Path | None = None) -> None:
        self.models = models
        self.artefact_root = Path(artefact_root) if artefact_root is not None else None
        self._ready: dict[tuple[str, int], str] = {}  # (lesson_id, version) -> model id
        self._waiting: dict[str, set[tuple[str, int]]] = {}  # model id -> versions
        # versions are immutable: what to train for each is worked out once (None: nothing)
        self._plans: dict[tuple[str, int], _Plan | None] = {}
        self._failed: dict[str, float] = {}  # model id -> monotonic time of the failure
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._one_at_a_time = asyncio.Semaphore(1)
        self.trained: list[str] = []  # model ids this process trained (tests, debugging)

    def ready(self, lesson_id: str, version: int) -> str | None:
        """The model id answering this version, if its classifier is ready."""
        return self._ready.get((lesson_id, version))

    def schedule(self, lesson: Lesson, version: int) -> None:
        """Make sure the version gets its classifier, without waiting for it."""
        key = (lesson.id, version)
        if key in self._ready:
            return
        if key not in self._plans:
            self._plans[key] = _plan(lesson)
        plan = self._plans[key]
        if plan is None:
            return
        if plan.model_id in self._tasks:
            self._waiting.setdefault(plan.model_id, set()).add(key)
            return
        failed = self._failed.get(plan.model_id)
        if failed is not None and time.monotonic() - failed < RETRY_AFTER_S:
            return
        if self._exists_locally(plan.model_id):
            self._ready[key] = plan.model_id
            return
        self._waiting[plan.model_id] = {key}
        task = asyncio.create_task(self._provide(plan), name=f"lesson-classifier-{lesson.id}")
        self._tasks[plan.model_id] = task

    def forget(self, lesson_id: str, version: int) -> None:
        """The model tier lost this version's artefact: look for (or train) it again."""
        self._ready.pop((lesson_id, version), None)

    async def settled(self) -> None:
        """Wait for the trainings in flight to end, however they end (a CLI, tests)."""
        while self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- internals ---------------------------------------------------------------------

    def _exists_locally(self, model_id: str) -> bool:
        if self.artefact_root is None:
            return False
        return (self.artefact_root / model_id / _META).is_file()

    async def _on_model_tier(self, model_id: str) -> bool:
        """Whether the model tier already has the artefact (its root may be elsewhere)."""
        try:
            await self.models.retrieve_text(model_id, ["hello"], top_k=1)
        except ModelNotFound:
            return False
        return True

    async def _provide(self, plan: _Plan) -> None:
        model_id = plan.model_id
        try:
            try:
                async with self._one_at_a_time:
                    if not (self._exists_locally(model_id)
                            or await self._on_model_tier(model_id)):
                        await self._train(plan)
            except (ServingError, NluError) as exc:
                if not self._exists_locally(model_id):  # else another process saved it first
                    self._failed[model_id] = time.monotonic()
                    log.warning("lesson classifier %s failed to train: %s; turns use the "
                                "hybrid matcher", model_id, exc)
                    return
            except Exception:
                if not self._exists_locally(model_id):
                    self._failed[model_id] = time.monotonic()
                    log.exception("lesson classifier %s failed to train; turns use the "
                                  "hybrid matcher", model_id)
                    return
            self._failed.pop(model_id, None)
            for key in self._waiting.get(model_id, ()):
                self._ready[key] = model_id
        finally:  # cancelled (close) included: nothing waits on this task any more
            self._waiting.pop(model_id, None)
            self._tasks.pop(model_id, None)

    async def _train(self, plan: _Plan) -> None:
        started = time.perf_counter()
        result: dict[str, Any] | None = None
        stream = self.models.train_text_classifier(plan.spec)
        try:
            async for event in stream:
                if "result" in event:
                    result = event["result"]
        finally:  # stops the fit when we were cancelled mid-stream
            close = getattr(stream, "aclose", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()
        if result is None:
            raise RuntimeError("the model tier ended the training without a result")
        self.trained.append(plan.model_id)
        metrics = result.get("metrics", {})
        log.info("trained lesson classifier %s in %.1f s (cross-fit accuracy %s)",
                 plan.model_id, time.perf_counter() - started,
                 metrics.get("calibration_accuracy"))

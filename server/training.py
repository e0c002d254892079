"""Training jobs: queued in the database, run by the model tier, watched from here.

A job is a row (``NluJob``); a partial unique index allows one queued or running
job per classifier, so a second ``train`` is a 409 even from another process.
The web process that accepted the job owns an asyncio task that sends the
samples to the model tier (``ModelClient.train_text_classifier``), writes its
progress to the row (at most once a second, which is also the job's heartbeat)
and, when the artefact is saved, records the version and activates it in one
transaction. A job whose heartbeat stopped (its process died) is failed by the
next process that starts, so a classifier is never locked for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import select

from nlu.errors import NluError, NoTrainingData
from server.classifiers import ClassifierService
from server.db.models import NluClassifier, NluJob, NluVersion
from server.db.types import utcnow
from server.errors import ApiError, NotFound
from serving.base import ModelClient, ServingError

__all__ = ["TrainingRunner", "job_out"]

log = logging.getLogger("parley.training")

HEARTBEAT_S = 1.0
STALE_AFTER_S = 120.0


def job_out(job: NluJob) -> dict[str, Any]:
    data = job.model_dump()
    code, message = data.pop("error_code"), data.pop("error_message")
    data["error"] = {"code": code, "message": message} if code else None
    return data


class TrainingRunner:
    def __init__(self, db: async_sessionmaker[AsyncSession], models: ModelClient,
                 classifiers: ClassifierService) -> None:
        self.db, self.models, self.classifiers = db, models, classifiers
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def submit(self, tenant_id: str, classifier_id: str, algorithm: str | None,
                     params: dict[str, Any] | None, activate: bool) -> dict[str, Any]:
        samples = await self.classifiers.samples(tenant_id, classifier_id, "train")
        labels = {label for _, label in samples}
        if not samples:
            raise NoTrainingData("the classifier has no training samples: add some first")
        if len(labels) < 2:
            raise NoTrainingData(f"a classifier needs at least two labels; its samples have "
                                 f"only {next(iter(labels))!r}")
        async with self.db() as s:
            row = await self.classifiers.get(s, tenant_id, classifier_id)
            if algorithm is not None or params is not None:
                from nlu.classifiers.params import check_params

                check_params(algorithm or row.algorithm,
                             row.params if params is None and algorithm is None else params)
            job = NluJob(classifier_id=classifier_id, tenant_id=tenant_id,
                         algorithm=algorithm or row.algorithm,
                         params=(row.params if algorithm in (None, row.algorithm) else {})
                         if params is None else params)
            s.add(job)
            try:
                await s.commit()
            except IntegrityError:
                raise ApiError("this classifier is already training: wait for its job",
                               status=409, code="training_in_progress") from None
            out = job_out(job)
        task = asyncio.create_task(self._run(job.id, samples, activate, row.oos_rate),
                                   name=f"train-{job.id}")
        self._tasks[job.id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job.id, None))
        return out

    async def job(self, tenant_id: str, job_id: str) -> dict[str, Any]:
        async with self.db() as s:
            job = await s.get(NluJob, job_id)
            if job is None or job.tenant_id != tenant_id:
                raise NotFound(f"no job {job_id!r}")
            return job_out(job)

    async def jobs(self, tenant_id: str, classifier_id: str) -> list[dict[str, Any]]:
        async with self.db() as s:
            await self.classifiers.get(s, tenant_id, classifier_id)
            rows = (await s.exec(select(NluJob).where(NluJob.classifier_id == classifier_id)
                                    .order_by(NluJob.created_at.desc()).limit(50))
                    ).all()
            return [job_out(j) for j in rows]

    async def _set(self, job_id: str, **values: Any) -> None:
        async with self.db() as s:
            await s.exec(update(NluJob).where(NluJob.id == job_id)
                            .values(heartbeat_at=utcnow(), **values))
            await s.commit()

    async def _run(self, job_id: str, samples: list[tuple[str, str]], activate: bool,
                   oos_rate: float) -> None:
        async with self.db() as s:
            job = await s.get(NluJob, job_id)
            assert job is not None
            tenant_id, classifier_id = job.tenant_id, job.classifier_id
            algorithm, params = job.algorithm, job.params
        spec = {"model_id": f"{tenant_id}/{classifier_id}/{job_id}", "algorithm": algorithm,
                "params": params, "texts": [t for t, _ in samples],
                "labels": [label for _, label in samples], "oos_rate": oos_rate}
        beat = asyncio.create_task(self._beat(job_id))
        try:
            await self._set(job_id, status="running", stage="starting", started_at=utcnow())
            result: dict[str, Any] | None = None
            last = 0.0
            async for event in self.models.train_text_classifier(spec):
                if "result" in event:
                    result = event["result"]
                elif time.monotonic() - last >= HEARTBEAT_S:
                    last = time.monotonic()
                    await self._set(job_id, stage=str(event["stage"]),
                                    progress=float(event["progress"]))
            if result is None:
                raise ApiError("the model tier ended the training without a result",
                               status=503, code="model_unavailable")
            await self._finish(job_id, classifier_id, spec["model_id"], result, activate)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._fail(job_id, "interrupted", "the server stopped"))
            raise
        except (NluError, ServingError, ApiError) as exc:
            await self._fail(job_id, exc.code, str(exc))
        except Exception as exc:
            log.exception("training job %s failed", job_id)
            await self._fail(job_id, "internal", f"{type(exc).__name__}: {exc}")
        finally:
            beat.cancel()

    async def _beat(self, job_id: str) -> None:
        """Keep the heartbeat fresh while the model tier is quiet (a long epoch)."""
        while True:
            await asyncio.sleep(STALE_AFTER_S / 4)
            with contextlib.suppress(Exception):
                await self._set(job_id)

    async def _finish(self, job_id: str, classifier_id: str, model_id: str,
                      result: dict[str, Any], activate: bool) -> None:
        async with self.db() as s:
            row = await s.get(NluClassifier, classifier_id)
            if row is None:  # deleted while it trained
                await self._fail(job_id, "classifier_deleted", "the classifier was deleted")
                return
            number = row.latest_version + 1
            s.add(NluVersion(
                classifier_id=classifier_id, version=number, model_id=model_id,
                algorithm=result["algorithm"], params=result["params"],
                data_hash=result["data_hash"], labels=result["labels"],
                metrics=result["metrics"], threshold=result["threshold"],
                temperature=result["temperature"], train_samples=result["train_samples"],
                job_id=job_id))
            row.latest_version = number
            if activate:
                row.active_version = number
            row.updated_at = utcnow()
            await s.exec(update(NluJob).where(NluJob.id == job_id).values(
                status="succeeded", stage="done", progress=1.0, version=number,
                finished_at=utcnow(), heartbeat_at=utcnow()))
            await s.commit()
        self.classifiers.forget(classifier_id)

    async def _fail(self, job_id: str, code: str, message: str) -> None:
        await self._set(job_id, status="failed", error_code=code, error_message=message[:2000],
                        finished_at=utcnow())

    async def reap_stale(self) -> int:
        """Fail jobs whose process stopped beating; returns how many."""
        cutoff = utcnow() - timedelta(seconds=STALE_AFTER_S)
        async with self.db() as s:
            result = await s.exec(update(NluJob).where(
                NluJob.status.in_(("queued", "running")), NluJob.heartbeat_at < cutoff)
                .values(status="failed", error_code="interrupted", finished_at=utcnow(),
                        error_message="the process running it stopped"))
            await s.commit()
            return result.rowcount or 0

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

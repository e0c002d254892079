"""Tenant text classifiers: settings, samples, versions (the database side).

Everything is scoped by tenant: another tenant's classifier is a 404, exactly as
one that does not exist. Deleting a classifier also removes its artefact folder
when the artefact root is on this machine (on a cluster whose model tier keeps
artefacts elsewhere, that store's own retention applies).

The retrieval hot path reads a classifier through a short per-process cache
(``RESOLVE_TTL_S``), dropped on every local change; other processes see a
rollback within that many seconds.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import select

from nlu.entities.custom import GazetteerExtractor, PatternExtractor
from server.db.models import NluClassifier, NluJob, NluSample, NluVersion
from server.db.types import utcnow
from server.errors import ApiError, Conflict, NotFound
from server.nlu_schemas import ClassifierCreate, ClassifierOut, ClassifierUpdate, SampleIn

__all__ = ["ClassifierService", "Resolved"]

RESOLVE_TTL_S = 2.0
MAX_SAMPLES = 100_000  # per classifier and split


@dataclass(frozen=True)
class Resolved:
    """What one retrieval needs: which artefact answers and the custom extractors."""

    classifier_id: str
    version: int
    model_id: str
    threshold: float  # the override, else the version's learned one
    override: float | None
    gazetteers: GazetteerExtractor | None
    patterns: PatternExtractor | None


def custom_extractors(gazetteers: dict[str, list[str]], patterns: dict[str, str]) -> tuple[
        GazetteerExtractor | None, PatternExtractor | None]:
    """Build (and so validate: BadTrainingData, a 422) a classifier's custom entities."""
    return (GazetteerExtractor(gazetteers) if gazetteers else None,
            PatternExtractor(patterns) if patterns else None)


class ClassifierService:
    def __init__(self, db: async_sessionmaker[AsyncSession],
                 artefact_root: Path | None = None) -> None:
        self.db = db
        self.artefact_root = artefact_root
        self._cache: dict[tuple[str, str, int | None], tuple[float, Resolved]] = {}

    def forget(self, classifier_id: str) -> None:
        for key in [k for k in self._cache if k[1] == classifier_id]:
            self._cache.pop(key, None)

    # -- classifiers -------------------------------------------------------------------

    async def get(self, s: AsyncSession, tenant_id: str, classifier_id: str) -> NluClassifier:
        row = await s.get(NluClassifier, classifier_id)
        if row is None or row.tenant_id != tenant_id:
            raise NotFound(f"no classifier {classifier_id!r}")
        return row

    async def out(self, s: AsyncSession, row: NluClassifier) -> ClassifierOut:
        counts = dict((await s.exec(
            select(NluSample.split, func.count()).where(NluSample.classifier_id == row.id)
            .group_by(NluSample.split))).all())
        return ClassifierOut(**row.model_dump(), samples={
            "train": counts.get("train", 0), "test": counts.get("test", 0)})

    async def create(self, tenant_id: str, body: ClassifierCreate) -> ClassifierOut:
        custom_extractors(body.gazetteers, body.patterns)
        _check_params(body.algorithm, body.params)
        row = NluClassifier(tenant_id=tenant_id, **body.model_dump())
        async with self.db() as s:
            s.add(row)
            try:
                await s.commit()
            except IntegrityError:
                raise Conflict(f"a classifier named {body.name!r} exists") from None
            return await self.out(s, row)

    async def list(self, tenant_id: str) -> list[ClassifierOut]:
        async with self.db() as s:
            rows = (await s.exec(select(NluClassifier).where(
                NluClassifier.tenant_id == tenant_id).order_by(NluClassifier.created_at))
                    ).all()
            return [await self.out(s, row) for row in rows]

    async def read(self, tenant_id: str, classifier_id: str) -> ClassifierOut:
        async with self.db() as s:
            return await self.out(s, await self.get(s, tenant_id, classifier_id))

    async def update(self, tenant_id: str, classifier_id: str,
                     body: ClassifierUpdate) -> ClassifierOut:
        async with self.db() as s:
            row = await self.get(s, tenant_id, classifier_id)
            changes = body.model_dump(exclude_unset=True, exclude={"clear_threshold"})
            if changes.get("algorithm") not in (None, row.algorithm) and "params" not in changes:
                changes["params"] = {}  # another algorithm: its own defaults
            custom_extractors(changes.get("gazetteers", row.gazetteers),
                              changes.get("patterns", row.patterns))
            _check_params(changes.get("algorithm", row.algorithm),
                          changes.get("params", row.params))
            for name, value in changes.items():
                if value is not None:
                    setattr(row, name, value)
            if body.clear_threshold:
                row.threshold = None
            row.updated_at = utcnow()
            await s.commit()
            self.forget(classifier_id)
            return await self.out(s, row)

    async def delete(self, tenant_id: str, classifier_id: str) -> None:
        async with self.db() as s:
            row = await self.get(s, tenant_id, classifier_id)
            for table in (NluSample, NluVersion, NluJob):  # SQLite may not enforce cascades
                await s.exec(delete(table).where(table.classifier_id == classifier_id))
            await s.delete(row)
            await s.commit()
        self.forget(classifier_id)
        if self.artefact_root is not None:
            folder = self.artefact_root / tenant_id / classifier_id
            await asyncio.to_thread(shutil.rmtree, folder, True)

    # -- samples -----------------------------------------------------------------------

    async def add_samples(self, tenant_id: str, classifier_id: str, split: str,
                          samples: Sequence[SampleIn], replace: bool = False) -> dict[str, int]:
        async with self.db() as s:
            await self.get(s, tenant_id, classifier_id)
            replaced = 0
            if replace:
                result = await s.exec(delete(NluSample).where(
                    NluSample.classifier_id == classifier_id, NluSample.split == split))
                replaced = result.rowcount or 0
            total = await self._count(s, classifier_id, split)
            if total + len(samples) > MAX_SAMPLES:
                raise ApiError(f"a classifier keeps at most {MAX_SAMPLES} samples per split",
                               status=422, code="too_many_samples")
            now = utcnow()
            s.add_all(NluSample(classifier_id=classifier_id, split=split, text=x.text,
                                label=x.label, created_at=now) for x in samples)
            await s.commit()
            return {"imported": len(samples), "replaced": replaced,
                    "total": total + len(samples)}

    async def _count(self, s: AsyncSession, classifier_id: str, split: str) -> int:
        return int((await s.exec(select(func.count()).where(
            NluSample.classifier_id == classifier_id, NluSample.split == split))).one())

    async def page(self, tenant_id: str, classifier_id: str, split: str, after: int,
                   limit: int, label: str | None) -> dict[str, Any]:
        async with self.db() as s:
            await self.get(s, tenant_id, classifier_id)
            query = select(NluSample).where(NluSample.classifier_id == classifier_id,
                                            NluSample.split == split, NluSample.id > after)
            if label is not None:
                query = query.where(NluSample.label == label)
            rows = (await s.exec(query.order_by(NluSample.id).limit(limit + 1))
                    ).all()
            more = len(rows) > limit
            rows = rows[:limit]
            return {"items": [r.model_dump() for r in rows],
                    "next": rows[-1].id if more else None,
                    "total": await self._count(s, classifier_id, split)}

    async def samples(self, tenant_id: str, classifier_id: str,
                      split: str) -> list[tuple[str, str]]:
        async with self.db() as s:
            await self.get(s, tenant_id, classifier_id)
            rows = (await s.exec(select(NluSample.text, NluSample.label).where(
                NluSample.classifier_id == classifier_id, NluSample.split == split)
                .order_by(NluSample.id))).all()
            return [(text, label) for text, label in rows]

    async def export(self, tenant_id: str, classifier_id: str, split: str) -> str:
        rows = await self.samples(tenant_id, classifier_id, split)
        return "".join(json.dumps({"text": t, "label": lab}, ensure_ascii=False) + "\n"
                       for t, lab in rows)

    async def update_sample(self, tenant_id: str, classifier_id: str, split: str,
                            sample_id: int, body: SampleIn) -> dict[str, Any]:
        async with self.db() as s:
            await self.get(s, tenant_id, classifier_id)
            row = await s.get(NluSample, sample_id)
            if row is None or row.classifier_id != classifier_id or row.split != split:
                raise NotFound(f"no sample {sample_id}")
            row.text, row.label = body.text, body.label
            await s.commit()
            return row.model_dump()

    async def delete_sample(self, tenant_id: str, classifier_id: str, split: str,
                            sample_id: int) -> None:
        async with self.db() as s:
            await self.get(s, tenant_id, classifier_id)
            row = await s.get(NluSample, sample_id)
            if row is None or row.classifier_id != classifier_id or row.split != split:
                raise NotFound(f"no sample {sample_id}")
            await s.delete(row)
            await s.commit()

    # -- versions ----------------------------------------------------------------------

    async def versions(self, tenant_id: str, classifier_id: str) -> list[dict[str, Any]]:
        async with self.db() as s:
            row = await self.get(s, tenant_id, classifier_id)
            rows = (await s.exec(select(NluVersion).where(
                NluVersion.classifier_id == classifier_id).order_by(NluVersion.version))
                    ).all()
            return [_version_out(v, row.active_version) for v in rows]

    async def version(self, tenant_id: str, classifier_id: str, version: int) -> dict[str, Any]:
        async with self.db() as s:
            row = await self.get(s, tenant_id, classifier_id)
            return _version_out(await self._version(s, classifier_id, version),
                                row.active_version)

    async def _version(self, s: AsyncSession, classifier_id: str, version: int) -> NluVersion:
        row = await s.get(NluVersion, (classifier_id, version))
        if row is None:
            raise NotFound(f"no version {version}")
        return row

    async def activate(self, tenant_id: str, classifier_id: str,
                       version: int | None) -> ClassifierOut:
        """Make ``version`` answer; None: the newest live version before the active one."""
        async with self.db() as s:
            row = await self.get(s, tenant_id, classifier_id)
            if version is None:
                older = (await s.exec(select(NluVersion.version).where(
                    NluVersion.classifier_id == classifier_id,
                    NluVersion.version < (row.active_version or 0),
                    NluVersion.deleted_at.is_(None)).order_by(NluVersion.version.desc())
                    .limit(1))).one_or_none()
                if older is None:
                    raise ApiError("there is no earlier version to roll back to", status=409,
                                   code="no_earlier_version")
                version = older
            target = await self._version(s, classifier_id, version)
            if target.deleted_at is not None:
                raise ApiError(f"version {version} was deleted", status=410,
                               code="version_deleted")
            row.active_version, row.updated_at = version, utcnow()
            await s.commit()
            self.forget(classifier_id)
            return await self.out(s, row)

    async def delete_version(self, tenant_id: str, classifier_id: str, version: int) -> None:
        async with self.db() as s:
            row = await self.get(s, tenant_id, classifier_id)
            target = await self._version(s, classifier_id, version)
            if row.active_version == version:
                raise Conflict("this version is active: activate another one first")
            if target.deleted_at is None:
                target.deleted_at = utcnow()
                await s.commit()
            self.forget(classifier_id)

    async def custom(self, tenant_id: str, classifier_id: str) -> Resolved:
        """Only the classifier's custom extractors (no trained version needed)."""
        async with self.db() as s:
            row = await self.get(s, tenant_id, classifier_id)
            gazetteers, patterns = custom_extractors(row.gazetteers, row.patterns)
        return Resolved(classifier_id, 0, "", 0.0, None, gazetteers, patterns)

    async def resolve(self, tenant_id: str, classifier_id: str,
                      version: int | None = None) -> Resolved:
        """The artefact that answers (the active version unless one is named)."""
        key = (tenant_id, classifier_id, version)
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit and hit[0] > now:
            return hit[1]
        async with self.db() as s:
            row = await self.get(s, tenant_id, classifier_id)
            number = version if version is not None else row.active_version
            if number is None:
                from nlu.errors import NotFitted

                raise NotFitted(f"classifier {row.name!r} has no trained version yet: "
                                "POST .../train first")
            target = await self._version(s, classifier_id, number)
            if target.deleted_at is not None:
                raise ApiError(f"version {number} was deleted", status=410,
                               code="version_deleted")
            gazetteers, patterns = custom_extractors(row.gazetteers, row.patterns)
            threshold = row.threshold if row.threshold is not None else target.threshold
            resolved = Resolved(classifier_id, number, target.model_id, threshold,
                                row.threshold, gazetteers, patterns)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = (now + RESOLVE_TTL_S, resolved)
        return resolved


def _check_params(algorithm: str, params: dict[str, Any]) -> None:
    """Refuse unknown or out-of-range hyper-parameters now, not minutes later in a job."""
    from nlu.classifiers.params import check_params

    if not isinstance(params, dict) or len(json.dumps(params)) > 4000:
        raise ApiError("params must be a small JSON object", status=422, code="bad_params")
    check_params(algorithm, params)


def _version_out(v: NluVersion, active: int | None) -> dict[str, Any]:
    data = v.model_dump()
    return {**data, "active": v.version == active, "deleted": v.deleted_at is not None}

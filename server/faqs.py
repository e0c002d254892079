"""Tenant FAQs: question/answer pairs, and queries answered by sentence similarity.

A query embeds one text (the model tier) and compares it with every question of
the FAQ (numpy, here). The questions' embeddings are computed once per FAQ
revision and kept in a small per-process LRU; every change bumps the revision,
so a query never sees a stale index.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import select

from nlu.faq import DEFAULT_THRESHOLD, FaqIndex
from server.db.models import Faq, FaqPair
from server.db.types import utcnow
from server.errors import ApiError, Conflict, NotFound
from serving.base import ModelClient

__all__ = ["FaqService"]

MAX_PAIRS = 5000
_CACHED_INDEXES = 64
_EMBED_BATCH = 512


class FaqService:
    def __init__(self, db: async_sessionmaker[AsyncSession], models: ModelClient) -> None:
        self.db, self.models = db, models
        self._indexes: OrderedDict[tuple[str, int], tuple[FaqIndex, dict[str, FaqPair]]] = (
            OrderedDict())

    async def _get(self, s: AsyncSession, tenant_id: str, faq_id: str) -> Faq:
        row = await s.get(Faq, faq_id)
        if row is None or row.tenant_id != tenant_id:
            raise NotFound(f"no FAQ {faq_id!r}")
        return row

    async def _pairs(self, s: AsyncSession, faq_id: str) -> list[FaqPair]:
        return list((await s.exec(select(FaqPair).where(FaqPair.faq_id == faq_id)
                                  .order_by(FaqPair.created_at, FaqPair.id))).all())

    def _out(self, row: Faq, pairs: int) -> dict[str, Any]:
        return {**row.model_dump(), "pairs": pairs,
                "default_threshold": DEFAULT_THRESHOLD}

    async def create(self, tenant_id: str, name: str, threshold: float | None) -> dict[str, Any]:
        row = Faq(tenant_id=tenant_id, name=name, threshold=threshold)
        async with self.db() as s:
            s.add(row)
            try:
                await s.commit()
            except IntegrityError:
                raise Conflict(f"an FAQ named {name!r} exists") from None
            return self._out(row, 0)

    async def list(self, tenant_id: str) -> list[dict[str, Any]]:
        async with self.db() as s:
            rows = (await s.exec(select(Faq).where(Faq.tenant_id == tenant_id)
                                 .order_by(Faq.created_at))).all()
            return [self._out(r, len(await self._pairs(s, r.id))) for r in rows]

    async def read(self, tenant_id: str, faq_id: str) -> dict[str, Any]:
        async with self.db() as s:
            row = await self._get(s, tenant_id, faq_id)
            return {**self._out(row, 0), "pairs": [p.model_dump() for p in
                                                   await self._pairs(s, faq_id)]}

    async def delete(self, tenant_id: str, faq_id: str) -> None:
        async with self.db() as s:
            row = await self._get(s, tenant_id, faq_id)
            for pair in await self._pairs(s, faq_id):
                await s.delete(pair)
            await s.delete(row)
            await s.commit()

    async def add_pairs(self, tenant_id: str, faq_id: str,
                        pairs: list[tuple[list[str], str]]) -> list[dict[str, Any]]:
        async with self.db() as s:
            row = await self._get(s, tenant_id, faq_id)
            if len(await self._pairs(s, faq_id)) + len(pairs) > MAX_PAIRS:
                raise ApiError(f"an FAQ holds at most {MAX_PAIRS} pairs", status=422,
                               code="too_many_pairs")
            new = [FaqPair(faq_id=faq_id, questions=q, answer=a) for q, a in pairs]
            s.add_all(new)
            row.revision, row.updated_at = row.revision + 1, utcnow()
            await s.commit()
            return [p.model_dump() for p in new]

    async def update_pair(self, tenant_id: str, faq_id: str, pair_id: str,
                          questions: list[str], answer: str) -> dict[str, Any]:
        async with self.db() as s:
            row = await self._get(s, tenant_id, faq_id)
            pair = await s.get(FaqPair, pair_id)
            if pair is None or pair.faq_id != faq_id:
                raise NotFound(f"no pair {pair_id!r}")
            pair.questions, pair.answer = questions, answer
            row.revision, row.updated_at = row.revision + 1, utcnow()
            await s.commit()
            return pair.model_dump()

    async def delete_pair(self, tenant_id: str, faq_id: str, pair_id: str) -> None:
        async with self.db() as s:
            row = await self._get(s, tenant_id, faq_id)
            pair = await s.get(FaqPair, pair_id)
            if pair is None or pair.faq_id != faq_id:
                raise NotFound(f"no pair {pair_id!r}")
            await s.delete(pair)
            row.revision, row.updated_at = row.revision + 1, utcnow()
            await s.commit()

    async def _index(self, tenant_id: str, faq_id: str) -> tuple[
            Faq, FaqIndex | None, dict[str, FaqPair]]:
        async with self.db() as s:
            row = await self._get(s, tenant_id, faq_id)
            key = (faq_id, row.revision)
            if key in self._indexes:
                self._indexes.move_to_end(key)
                return row, *self._indexes[key]
            pairs = await self._pairs(s, faq_id)
        if not pairs:
            return row, None, {}
        questions = [(p.id, q) for p in pairs for q in p.questions]
        texts = [q for _, q in questions]
        vectors = np.concatenate([await self.models.embed(texts[i:i + _EMBED_BATCH])
                                  for i in range(0, len(texts), _EMBED_BATCH)])
        index = FaqIndex(vectors, [pid for pid, _ in questions])
        self._indexes[key] = (index, {p.id: p for p in pairs})
        while len(self._indexes) > _CACHED_INDEXES:
            self._indexes.popitem(last=False)
        return row, index, {p.id: p for p in pairs}

    async def query(self, tenant_id: str, faq_id: str, text: str, top_k: int,
                    threshold: float | None) -> dict[str, Any]:
        row, index, pairs = await self._index(tenant_id, faq_id)
        cut = threshold if threshold is not None else (
            row.threshold if row.threshold is not None else DEFAULT_THRESHOLD)
        if index is None:
            return {"answer": None, "threshold": cut, "candidates": []}
        query = (await self.models.embed([text]))[0]
        hits = index.search(query, top_k)
        candidates = [{"pair_id": pid, "answer": pairs[pid].answer, "score": score,
                       "questions": pairs[pid].questions} for pid, score in hits]
        answer = candidates[0] if candidates and candidates[0]["score"] >= cut else None
        return {"answer": answer, "threshold": cut, "candidates": candidates}

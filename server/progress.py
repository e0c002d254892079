"""Learner progress: assessments kept per learner, summarised, and turned into practice.

A learner is the tenant's own id (``learner_id`` when a session starts, or on
``POST /v1/pronunciation/assess``). Every assessment of theirs is a row
(``AssessmentRecord``); the progress view sums the latest ``WINDOW`` of them per
phoneme (:mod:`dialog.progress`), shows the fluency and accuracy trend, counts
the distinct words they used in turns (a vocabulary estimate) and the lessons
they completed, and lists the latest ``HISTORY`` assessments one by one (scores
and per-phoneme means) for charts over time. The practice set is a drill lesson
of real words dense in their weakest phonemes
(:mod:`speech.pronunciation.practice`), one state per word, which the dialog
engine runs like any lesson.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import select

from dialog.progress import merge, phone_means, phone_totals, trend, weakest
from server.db.models import AssessmentRecord, PlaySession, Turn
from server.errors import NotFound
from server.schemas import (
    AssessmentOut,
    HistoryPointOut,
    LearnerProgressOut,
    PhonemeProgressOut,
    PracticeOut,
    PracticeWordOut,
    TrendOut,
)
from speech.lm.base import normalize

__all__ = ["ProgressService", "drill_lesson"]

WINDOW = 200  # latest assessments a progress view sums
RECENT = 20  # latest scores a trend is fitted to
HISTORY = 50  # latest assessments the over-time charts get, one point each


class ProgressService:
    def __init__(self, db: async_sessionmaker[AsyncSession]) -> None:
        self.db = db

    async def record(self, tenant_id: str | None, learner_id: str, session_id: str | None,
                     source: str, assessment: AssessmentOut) -> None:
        data = assessment.model_dump(mode="json")
        said = [w["word"] for w in data["words"] if w["label"] != "omitted"]
        row = AssessmentRecord(
            tenant_id=tenant_id, learner_id=learner_id, session_id=session_id, source=source,
            reference=assessment.reference, accuracy=assessment.scores.accuracy,
            fluency=assessment.scores.fluency, completeness=assessment.scores.completeness,
            overall=assessment.scores.overall,
            speech_rate_wpm=assessment.fluency.speech_rate_wpm,
            phones=phone_totals(data), words=said)
        async with self.db() as s:
            s.add(row)
            await s.commit()

    async def _rows(self, tenant_id: str | None, learner_id: str) -> list[AssessmentRecord]:
        async with self.db() as s:
            rows = (await s.exec(
                select(AssessmentRecord)
                .where(AssessmentRecord.tenant_id == tenant_id,
                       AssessmentRecord.learner_id == learner_id)
                .order_by(AssessmentRecord.id.desc()).limit(WINDOW))).all()
            return list(reversed(rows))

    async def progress(self, tenant_id: str | None, learner_id: str) -> LearnerProgressOut:
        rows = await self._rows(tenant_id, learner_id)
        async with self.db() as s:
            sessions = (await s.exec(
                select(PlaySession.id, PlaySession.lesson_id, PlaySession.status)
                .where(PlaySession.tenant_id == tenant_id,
                       PlaySession.learner_id == learner_id))).all()
            texts = (await s.exec(
                select(Turn.text).join(PlaySession, Turn.session_id == PlaySession.id)
                .where(PlaySession.tenant_id == tenant_id,
                       PlaySession.learner_id == learner_id))).all()
            total = (await s.exec(
                select(func.count()).select_from(AssessmentRecord)
                .where(AssessmentRecord.tenant_id == tenant_id,
                       AssessmentRecord.learner_id == learner_id))).one()
        if not rows and not sessions:
            raise NotFound(f"no learner {learner_id!r} (no sessions or assessments yet)")
        stats = merge(r.phones for r in rows)
        words = {w for t in texts for w in normalize(t).split()}
        words |= {w for r in rows for w in r.words}
        return LearnerProgressOut(
            learner_id=learner_id,
            assessments=total,
            sessions=len(sessions),
            lessons_completed=len({lesson for _, lesson, st in sessions if st == "completed"}),
            phonemes=[PhonemeProgressOut(phone=p.phone, count=p.count, mean_score=p.mean_score,
                                         wrong_rate=p.wrong_rate) for p in stats.values()],
            weakest=weakest(stats),
            accuracy=_trend([r.accuracy for r in rows]),
            fluency=_trend([r.fluency for r in rows]),
            speech_rate_wpm=_trend([r.speech_rate_wpm for r in rows]),
            words_used=len(words),
            history=[HistoryPointOut(at=r.created_at, source=r.source, accuracy=r.accuracy,
                                     fluency=r.fluency, speech_rate_wpm=r.speech_rate_wpm,
                                     phonemes=phone_means(r.phones))
                     for r in rows[-HISTORY:]],
        )

    async def practice(self, tenant_id: str | None, learner_id: str, n: int) -> PracticeOut:
        progress = await self.progress(tenant_id, learner_id)
        if not progress.weakest:
            raise NotFound(f"learner {learner_id!r} has no assessed speech to practise from")
        from speech.pronunciation.practice import practice_words

        picked = await asyncio.to_thread(practice_words, progress.weakest, n)
        words = [PracticeWordOut(word=w.word, phones=list(w.phones), targets=list(w.targets))
                 for w in picked]
        return PracticeOut(learner_id=learner_id, weak_phonemes=progress.weakest, words=words,
                           lesson=drill_lesson(learner_id, progress.weakest, words))


def _trend(values: list[float]) -> TrendOut:
    recent = values[-RECENT:]
    return TrendOut(latest=values[-1] if values else None,
                    mean=round(sum(values) / len(values), 1) if values else None,
                    slope=trend(recent), recent=recent)


def drill_lesson(learner_id: str, weak: list[str], words: list[PracticeWordOut]) -> dict[str, Any]:
    """A lesson document: one state per word ("Say: three"), then a goal."""
    ids = [str(uuid.uuid4()) for _ in range(len(words) + 1)]
    states: list[dict[str, Any]] = []
    for i, w in enumerate(words):
        states.append({
            "id": ids[i], "name": f"word {i + 1}",
            "lines": [f"Say: {w.word}." if i else
                      f"Let's practise {', '.join(weak)}. Say: {w.word}."],
            "expects": [{"id": str(uuid.uuid4()), "target": ids[i + 1], "intent": "say",
                         "examples": [w.word]}],
        })
    states.append({"id": ids[-1], "name": "done", "kind": "goal",
                   "lines": ["Well done! That's the whole drill."]})
    return {"id": f"drill-{uuid.uuid4().hex[:8]}", "title": f"Sound drill: {', '.join(weak)}",
            "mission": f"Practise the sounds {', '.join(weak)} ({learner_id})",
            "initial": ids[0], "states": states}

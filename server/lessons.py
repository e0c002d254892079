"""Lessons as versioned documents: create, save a version, publish, drafts, built-ins.

A saved version is immutable; sessions pin the version they started on, so
publishing a new one never changes a conversation already under way.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import or_, select

from dialog.builtin import builtin_lessons
from dialog.lesson import Lesson
from dialog.machine import CompiledLesson, LessonCache
from dialog.validation import ensure_valid, validate_lesson
from server.auth import Principal
from server.db.models import Lesson as LessonRow
from server.db.models import LessonVersion
from server.errors import ApiError, Forbidden, NotFound
from server.schemas import (
    DraftOut,
    LessonCreate,
    LessonOut,
    LessonSummary,
    ValidationIssueOut,
    ValidationOut,
    VersionCreate,
    VersionOut,
)

#: Called with each version that becomes published (and each built-in at seed time),
#: after the commit; it must not block (the lesson classifiers schedule a training).
OnPublish = Callable[[Lesson, int], None]

#: The key of a draft that holds the editor's own data (box positions), never validated.
DRAFT_LAYOUT = "layout"


class LessonService:
    def __init__(self, db: async_sessionmaker[AsyncSession], cache: LessonCache,
                 on_publish: OnPublish | None = None) -> None:
        self.db = db
        self.cache = cache
        self.on_publish = on_publish

    # --- reading ------------------------------------------------------------------

    async def list(self, who: Principal) -> list[LessonSummary]:
        async with self.db() as s:
            query = select(LessonRow).where(
                or_(LessonRow.public.is_(True), LessonRow.tenant_id == who.tenant_id)
                if who.tenant_id else LessonRow.public.is_(True)
            ).order_by(LessonRow.created_at)
            rows = (await s.exec(query)).all()
            docs = {}
            for row in rows:
                v = row.published_version or row.latest_version
                doc = await s.get(LessonVersion, (row.id, v))
                docs[row.id] = doc.document if doc else {}
            return [_summary(r, who, docs[r.id]) for r in rows]

    async def get(self, who: Principal, lesson_id: str, version: int | None = None) -> LessonOut:
        async with self.db() as s:
            row = await self._visible(s, who, lesson_id)
            v = version or row.published_version or row.latest_version
            stored = await s.get(LessonVersion, (row.id, v))
            if stored is None:
                raise NotFound(f"lesson {lesson_id!r} has no version {v}")
            doc = Lesson.model_validate(stored.document)
            return LessonOut(**_summary(row, who, stored.document).model_dump(), version=v,
                             document=doc)

    async def versions(self, who: Principal, lesson_id: str) -> list[VersionOut]:
        async with self.db() as s:
            row = await self._visible(s, who, lesson_id)
            query = select(LessonVersion).where(LessonVersion.lesson_id == row.id)
            rows = (await s.exec(query.order_by(LessonVersion.version))).all()
            return [_version_out(v, row.published_version) for v in rows]

    async def playable(self, who: Principal, lesson_id: str, version: int | None) -> int:
        """The version a new session pins; the lesson must be visible to the caller."""
        async with self.db() as s:
            row = await self._visible(s, who, lesson_id)
            v = version or row.published_version
            if v is None:
                raise ApiError(f"lesson {lesson_id!r} has no published version",
                               status=409, code="not_published")
            if v < 1 or v > row.latest_version:
                raise NotFound(f"lesson {lesson_id!r} has no version {v}")
            return v

    async def compiled(self, lesson_id: str, version: int) -> CompiledLesson:
        """The compiled machine for a version (cached; versions never change)."""
        hit = self.cache.get(lesson_id, version)
        if hit is not None:
            return hit
        async with self.db() as s:
            stored = await s.get(LessonVersion, (lesson_id, version))
        if stored is None:
            raise NotFound(f"lesson {lesson_id!r} has no version {version}")
        return self.cache.get_or_compile(Lesson.model_validate(stored.document), version)

    # --- writing ------------------------------------------------------------------

    async def create(self, who: Principal, body: LessonCreate) -> LessonOut:
        lesson_id = uuid.uuid4().hex
        doc = body.document.model_copy(update={"id": lesson_id})
        ensure_valid(doc)
        async with self.db() as s:
            row = LessonRow(id=lesson_id, tenant_id=who.tenant_id, public=body.public,
                            title=doc.title, latest_version=1,
                            published_version=1 if body.publish else None)
            s.add(row)
            await s.flush()
            s.add(_new_version(lesson_id, 1, doc))
            await s.commit()
        if body.publish:
            self._published(doc, 1)
        return await self.get(who, lesson_id, 1)

    async def add_version(self, who: Principal, lesson_id: str, body: VersionCreate) -> VersionOut:
        doc = body.document.model_copy(update={"id": lesson_id})
        ensure_valid(doc)
        async with self.db() as s:
            row = await self._owned(s, who, lesson_id)
            return await self._append(s, row, doc, body.publish)

    async def publish(self, who: Principal, lesson_id: str, version: int) -> LessonSummary:
        async with self.db() as s:
            row = await self._owned(s, who, lesson_id)
            stored = await s.get(LessonVersion, (lesson_id, version))
            if stored is None:
                raise NotFound(f"lesson {lesson_id!r} has no version {version}")
            row.published_version = version
            row.updated_at = datetime.now(UTC)
            s.add(row)
            await s.commit()
            self._published(Lesson.model_validate(stored.document), version)
            return _summary(row, who, stored.document)

    async def save_draft(self, who: Principal, lesson_id: str, document: dict[str, Any]
                         ) -> DraftOut:
        """Autosave; a new lesson id (a client-generated UUID) creates the lesson, unversioned.

        The editor names a lesson before it is valid, so the first autosave of a new
        lesson cannot wait for ``POST /v1/lessons`` (which needs a playable document).
        """
        async with self.db() as s:
            row = await s.get(LessonRow, lesson_id)
            if row is None and who.tenant_id:
                row = _new_draft_row(who, lesson_id, document)
                s.add(row)
                await s.flush()
            else:
                row = await self._owned(s, who, lesson_id)
            row.draft = document
            row.draft_updated_at = datetime.now(UTC)
            if row.latest_version == 0:  # a draft-only lesson is listed by its draft's title
                row.title = _draft_title(document)
            s.add(row)
            await s.commit()
            return DraftOut(lesson_id=lesson_id, document=document,
                            updated_at=row.draft_updated_at, issues=check_draft(document))

    async def get_draft(self, who: Principal, lesson_id: str) -> DraftOut:
        async with self.db() as s:
            row = await self._owned(s, who, lesson_id)
            issues = check_draft(row.draft) if row.draft else []
            return DraftOut(lesson_id=lesson_id, document=row.draft,
                            updated_at=row.draft_updated_at, issues=issues)

    async def seed_builtin(self) -> list[str]:
        """Insert or update the built-in public lessons; a changed document adds a version."""
        changed = []
        async with self.db() as s:
            for doc in builtin_lessons():
                row = await s.get(LessonRow, doc.id)
                if row is None:
                    row = LessonRow(id=doc.id, tenant_id=None, public=True, title=doc.title,
                                    latest_version=0)
                    s.add(row)
                    await s.flush()
                else:
                    latest = await s.get(LessonVersion, (doc.id, row.latest_version))
                    if latest is not None and latest.content_hash == doc.content_hash():
                        if row.published_version == row.latest_version:
                            self._published(doc, row.latest_version)
                        continue
                await self._append(s, row, doc, publish=True)
                changed.append(doc.id)
        return changed

    # --- helpers ------------------------------------------------------------------

    async def _append(self, s: AsyncSession, row: LessonRow, doc: Lesson, publish: bool
                      ) -> VersionOut:
        latest = await s.get(LessonVersion, (row.id, row.latest_version))
        if latest is not None and latest.content_hash == doc.content_hash():
            # Saving what the latest version already says (the editor's "try it" twice)
            # adds nothing; publishing it publishes that version.
            if publish and row.published_version != latest.version:
                row.published_version = latest.version
                row.updated_at = datetime.now(UTC)
                s.add(row)
                await s.commit()
                self._published(doc, latest.version)
            return _version_out(latest, row.published_version)
        row.latest_version += 1
        row.title = doc.title
        row.updated_at = datetime.now(UTC)
        if publish:
            row.published_version = row.latest_version
        version = _new_version(row.id, row.latest_version, doc)
        s.add(row)
        s.add(version)
        await s.commit()
        if publish:
            self._published(doc, row.latest_version)
        return _version_out(version, row.published_version)

    def _published(self, doc: Lesson, version: int) -> None:
        if self.on_publish is not None:
            self.on_publish(doc, version)

    async def _visible(self, s: AsyncSession, who: Principal, lesson_id: str) -> LessonRow:
        row = await s.get(LessonRow, lesson_id)
        if row is None or not (row.public or (who.tenant_id and row.tenant_id == who.tenant_id)):
            raise NotFound(f"no lesson {lesson_id!r}")
        return row

    async def _owned(self, s: AsyncSession, who: Principal, lesson_id: str) -> LessonRow:
        row = await self._visible(s, who, lesson_id)
        if row.tenant_id is None or row.tenant_id != who.tenant_id:
            raise Forbidden(f"lesson {lesson_id!r} is not yours to change")
        return row


def check(document: dict[str, Any]) -> ValidationOut:
    """Validate a document without saving it (the editor's live check)."""
    try:
        lesson = Lesson.model_validate(document)
    except ValidationError as exc:
        issues = [ValidationIssueOut(code="schema", message=f"{'.'.join(map(str, e['loc']))}: "
                                     f"{e['msg']}") for e in exc.errors()[:20]]
        return ValidationOut(valid=False, issues=issues)
    found = [ValidationIssueOut(code=i.code, message=i.message, state=i.state)
             for i in validate_lesson(lesson)]
    return ValidationOut(valid=not found, issues=found)


def check_draft(document: dict[str, Any]) -> list[ValidationIssueOut]:
    """A draft's issues; its editor-only ``layout`` (box positions) is not part of a lesson."""
    return check({k: v for k, v in document.items() if k != DRAFT_LAYOUT}).issues


def _draft_title(document: dict[str, Any]) -> str:
    title = document.get("title")
    return ((title.strip() if isinstance(title, str) else "") or "Untitled lesson")[:200]


def _new_draft_row(who: Principal, lesson_id: str, document: dict[str, Any]) -> LessonRow:
    try:
        uuid.UUID(lesson_id)
    except ValueError:
        raise ApiError(f"a new lesson's id must be a UUID, not {lesson_id!r}", status=422,
                       code="bad_lesson_id") from None
    return LessonRow(id=lesson_id, tenant_id=who.tenant_id, public=False,
                     title=_draft_title(document), latest_version=0)


def _new_version(lesson_id: str, version: int, doc: Lesson) -> LessonVersion:
    return LessonVersion(lesson_id=lesson_id, version=version,
                         document=doc.model_dump(mode="json"), content_hash=doc.content_hash())


def _summary(row: LessonRow, who: Principal, document: dict[str, Any]) -> LessonSummary:
    return LessonSummary(
        id=row.id, title=document.get("title", row.title), mission=document.get("mission", ""),
        level=document.get("level", ""), public=row.public,
        owned=bool(who.tenant_id and row.tenant_id == who.tenant_id),
        latest_version=row.latest_version, published_version=row.published_version,
        draft_updated_at=row.draft_updated_at if row.tenant_id == who.tenant_id else None,
    )


def _version_out(v: LessonVersion, published: int | None) -> VersionOut:
    return VersionOut(lesson_id=v.lesson_id, version=v.version, content_hash=v.content_hash,
                      created_at=v.created_at, published=v.version == published)

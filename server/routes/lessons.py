"""Lessons: public ones for anyone, a tenant's own for its keys."""

from __future__ import annotations

from server.api import Call
from server.errors import ApiError
from server.lessons import check
from server.routes._api import api
from server.schemas import (
    DraftIn,
    DraftOut,
    LessonCreate,
    LessonOut,
    LessonSummary,
    ValidationOut,
    VersionCreate,
    VersionOut,
)


def _version(call: Call) -> int:
    raw = call.params.get("version") or call.request.query_params.get("version")
    if raw is None:
        return 0
    if not raw.isdigit() or int(raw) < 1:
        raise ApiError(f"version must be a positive integer, not {raw!r}", status=422,
                       code="invalid_request")
    return int(raw)


@api.route("GET", "/v1/lessons", summary="Public lessons and the caller's own",
           tag="lessons", auth="optional", response=list[LessonSummary])
async def list_lessons(call: Call) -> list[LessonSummary]:
    return await call.services.lessons.list(call.principal)


@api.route("POST", "/v1/lessons", summary="Create a lesson (validated; version 1)",
           tag="lessons", body=LessonCreate, response=LessonOut, status=201, errors=(422,))
async def create_lesson(call: Call) -> LessonOut:
    out = await call.services.lessons.create(call.principal, call.body)
    await _prepare_speech(call, out.id, out.published_version)
    return out


@api.route("POST", "/v1/lessons/validate", summary="Validate a document without saving",
           tag="lessons", auth="optional", body=DraftIn, response=ValidationOut)
async def validate_lesson(call: Call) -> ValidationOut:
    return check(call.body.document)


@api.route("GET", "/v1/lessons/{lesson_id}", summary="A lesson (published version unless "
           "?version=N)", tag="lessons", auth="optional", response=LessonOut, errors=(404,),
           query={"version": "a version number"})
async def get_lesson(call: Call) -> LessonOut:
    return await call.services.lessons.get(call.principal, call.params["lesson_id"],
                                           _version(call) or None)


@api.route("GET", "/v1/lessons/{lesson_id}/versions", summary="All versions of a lesson",
           tag="lessons", auth="optional", response=list[VersionOut], errors=(404,))
async def list_versions(call: Call) -> list[VersionOut]:
    return await call.services.lessons.versions(call.principal, call.params["lesson_id"])


@api.route("POST", "/v1/lessons/{lesson_id}/versions", summary="Save a new immutable version",
           tag="lessons", body=VersionCreate, response=VersionOut, status=201,
           errors=(403, 404, 422))
async def add_version(call: Call) -> VersionOut:
    return await call.services.lessons.add_version(call.principal, call.params["lesson_id"],
                                                   call.body)


@api.route("POST", "/v1/lessons/{lesson_id}/versions/{version}/publish",
           summary="Publish a version: new sessions pin it", tag="lessons",
           response=LessonSummary, errors=(403, 404))
async def publish_version(call: Call) -> LessonSummary:
    out = await call.services.lessons.publish(call.principal, call.params["lesson_id"],
                                              _version(call))
    await _prepare_speech(call, out.id, out.published_version)
    return out


async def _prepare_speech(call: Call, lesson_id: str, version: int | None) -> None:
    """A published version's state language models start building now, in the background."""
    if version is not None:
        compiled = await call.services.lessons.compiled(lesson_id, version)
        call.services.speech.prepare_lesson(compiled)


@api.route("PUT", "/v1/lessons/{lesson_id}/draft", summary="Autosave the editor's draft",
           tag="lessons", body=DraftIn, response=DraftOut, errors=(403, 404))
async def save_draft(call: Call) -> DraftOut:
    return await call.services.lessons.save_draft(call.principal, call.params["lesson_id"],
                                                  call.body.document)


@api.route("GET", "/v1/lessons/{lesson_id}/draft", summary="The editor's draft", tag="lessons",
           response=DraftOut, errors=(403, 404))
async def get_draft(call: Call) -> DraftOut:
    return await call.services.lessons.get_draft(call.principal, call.params["lesson_id"])

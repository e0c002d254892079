"""A tenant's learners: pronunciation progress and a practice drill for their weak sounds."""

from __future__ import annotations

from server.api import Call
from server.errors import ApiError
from server.routes._api import api
from server.schemas import LearnerProgressOut, PracticeOut

_WORDS = {"words": "how many practice words (1 to 30, default 10)"}


def _learner(call: Call) -> str:
    learner = call.params["learner_id"]
    if not 0 < len(learner) <= 200:
        raise ApiError("a learner id has 1 to 200 characters", status=422, code="invalid_id")
    return learner


@api.route("GET", "/v1/learners/{learner_id}/progress", summary="A learner's running accuracy "
           "per phoneme, fluency and accuracy trends, words used, lessons completed",
           tag="learners", auth="tenant", response=LearnerProgressOut, errors=(404,))
async def progress(call: Call) -> LearnerProgressOut:
    return await call.services.progress.progress(call.principal.tenant_id, _learner(call))


@api.route("GET", "/v1/learners/{learner_id}/practice", summary="Real words dense in the "
           "learner's weakest phonemes, as a drill lesson document", tag="learners",
           auth="tenant", response=PracticeOut, errors=(404, 422), query=_WORDS)
async def practice(call: Call) -> PracticeOut:
    raw = call.request.query_params.get("words", "10")
    if not raw.isdigit() or not 1 <= int(raw) <= 30:
        raise ApiError("words is a number from 1 to 30", status=422, code="invalid_query")
    return await call.services.progress.practice(call.principal.tenant_id, _learner(call),
                                                 int(raw))

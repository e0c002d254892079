"""Pronunciation assessment as a tenant API: a WAV and a reference text in, phone scores out."""

from __future__ import annotations

import asyncio

import numpy as np

from server.api import Call
from server.errors import ApiError
from server.routes._api import api
from server.routes.sessions import audio_body
from server.schemas import AssessmentOut
from speech.audio import decode_wav
from speech.lm.base import normalize
from speech.pronunciation.assessor import MAX_REFERENCE_WORDS

_QUERY = {
    "reference": "the text the learner was asked to say (required, at most 500 characters)",
    "recognize": "true (default): recognise the audio to find omitted and inserted words; "
    "false: score the phones only",
    "learner_id": "the tenant's learner id: keep the assessment for their progress",
}


@api.route("POST", "/v1/pronunciation/assess", summary="Score a recording against a reference "
           "text phone by phone (body: an audio file, Content-Type audio/wav; any sample rate "
           "and channel count)", tag="pronunciation", auth="tenant", response=AssessmentOut,
           errors=(400, 413, 415, 422), query=_QUERY)
async def assess(call: Call) -> AssessmentOut:
    reference = call.request.query_params.get("reference", "")
    words = len(normalize(reference).split())
    if not words or len(reference) > 500 or words > MAX_REFERENCE_WORDS:
        raise ApiError(f"give the reference text as ?reference= (1 to {MAX_REFERENCE_WORDS} "
                       "words, at most 500 characters)", status=422, code="bad_reference")
    learner = call.request.query_params.get("learner_id")
    if learner is not None and not 0 < len(learner) <= 200:
        raise ApiError("learner_id has 1 to 200 characters", status=422, code="invalid_query")
    flag = call.request.query_params.get("recognize", "true").lower()
    if flag not in ("true", "false", "1", "0"):
        raise ApiError("recognize is true or false", status=422, code="invalid_query")
    speech = call.services.speech
    settings = call.services.settings
    audio = await audio_body(call.request, settings.max_audio_upload_bytes)
    pcm = await asyncio.to_thread(decode_wav, audio, max_seconds=settings.max_utterance_s)
    samples = np.round(pcm * 32767.0).astype(np.int16)
    await speech.check_speech(samples)
    recognized = None
    if flag in ("true", "1"):
        recognized = (await speech.recognize(samples, [reference]))["text"]
    assessed = await speech.assess(samples, reference, recognized)
    if learner:
        await call.services.progress.record(call.principal.tenant_id, learner, None, "api",
                                            assessed)
    return assessed

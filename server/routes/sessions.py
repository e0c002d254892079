"""Play sessions over HTTP (the WebSocket in ``server.ws`` runs the same service)."""

from __future__ import annotations

import asyncio

import numpy as np

from server.api import Call
from server.errors import ApiError
from server.play import check_text
from server.routes._api import api
from server.schemas import (
    SessionCreate,
    SessionDetail,
    SessionOut,
    SpokenTurnOut,
    TranscriptOut,
    TurnIn,
    TurnOut,
)
from speech.audio import decode_wav

_TOKEN = {"token": "the session token (or send X-Session-Token, or a tenant key)"}


async def _session(call: Call):
    token = call.request.headers.get("x-session-token") or call.request.query_params.get("token")
    return await call.services.play.authorize(call.principal, call.params["session_id"], token)


@api.route("POST", "/v1/sessions", summary="Start a session on a lesson (public lessons need "
           "no key)", tag="sessions", auth="optional", body=SessionCreate, response=SessionOut,
           status=201, errors=(404, 409))
async def create_session(call: Call) -> SessionOut:
    return await call.services.play.create(call.principal, call.body)


@api.route("GET", "/v1/sessions/{session_id}", summary="State, transcript and progress",
           tag="sessions", auth="optional", response=SessionDetail, errors=(404,), query=_TOKEN)
async def get_session(call: Call) -> SessionDetail:
    row = await _session(call)
    return await call.services.play.detail(row.id)


@api.route("POST", "/v1/sessions/{session_id}/turns", summary="A learner's text turn",
           tag="sessions", auth="optional", body=TurnIn, response=TurnOut,
           errors=(404, 409, 429), query=_TOKEN)
async def post_turn(call: Call) -> TurnOut:
    row = await _session(call)
    return await call.services.play.turn(row, check_text(call.body.text), "http")


@api.route("POST", "/v1/sessions/{session_id}/audio-turns",
           summary="A learner's spoken turn: the body is an audio file (Content-Type audio/wav; "
           "any sample rate and channel count; FLAC and OGG too)", tag="sessions",
           auth="optional", response=SpokenTurnOut, errors=(400, 404, 409, 413, 415, 422, 429),
           query=_TOKEN)
async def post_audio_turn(call: Call) -> SpokenTurnOut:
    row = await _session(call)
    settings = call.services.settings
    audio = await audio_body(call.request, settings.max_audio_upload_bytes)
    pcm = await asyncio.to_thread(decode_wav, audio, max_seconds=settings.max_utterance_s)
    samples = np.round(pcm * 32767.0).astype(np.int16)
    await call.services.speech.check_speech(samples)
    out, assessing = await call.services.speech.spoken_turn(row, samples, "http-audio")
    if assessing is not None:
        out.pronunciation = await assessing
    return out


async def audio_body(request, limit: int) -> bytes:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not (ctype.startswith("audio/") or ctype == "application/octet-stream"):
        raise ApiError(f"send the audio file itself with an audio/* Content-Type (got "
                       f"{ctype or 'none'!r})", status=415, code="unsupported_media_type")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(f"audio over {limit} bytes", status=413, code="payload_too_large")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiError(f"audio over {limit} bytes", status=413, code="payload_too_large")
    return bytes(body)


@api.route("POST", "/v1/sessions/{session_id}/end", summary="End a session", tag="sessions",
           auth="optional", response=SessionDetail, errors=(404,), query=_TOKEN)
async def end_session(call: Call) -> SessionDetail:
    row = await _session(call)
    return await call.services.play.end(row)


@api.route("GET", "/v1/sessions/{session_id}/transcript", summary="Export the transcript "
           "(the input of `parley replay`)", tag="sessions", auth="optional",
           response=TranscriptOut, errors=(404,), query=_TOKEN)
async def export_transcript(call: Call) -> TranscriptOut:
    row = await _session(call)
    detail = await call.services.play.detail(row.id)
    return TranscriptOut(session_id=detail.id, lesson_id=detail.lesson_id,
                         version=detail.version, status=detail.status, turns=detail.transcript)

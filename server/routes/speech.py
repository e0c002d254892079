"""Synthesised speech on its own: the browser's "listen" button plays a word or a phrase.

The role-play page lets a learner hear the model pronunciation of a word they
got wrong; bot lines reach the WebSocket already spoken, so this is for short
texts only (a word, a minimal pair, a key phrase).
"""

from __future__ import annotations

from starlette.responses import Response

from server.api import Call
from server.errors import ApiError
from server.routes._api import api

MAX_SAY_CHARS = 200

_QUERY = {
    "text": f"what to say (1 to {MAX_SAY_CHARS} characters)",
    "voice": "an espeak-ng English voice, e.g. en-us (default), en-gb, en-us+f3",
}


@api.route("GET", "/v1/speech/say", summary="A short text spoken (16-bit PCM WAV): the model "
           "pronunciation of a word or phrase", tag="speech", auth="optional",
           errors=(400, 422), query=_QUERY)
async def say(call: Call) -> Response:
    text = call.request.query_params.get("text", "").strip()
    if not 0 < len(text) <= MAX_SAY_CHARS:
        raise ApiError(f"give ?text= of 1 to {MAX_SAY_CHARS} characters", status=422,
                       code="invalid_query")
    voice = call.request.query_params.get("voice") or "en-us"
    audio = await call.services.models.synthesize(text, voice=voice)
    # The same text and voice always give the same audio: let the browser keep it.
    return Response(audio, media_type="audio/wav",
                    headers={"Cache-Control": "public, max-age=86400"})

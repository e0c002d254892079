"""The play WebSocket: JSON control and text turns, audio turns, spoken replies.

Every message type is listed in the README's protocol section. A bad message
or frame gets an ``error`` message and the socket stays open; only a failed
authorisation closes it (with 4000 + the HTTP status, e.g. 4404).

Audio in: binary frames of 16-bit little-endian mono PCM at 16 kHz, 20-200 ms
each. The connection's :class:`server.speech.Listener` finds where speech starts
and ends (or the client sends ``audio_end``, push-to-talk: with
``?endpointing=push_to_talk`` or an ``endpointing`` message only that ends an
utterance, however long the learner pauses while holding the button); partial transcripts
go out while the learner speaks, and each utterance is recognised and played as
a turn in a task of its own, in order, so frames keep flowing meanwhile.

With a voice chosen (``?voice=en-gb`` or a ``voice`` message) every bot line
also goes out as speech: an ``audio`` message naming the line, then one binary
frame with its WAV, after the text, so the text never waits for synthesis.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from starlette.websockets import WebSocket, WebSocketDisconnect

from server.auth import authenticate
from server.errors import ApiError, problem
from server.play import check_text
from speech.audio import SAMPLE_RATE
from speech.endpoint import SpeechEnded, SpeechStarted
from speech.errors import AudioTooFast

log = logging.getLogger("parley.ws")
ROUTE = "/v1/sessions/{session_id}/stream"
_ENDPOINTING = ("vad", "push_to_talk")


async def stream(ws: WebSocket) -> None:
    ws.scope["parley.route"] = ROUTE
    services = ws.app.state.services
    session_id = ws.path_params["session_id"]
    await ws.accept()
    try:
        principal = await authenticate(ws, "optional")
        token = ws.query_params.get("token") or ws.headers.get("x-session-token")
        row = await services.play.authorize(principal, session_id, token)
    except Exception as exc:
        status, body = problem(exc)
        await ws.send_json({"type": "error", **body})
        await ws.close(code=4000 + status)
        return
    services.metrics.websockets.inc()
    conn = _Conn(ws, services, row)
    try:
        detail = await _send_session(conn, "session")
        if ws.query_params.get("endpointing"):
            try:
                await _set_endpointing(conn, ws.query_params["endpointing"], None)
            except Exception as exc:
                await conn.error(exc, None)
        if ws.query_params.get("voice"):
            try:
                await _set_voice(conn, ws.query_params["voice"], None)
                await _speak(conn, detail.prompt, None)
            except Exception as exc:  # an unknown voice: say so, keep the socket
                await conn.error(exc, None)
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            if await _handle(conn, message) == "close":
                await conn.drain()
                await ws.close(code=1000)
                return
    except WebSocketDisconnect:
        return
    finally:
        conn.cancel()
        services.metrics.websockets.dec()


@dataclass(eq=False)
class _Conn:
    """One connection: what it chose, its audio listener, its background turn tasks.

    Messages go out through :meth:`send` under a lock, because spoken turns and
    partials are sent from tasks while the receive loop answers other messages,
    and an ``audio`` header must be followed directly by its binary frame.
    """

    ws: WebSocket
    services: Any
    row: Any
    voice: str | None = None
    push_to_talk: bool = False
    listener: Any = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _turns: asyncio.Task | None = None  # the last spoken turn (each waits for the previous)
    _too_fast: bool = False

    async def send(self, message: dict[str, Any], audio: bytes | None = None) -> None:
        async with self._lock:
            await self.ws.send_json(message)
            if audio is not None:
                await self.ws.send_bytes(audio)

    async def error(self, exc: BaseException, msg_id: Any, **extra: Any) -> None:
        status, body = problem(exc)
        await self.send({"type": "error", "id": msg_id, "status": status, **extra, **body})

    def spawn_turn(self, event: SpeechEnded, utterance: int, msg_id: Any) -> None:
        previous, live = self._turns, self.listener.end_live()
        self._turns = asyncio.create_task(
            _spoken_turn(self, event, utterance, msg_id, previous, live))

    async def drain(self) -> None:
        if self._turns is not None:
            await asyncio.gather(self._turns, return_exceptions=True)

    def cancel(self) -> None:
        live = self.listener.live if self.listener is not None else None
        for task in (self._turns, live.task if live is not None else None):
            if task is not None:
                task.cancel()


async def _handle(conn: _Conn, message: dict[str, Any]) -> str | None:
    msg_id = None
    try:
        if message.get("bytes") is not None:
            await _audio_frame(conn, message["bytes"])
            return None
        data = _parse(message.get("text") or "", conn.services.settings.max_message_bytes)
        msg_id = data.get("id")
        kind = data.get("type")
        if kind == "text":
            text = data.get("text")
            if not isinstance(text, str):
                raise ApiError("a text message needs a string 'text'", code="invalid_message")
            await conn.drain()  # a typed turn never overtakes a spoken one
            turn = await conn.services.play.turn(conn.row, check_text(text[:2000]), "websocket")
            await conn.send({"type": "turn", "id": msg_id, "turn": turn.model_dump(mode="json")})
            await _speak(conn, turn.bot_lines, msg_id)
        elif kind == "audio_end":
            await _audio_end(conn, msg_id)
        elif kind == "voice":
            await _set_voice(conn, data.get("voice"), msg_id)
        elif kind == "endpointing":
            await _set_endpointing(conn, data.get("mode"), msg_id)
        elif kind == "ping":
            await conn.send({"type": "pong", "id": msg_id})
        elif kind == "state":
            await conn.drain()
            await _send_session(conn, "session", msg_id)
        elif kind == "end":
            await conn.drain()
            await conn.services.play.end(conn.row)
            await _send_session(conn, "ended", msg_id)
            return "close"
        else:
            raise ApiError(f"unknown message type {kind!r}; expected text, audio_end, voice, "
                           "endpointing, ping, state or end", code="unknown_type")
    except WebSocketDisconnect:
        raise
    except Exception as exc:  # answered in the one error shape; unknown ones are logged 500s
        await conn.error(exc, msg_id)
    return None


# -- audio in -----------------------------------------------------------------------------

async def _audio_frame(conn: _Conn, data: bytes) -> None:
    if conn.listener is None:
        conn.listener = await conn.services.speech.listener()
        conn.listener.endpointer.push_to_talk = conn.push_to_talk
    listener = conn.listener
    try:
        events = await listener.push(data)
    except AudioTooFast as exc:
        if not conn._too_fast:  # one error per flood, not one per dropped frame
            conn._too_fast = True
            await conn.error(exc, None, utterance=listener.utterance)
        return
    conn._too_fast = False
    for event in events:
        at_ms = round(1000 * (event.start if isinstance(event, SpeechStarted)
                              else event.detected_at) / SAMPLE_RATE)
        if isinstance(event, SpeechStarted):
            listener.start_live(conn._turns)
            await conn.send({"type": "speech_started", "utterance": listener.utterance,
                             "at_ms": at_ms})
        else:
            await conn.send({"type": "speech_ended", "utterance": listener.utterance,
                             "at_ms": at_ms, "forced": False})
            conn.spawn_turn(event, listener.utterance, None)
    chunk = listener.next_chunk()
    if chunk is not None:
        live = listener.live
        live.task = asyncio.create_task(_feed(conn, live, chunk, listener.utterance))


async def _audio_end(conn: _Conn, msg_id: Any) -> None:
    listener = conn.listener
    event = listener.end() if listener is not None else None
    if event is None:
        raise ApiError("audio_end, but no speech was heard since the last utterance",
                       status=422, code="no_speech")
    await conn.send({"type": "speech_ended", "id": msg_id, "utterance": listener.utterance,
                     "at_ms": round(1000 * event.detected_at / SAMPLE_RATE), "forced": True})
    conn.spawn_turn(event, listener.utterance, msg_id)


async def _feed(conn: _Conn, live: Any, chunk: np.ndarray, utterance: int) -> None:
    """Decode the next chunk live; a changed transcript goes out as a ``partial`` (throttled)."""
    try:
        text = await conn.services.speech.feed(conn.row, live, chunk)
    except Exception as exc:  # a partial is a courtesy: log, never disturb the turn
        log.info("live recognition failed: %s", exc)
        live.failed = True
        return
    interval = conn.services.settings.partial_interval_ms * SAMPLE_RATE // 1000
    listener = conn.listener
    if (text and text != live.partial and live.sent - live.partial_at >= interval
            and listener.live is live):
        live.partial, live.partial_at = text, live.sent
        await conn.send({"type": "partial", "utterance": utterance, "text": text})


async def _spoken_turn(conn: _Conn, event: SpeechEnded, utterance: int, msg_id: Any,
                       previous: asyncio.Task | None, live: Any) -> None:
    if previous is not None:
        await asyncio.gather(previous, return_exceptions=True)
    try:
        out, assessing = await conn.services.speech.spoken_turn(
            conn.row, event.audio, "websocket-audio", live)
        await conn.send({"type": "transcript", "id": msg_id, "utterance": utterance,
                         **out.recognition.model_dump(mode="json")})
        await conn.send({"type": "turn", "id": msg_id, "utterance": utterance,
                         "turn": out.turn.model_dump(mode="json")})
        await _speak(conn, out.turn.bot_lines, msg_id)
        if assessing is not None:
            assessed = await assessing
            await conn.send({"type": "pronunciation", "id": msg_id, "utterance": utterance,
                             "assessment": assessed.model_dump(mode="json") if assessed
                             else None})
    except (WebSocketDisconnect, asyncio.CancelledError):
        raise
    except Exception as exc:
        try:
            await conn.error(exc, msg_id, utterance=utterance)
        except Exception:  # the socket went away meanwhile
            return


# -- JSON messages ------------------------------------------------------------------------

def _parse(text: str, limit: int) -> dict[str, Any]:
    if len(text.encode()) > limit:
        raise ApiError(f"message over {limit} bytes", status=413, code="message_too_large")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApiError(f"malformed JSON: {exc}", code="malformed_json") from exc
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ApiError("a message is a JSON object with a string 'type'", code="invalid_message")
    return data


async def _send_session(conn: _Conn, kind: str, msg_id: Any = None) -> Any:
    detail = await conn.services.play.detail(conn.row.id)
    await conn.send({"type": kind, "id": msg_id, "session": detail.model_dump(mode="json")})
    return detail


async def _set_voice(conn: _Conn, voice: Any, msg_id: Any) -> None:
    """Choose (or, with null, stop) spoken replies; an unknown voice is refused at once."""
    if voice is not None and (not isinstance(voice, str) or len(voice) > 64):
        raise ApiError("'voice' is a voice name such as 'en-us' or 'en-gb+f3', or null",
                       code="invalid_message")
    if voice:
        await conn.services.models.synthesize("Hello.", voice=voice)  # BadInput if unknown
    conn.voice = voice or None
    await conn.send({"type": "voice", "id": msg_id, "voice": conn.voice})


async def _set_endpointing(conn: _Conn, mode: Any, msg_id: Any) -> None:
    """``vad`` (trailing silence ends an utterance) or ``push_to_talk`` (only ``audio_end``)."""
    if mode not in _ENDPOINTING:
        raise ApiError("'mode' is 'vad' or 'push_to_talk'", code="invalid_message")
    conn.push_to_talk = mode == "push_to_talk"
    if conn.listener is not None:
        conn.listener.endpointer.push_to_talk = conn.push_to_talk
    await conn.send({"type": "endpointing", "id": msg_id, "mode": mode})


async def _speak(conn: _Conn, lines: list[str], msg_id: Any) -> None:
    """Each bot line as an ``audio`` header and one binary WAV frame."""
    if not conn.voice:
        return
    for index, line in enumerate(lines):
        audio = await conn.services.models.synthesize(line, voice=conn.voice)
        await conn.send({"type": "audio", "id": msg_id, "line": index, "text": line,
                         "format": "audio/wav", "bytes": len(audio)}, audio)

"""The play WebSocket: JSON control and text turns, spoken replies; audio input next.

Every message type is listed in the README's protocol section. A bad message
gets an ``error`` message and the socket stays open; only a failed
authorisation closes it (with 4000 + the HTTP status, e.g. 4404).

With a voice chosen (``?voice=en-gb`` or a ``voice`` message) every bot line
also goes out as speech: an ``audio`` message naming the line, then one binary
frame with its WAV, after the text, so the text never waits for synthesis.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from server.auth import authenticate
from server.errors import ApiError, problem
from server.play import check_text

log = logging.getLogger("parley.ws")
ROUTE = "/v1/sessions/{session_id}/stream"


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
    conn = _Conn()
    try:
        detail = await _send_session(ws, services, row.id, "session")
        if ws.query_params.get("voice"):
            try:
                await _set_voice(ws, services, conn, ws.query_params["voice"], None)
                await _speak(ws, services, conn, detail.prompt, None)
            except Exception as exc:  # an unknown voice: say so, keep the socket
                await _send_error(ws, exc, None)
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            reply = await _handle(ws, services, row, conn, message)
            if reply == "close":
                await ws.close(code=1000)
                return
    except WebSocketDisconnect:
        return
    finally:
        services.metrics.websockets.dec()


@dataclass(slots=True)
class _Conn:
    """What one connection chose (the session itself lives in the store and database)."""

    voice: str | None = None


async def _handle(ws: WebSocket, services: Any, row: Any, conn: _Conn,
                  message: dict[str, Any]) -> str | None:
    msg_id = None
    try:
        if message.get("bytes") is not None:
            raise ApiError("audio frames are not enabled on this server yet",
                           code="audio_not_enabled")
        data = _parse(message.get("text") or "", services.settings.max_message_bytes)
        msg_id = data.get("id")
        kind = data.get("type")
        if kind == "text":
            text = data.get("text")
            if not isinstance(text, str):
                raise ApiError("a text message needs a string 'text'", code="invalid_message")
            turn = await services.play.turn(row, check_text(text[:2000]), "websocket")
            await ws.send_json({"type": "turn", "id": msg_id, "turn": turn.model_dump(mode="json")})
            await _speak(ws, services, conn, turn.bot_lines, msg_id)
        elif kind == "voice":
            await _set_voice(ws, services, conn, data.get("voice"), msg_id)
        elif kind == "ping":
            await ws.send_json({"type": "pong", "id": msg_id})
        elif kind == "state":
            await _send_session(ws, services, row.id, "session", msg_id)
        elif kind == "end":
            await services.play.end(row)
            await _send_session(ws, services, row.id, "ended", msg_id)
            return "close"
        else:
            raise ApiError(f"unknown message type {kind!r}; expected text, voice, ping, state "
                           "or end", code="unknown_type")
    except WebSocketDisconnect:
        raise
    except Exception as exc:  # answered in the one error shape; unknown ones are logged 500s
        await _send_error(ws, exc, msg_id)
    return None


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


async def _send_session(ws: WebSocket, services: Any, session_id: str, kind: str,
                        msg_id: Any = None) -> Any:
    detail = await services.play.detail(session_id)
    await ws.send_json({"type": kind, "id": msg_id, "session": detail.model_dump(mode="json")})
    return detail


async def _set_voice(ws: WebSocket, services: Any, conn: _Conn, voice: Any, msg_id: Any) -> None:
    """Choose (or, with null, stop) spoken replies; an unknown voice is refused at once."""
    if voice is not None and (not isinstance(voice, str) or len(voice) > 64):
        raise ApiError("'voice' is a voice name such as 'en-us' or 'en-gb+f3', or null",
                       code="invalid_message")
    if voice:
        await services.models.synthesize("Hello.", voice=voice)  # BadInput for unknown voices
    conn.voice = voice or None
    await ws.send_json({"type": "voice", "id": msg_id, "voice": conn.voice})


async def _speak(ws: WebSocket, services: Any, conn: _Conn, lines: list[str],
                 msg_id: Any) -> None:
    """Each bot line as an ``audio`` header and one binary WAV frame."""
    if not conn.voice:
        return
    for index, line in enumerate(lines):
        audio = await services.models.synthesize(line, voice=conn.voice)
        await ws.send_json({"type": "audio", "id": msg_id, "line": index, "text": line,
                            "format": "audio/wav", "bytes": len(audio)})
        await ws.send_bytes(audio)


async def _send_error(ws: WebSocket, exc: BaseException, msg_id: Any) -> None:
    status, body = problem(exc)
    await ws.send_json({"type": "error", "id": msg_id, "status": status, **body})

"""Text role-play over HTTP and WebSocket: the same engine, both transports."""

from __future__ import annotations

import json

import pytest
from starlette.websockets import WebSocketDisconnect

from tests.helpers import assert_error


def _start(client, lesson: str = "immigration", headers: dict | None = None) -> dict:
    resp = client.post("/v1/sessions", json={"lesson_id": lesson}, headers=headers or {})
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_http_conversation_reaches_the_goal(client, immigration_script):
    session = _start(client)
    assert session["token"].startswith("st_") and session["prompt"]
    auth = {"X-Session-Token": session["token"]}
    for text in immigration_script:
        resp = client.post(f"/v1/sessions/{session['id']}/turns", json={"text": text},
                           headers=auth)
        assert resp.status_code == 200, resp.text
        assert resp.json()["bot_lines"]
    detail = client.get(f"/v1/sessions/{session['id']}", headers=auth).json()
    assert detail["status"] == "completed" and detail["progress"]["goal_reached"]
    assert [t["text"] for t in detail["transcript"]] == immigration_script
    assert_error(client.post(f"/v1/sessions/{session['id']}/turns", json={"text": "hi"},
                             headers=auth), 409, "session_finished")
    exported = client.get(f"/v1/sessions/{session['id']}/transcript", headers=auth).json()
    assert len(exported["turns"]) == len(immigration_script)


def test_websocket_conversation_reaches_the_goal(client, immigration_script):
    session = _start(client)
    url = f"/v1/sessions/{session['id']}/stream?token={session['token']}"
    with client.websocket_connect(url) as ws:
        hello = ws.receive_json()
        assert hello["type"] == "session" and hello["session"]["prompt"] == session["prompt"]
        for i, text in enumerate(immigration_script):
            ws.send_json({"type": "text", "text": text, "id": i})
            reply = ws.receive_json()
            assert reply["type"] == "turn" and reply["id"] == i, reply
        assert reply["turn"]["status"] == "completed"
        ws.send_json({"type": "ping"})
        assert ws.receive_json()["type"] == "pong"


def test_websocket_bad_messages_keep_the_socket(client):
    session = _start(client)
    url = f"/v1/sessions/{session['id']}/stream?token={session['token']}"
    with client.websocket_connect(url) as ws:
        ws.receive_json()
        cases = [
            ("{nope", "malformed_json"),
            (json.dumps({"type": "dance"}), "unknown_type"),
            (json.dumps([1, 2]), "invalid_message"),
            (json.dumps({"type": "text"}), "invalid_message"),
            (json.dumps({"type": "text", "text": "   "}), "empty_utterance"),
            (json.dumps({"type": "text", "text": "x" * 40_000}), "message_too_large"),
        ]
        for raw, code in cases:
            ws.send_text(raw)
            msg = ws.receive_json()
            assert msg["type"] == "error" and msg["error"]["code"] == code, (raw[:20], msg)
        ws.send_bytes(b"\x00\x01" * 160)  # 10 ms: frames are 20-200 ms
        assert ws.receive_json()["error"]["code"] == "bad_audio"
        # still usable, and nothing was consumed by the bad messages
        ws.send_json({"type": "state", "id": "s"})
        state = ws.receive_json()
        assert state["type"] == "session" and state["session"]["progress"]["turns"] == 0


def test_websocket_refuses_unknown_sessions_and_tokens(client):
    session = _start(client)
    for url, code in [("/v1/sessions/nope/stream", 4404),
                      (f"/v1/sessions/{session['id']}/stream?token=st_wrong", 4404),
                      (f"/v1/sessions/{session['id']}/stream?key=pk_wrong", 4401)]:
        with client.websocket_connect(url) as ws:
            assert ws.receive_json()["type"] == "error"
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
            assert closed.value.code == code


def test_resume_after_disconnect(client, immigration_script):
    session = _start(client)
    url = f"/v1/sessions/{session['id']}/stream?token={session['token']}"
    with client.websocket_connect(url) as ws:
        ws.receive_json()
        ws.send_json({"type": "text", "text": immigration_script[0]})
        first = ws.receive_json()["turn"]
    with client.websocket_connect(url) as ws:
        resumed = ws.receive_json()["session"]
        assert resumed["state"] == first["state_after"]
        assert resumed["prompt"] == first["bot_lines"]
        assert [t["text"] for t in resumed["transcript"]] == immigration_script[:1]
        ws.send_json({"type": "text", "text": immigration_script[1]})
        assert ws.receive_json()["turn"]["index"] == 2


def test_http_bad_input(client):
    session = _start(client)
    sid, auth = session["id"], {"X-Session-Token": session["token"]}
    assert_error(client.post("/v1/sessions", json={"lesson_id": "nope"}), 404)
    assert_error(client.post("/v1/sessions", json={"lesson": "immigration"}), 422)
    assert_error(client.get(f"/v1/sessions/{sid}"), 404)  # no token: not yours
    assert_error(client.get("/v1/sessions/unknown", headers=auth), 404)
    assert_error(client.post(f"/v1/sessions/{sid}/turns", json={"text": ""}, headers=auth), 400,
                 "empty_utterance")
    assert_error(client.post(f"/v1/sessions/{sid}/turns", json={"text": "x" * 3000},
                             headers=auth), 422)
    assert client.get(f"/v1/sessions/{sid}", headers=auth).json()["progress"]["turns"] == 0


def test_misses_get_hints_then_fallback(client):
    session = _start(client)
    auth = {"X-Session-Token": session["token"]}
    outcomes = []
    for _ in range(3):
        resp = client.post(f"/v1/sessions/{session['id']}/turns",
                           json={"text": "purple elephants dance quietly"}, headers=auth).json()
        outcomes.append(resp["outcome"])
    assert outcomes[0] in ("hint", "rephrase") and outcomes[-1] in ("fallback", "repeat")
    assert outcomes[0] != outcomes[-1]


def test_end_session(client):
    session = _start(client)
    auth = {"X-Session-Token": session["token"]}
    ended = client.post(f"/v1/sessions/{session['id']}/end", headers=auth)
    assert ended.status_code == 200 and ended.json()["status"] == "ended"
    assert_error(client.post(f"/v1/sessions/{session['id']}/turns", json={"text": "hello"},
                             headers=auth), 409, "session_finished")


def test_turn_rate_limit(make_client):
    import time

    client = make_client(turn_rate_per_min=3)
    session = _start(client)
    auth = {"X-Session-Token": session["token"]}
    if time.time() % 60 > 45:  # the limiter counts per clock minute: don't straddle one
        time.sleep(61 - time.time() % 60)
    codes = [client.post(f"/v1/sessions/{session['id']}/turns", json={"text": "hmm"},
                         headers=auth).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def _spoken_lines(ws) -> tuple[list[tuple[str, bytes]], dict]:
    """Read ``audio`` header + binary WAV pairs until a non-audio message; return both."""
    import io
    import wave

    lines, message = [], ws.receive()
    while "text" in message and json.loads(message["text"])["type"] == "audio":
        header = json.loads(message["text"])
        wav = ws.receive_bytes()
        assert len(wav) == header["bytes"] and header["format"] == "audio/wav"
        with wave.open(io.BytesIO(wav)) as w:
            assert w.getnframes() / w.getframerate() > 0.03 * len(header["text"])
        lines.append((header["text"], wav))
        message = ws.receive()
    return lines, message


def test_websocket_speaks_the_bot_lines_in_the_chosen_voice(client):
    session = _start(client)
    url = f"/v1/sessions/{session['id']}/stream?token={session['token']}&voice=en-gb"
    with client.websocket_connect(url) as ws:
        assert ws.receive_json()["type"] == "session"
        assert ws.receive_json() == {"type": "voice", "id": None, "voice": "en-gb"}
        ws.send_json({"type": "text", "text": "Good morning!", "id": 1})
        prompt, turn = _spoken_lines(ws)  # the first prompt, spoken, then the turn
        assert [text for text, _ in prompt] == session["prompt"]
        turn = json.loads(turn["text"])
        assert turn["type"] == "turn" and turn["turn"]["bot_lines"]
        ws.send_json({"type": "voice", "voice": "klingon", "id": 2})
        replies = []
        while True:  # the turn's audio first, then the refusal of the unknown voice
            message = ws.receive()
            if "bytes" in message and message["bytes"] is not None:
                continue
            replies.append(json.loads(message["text"]))
            if replies[-1]["type"] == "error":
                break
        assert [r["text"] for r in replies if r["type"] == "audio"] == turn["turn"]["bot_lines"]
        assert replies[-1]["id"] == 2 and replies[-1]["error"]["code"] == "unknown_voice"
        ws.send_json({"type": "voice", "voice": None, "id": 3})
        assert ws.receive_json() == {"type": "voice", "id": 3, "voice": None}
        ws.send_json({"type": "text", "text": "Here is my passport.", "id": 4})
        reply = ws.receive_json()
        assert reply["type"] == "turn" and reply["id"] == 4
        ws.send_json({"type": "ping", "id": 5})
        assert ws.receive_json() == {"type": "pong", "id": 5}  # no audio in between

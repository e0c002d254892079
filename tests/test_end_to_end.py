"""The README's run command, for real: `parley serve` with Ray Serve, driven over HTTP and WS.

This starts the server exactly as `make run` does (default settings: SQLite,
in-process session store, a local Ray cluster with the model deployments) in a
subprocess, waits for /ready, and plays the Immigration lesson to its goal over
both transports.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from websockets.asyncio.client import connect

from loadtests.harness import server, ws_url

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def live_server():
    with server(None) as (base, pid):
        yield base


def test_ready_names_every_part(live_server):
    body = httpx.get(f"{live_server}/ready", timeout=10).json()
    assert body["ready"] is True, body
    assert {"database", "store", "models.embeddings"} <= set(body["checks"])


def test_immigration_over_http_reaches_the_goal(live_server, immigration_script):
    with httpx.Client(base_url=live_server, timeout=60) as http:
        session = http.post("/v1/sessions", json={"lesson_id": "immigration"}).json()
        auth = {"X-Session-Token": session["token"]}
        for text in immigration_script:
            turn = http.post(f"/v1/sessions/{session['id']}/turns", json={"text": text},
                             headers=auth)
            assert turn.status_code == 200, turn.text
        assert turn.json()["status"] == "completed"
        metrics = http.get("/metrics").text
    # the turns went through the Ray deployments, seen from the web tier
    assert 'parley_model_call_duration_seconds_count{model="embeddings",status="ok"}' in metrics


def test_immigration_over_websocket_reaches_the_goal(live_server, immigration_script):
    async def play() -> dict:
        async with httpx.AsyncClient(base_url=live_server, timeout=60) as http:
            session = (await http.post("/v1/sessions", json={"lesson_id": "immigration"})).json()
        url = f"{ws_url(live_server)}/v1/sessions/{session['id']}/stream?token={session['token']}"
        async with connect(url) as ws:
            assert json.loads(await ws.recv())["type"] == "session"
            reply: dict = {}
            for i, text in enumerate(immigration_script):
                await ws.send(json.dumps({"type": "text", "text": text, "id": i}))
                reply = json.loads(await ws.recv())
                assert reply["type"] == "turn" and reply["id"] == i, reply
            return reply

    last = asyncio.run(play())
    assert last["turn"]["status"] == "completed"

"""Durability: with PostgreSQL and Redis a session survives a server restart."""

from __future__ import annotations

from tests.storage.conftest import REDIS_URL


def test_session_survives_restart_on_postgres_and_redis(make_client, postgres_url,
                                                        redis_prefix_sync, immigration_script):
    config = {"database_url": postgres_url, "redis_url": REDIS_URL,
              "redis_prefix": redis_prefix_sync}
    first = make_client(**config)
    session = first.post("/v1/sessions", json={"lesson_id": "immigration"}).json()
    auth = {"X-Session-Token": session["token"]}
    half = len(immigration_script) // 2
    acked = [first.post(f"/v1/sessions/{session['id']}/turns", json={"text": t},
                        headers=auth).json() for t in immigration_script[:half]]
    first.__exit__(None, None, None)  # the server process goes away

    second = make_client(**config)  # a new process: same database, same Redis
    detail = second.get(f"/v1/sessions/{session['id']}", headers=auth).json()
    assert [t["text"] for t in detail["transcript"]] == immigration_script[:half]
    assert detail["state"] == acked[-1]["state_after"]
    for text in immigration_script[half:]:
        resp = second.post(f"/v1/sessions/{session['id']}/turns", json={"text": text},
                           headers=auth)
        assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "completed"


def test_session_restored_from_database_when_store_is_empty(make_client, immigration_script):
    """The in-process store dies with the process; the database alone must suffice."""
    first = make_client()
    session = first.post("/v1/sessions", json={"lesson_id": "immigration"}).json()
    auth = {"X-Session-Token": session["token"]}
    turn = first.post(f"/v1/sessions/{session['id']}/turns", json={"text": immigration_script[0]},
                      headers=auth).json()
    first.__exit__(None, None, None)
    second = make_client()  # same SQLite file, fresh memory store
    nxt = second.post(f"/v1/sessions/{session['id']}/turns", json={"text": immigration_script[1]},
                      headers=auth).json()
    assert nxt["state_before"] == turn["state_after"] and nxt["index"] == 2

"""API keys and tenants: hashed storage, revocation, and isolation between tenants."""

from __future__ import annotations

import hashlib

from sqlmodel import select

from tests.helpers import ADMIN_KEY, assert_error, new_tenant
from tests.server.lesson_docs import tiny_lesson

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def test_admin_creates_tenants_and_keys(client):
    t = new_tenant(client, "school-one")
    assert t["key"].startswith("pk_")
    listed = client.get("/v1/admin/tenants", headers=ADMIN).json()
    assert [x["name"] for x in listed] == ["school-one"]
    assert all(x["key"] is None for x in listed)  # secrets are shown once only
    second = client.post(f"/v1/admin/tenants/{t['id']}/keys", json={"name": "ci"}, headers=ADMIN)
    assert second.status_code == 201
    keys = client.get(f"/v1/admin/tenants/{t['id']}/keys", headers=ADMIN).json()
    assert sorted(k["name"] for k in keys) == ["ci", "default"]
    assert_error(client.post("/v1/admin/tenants", json={"name": "school-one"}, headers=ADMIN),
                 409, "conflict")


def test_keys_are_stored_hashed(client):
    t = new_tenant(client, "hashy")
    from server.db.models import ApiKey

    async def stored() -> list[ApiKey]:
        async with client.app.state.services.db() as s:
            return list((await s.scalars(select(ApiKey))).all())

    rows = client.portal.call(stored)
    assert len(rows) == 1
    assert rows[0].key_hash == hashlib.sha256(t["key"].encode()).hexdigest()
    assert t["key"] not in {rows[0].key_hash, rows[0].prefix}


def test_missing_wrong_and_revoked_keys(client):
    t = new_tenant(client, "keyed")
    body = {"document": tiny_lesson()}
    assert_error(client.post("/v1/lessons", json=body), 401, "unauthorized")
    assert_error(client.post("/v1/lessons", json=body,
                             headers={"Authorization": "Bearer pk_nope"}), 401, "unauthorized")
    assert_error(client.post("/v1/admin/tenants", json={"name": "x"}, headers=t["headers"]),
                 403, "forbidden")
    assert_error(client.post("/v1/lessons", json=body, headers=ADMIN), 403, "forbidden")
    assert client.post("/v1/lessons", json=body, headers=t["headers"]).status_code == 201
    key_id = client.get(f"/v1/admin/tenants/{t['id']}/keys", headers=ADMIN).json()[0]["id"]
    revoked = client.delete(f"/v1/admin/keys/{key_id}", headers=ADMIN)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert_error(client.post("/v1/lessons", json=body, headers=t["headers"]), 401)


def test_a_tenant_never_reaches_another_tenants_data(client):
    a, b = new_tenant(client, "tenant-a"), new_tenant(client, "tenant-b")
    lesson = client.post("/v1/lessons", json={"document": tiny_lesson()}, headers=a["headers"])
    lesson_id = lesson.json()["id"]
    session = client.post("/v1/sessions", json={"lesson_id": lesson_id}, headers=a["headers"])
    assert session.status_code == 201
    session_id = session.json()["id"]

    assert lesson_id not in {x["id"] for x in client.get("/v1/lessons",
                                                         headers=b["headers"]).json()}
    assert_error(client.get(f"/v1/lessons/{lesson_id}", headers=b["headers"]), 404)
    assert_error(client.get(f"/v1/lessons/{lesson_id}/versions", headers=b["headers"]), 404)
    assert_error(client.post(f"/v1/lessons/{lesson_id}/versions",
                             json={"document": tiny_lesson("Hijack")}, headers=b["headers"]), 404)
    assert_error(client.put(f"/v1/lessons/{lesson_id}/draft", json={"document": {}},
                            headers=b["headers"]), 404)
    assert_error(client.post(f"/v1/lessons/{lesson_id}/versions/1/publish",
                             headers=b["headers"]), 404)
    assert_error(client.post("/v1/sessions", json={"lesson_id": lesson_id},
                             headers=b["headers"]), 404)
    assert_error(client.get(f"/v1/sessions/{session_id}", headers=b["headers"]), 404)
    assert_error(client.post(f"/v1/sessions/{session_id}/turns", json={"text": "hello"},
                             headers=b["headers"]), 404)
    assert_error(client.get(f"/v1/sessions/{session_id}/transcript", headers=b["headers"]), 404)
    with client.websocket_connect(f"/v1/sessions/{session_id}/stream?key={b['key']}") as ws:
        msg = ws.receive_json()
        assert msg["type"] == "error" and msg["error"]["code"] == "not_found"
    # and tenant A still has all of it
    assert client.get(f"/v1/lessons/{lesson_id}", headers=a["headers"]).status_code == 200
    assert client.get(f"/v1/sessions/{session_id}", headers=a["headers"]).status_code == 200

"""Lessons as versioned documents through the API."""

from __future__ import annotations

import uuid

from tests.helpers import assert_error, new_tenant
from tests.server.lesson_docs import tiny_lesson, with_unknown_target, with_unreachable_state


def test_builtin_lessons_are_public(client):
    lessons = {x["id"]: x for x in client.get("/v1/lessons").json()}
    assert {"immigration", "cafe"} <= set(lessons)
    immigration = client.get("/v1/lessons/immigration").json()
    assert immigration["published_version"] >= 1
    assert len(immigration["document"]["states"]) >= 10
    assert immigration["mission"]


def test_create_version_publish(client, tenant):
    h = tenant["headers"]
    created = client.post("/v1/lessons", json={"document": tiny_lesson()}, headers=h)
    assert created.status_code == 201, created.text
    lesson = created.json()
    assert lesson["version"] == 1 and lesson["published_version"] == 1 and lesson["owned"]
    lid = lesson["id"]
    v2 = client.post(f"/v1/lessons/{lid}/versions", json={"document": tiny_lesson("Hello 2")},
                     headers=h)
    assert v2.status_code == 201 and v2.json()["version"] == 2 and not v2.json()["published"]
    assert client.get(f"/v1/lessons/{lid}", headers=h).json()["title"] == "Greetings"
    assert client.get(f"/v1/lessons/{lid}?version=2", headers=h).json()["title"] == "Hello 2"
    pub = client.post(f"/v1/lessons/{lid}/versions/2/publish", headers=h)
    assert pub.status_code == 200 and pub.json()["published_version"] == 2
    versions = client.get(f"/v1/lessons/{lid}/versions", headers=h).json()
    assert [(v["version"], v["published"]) for v in versions] == [(1, False), (2, True)]
    assert_error(client.post(f"/v1/lessons/{lid}/versions/9/publish", headers=h), 404)
    assert_error(client.get(f"/v1/lessons/{lid}?version=x", headers=h), 422)


def test_old_sessions_keep_their_version(client, tenant):
    h = tenant["headers"]
    lid = client.post("/v1/lessons", json={"document": tiny_lesson()}, headers=h).json()["id"]
    old = client.post("/v1/sessions", json={"lesson_id": lid}, headers=h).json()
    changed = tiny_lesson("Changed")
    changed["states"][0]["lines"] = ["Welcome to version two."]
    client.post(f"/v1/lessons/{lid}/versions", json={"document": changed, "publish": True},
                headers=h)
    new = client.post("/v1/sessions", json={"lesson_id": lid}, headers=h).json()
    assert old["version"] == 1 and new["version"] == 2
    assert new["prompt"] == ["Welcome to version two."]
    turn = client.post(f"/v1/sessions/{old['id']}/turns", json={"text": "hello"}, headers=h)
    assert turn.status_code == 200 and turn.json()["outcome"] == "advanced"
    assert client.get(f"/v1/sessions/{old['id']}", headers=h).json()["version"] == 1


def test_invalid_lessons_are_rejected_naming_the_state(client, tenant):
    h = tenant["headers"]
    bad = client.post("/v1/lessons", json={"document": with_unreachable_state(tiny_lesson())},
                      headers=h)
    err = assert_error(bad, 422, "lesson_invalid")
    assert "island" in err["message"]
    err = assert_error(client.post("/v1/lessons", json={"document": with_unknown_target(
        tiny_lesson())}, headers=h), 422, "lesson_invalid")
    assert "hello" in err["message"]
    typo = tiny_lesson()
    typo["states"][0]["linez"] = ["typo"]
    assert_error(client.post("/v1/lessons", json={"document": typo}, headers=h), 422,
                 "invalid_request")
    assert client.get("/v1/lessons", headers=h).json() == client.get("/v1/lessons").json()


def test_validate_endpoint_and_drafts(client, tenant):
    h = tenant["headers"]
    check = client.post("/v1/lessons/validate",
                        json={"document": with_unreachable_state(tiny_lesson())}).json()
    assert not check["valid"] and check["issues"][0]["state"] == "island"
    assert client.post("/v1/lessons/validate", json={"document": tiny_lesson()}).json()["valid"]
    lid = client.post("/v1/lessons", json={"document": tiny_lesson()}, headers=h).json()["id"]
    draft = with_unreachable_state(tiny_lesson("Work in progress"))
    saved = client.put(f"/v1/lessons/{lid}/draft", json={"document": draft}, headers=h)
    assert saved.status_code == 200 and saved.json()["issues"]
    back = client.get(f"/v1/lessons/{lid}/draft", headers=h).json()
    assert back["document"] == draft
    # a draft never changes what is played
    assert client.get(f"/v1/lessons/{lid}", headers=h).json()["title"] == "Greetings"
    assert_error(client.put("/v1/lessons/immigration/draft", json={"document": {}}, headers=h),
                 403, "forbidden")


def test_a_new_lessons_first_autosave_creates_it_unversioned(client, tenant):
    """The editor names a lesson (a client UUID) before its document is valid."""
    h = tenant["headers"]
    lid = str(uuid.uuid4())
    half = {"title": "", "states": []}
    saved = client.put(f"/v1/lessons/{lid}/draft", json={"document": half}, headers=h)
    assert saved.status_code == 200 and saved.json()["issues"], saved.text
    # the editor keeps box positions beside the document: not validated, kept as saved
    doc = with_unreachable_state(tiny_lesson("Half done"))
    layout = {s["id"]: {"x": 10 * i, "y": 20} for i, s in enumerate(doc["states"])}
    saved = client.put(f"/v1/lessons/{lid}/draft", json={"document": {**doc, "layout": layout}},
                       headers=h).json()
    assert [i["code"] for i in saved["issues"]] == ["unreachable"]  # the graph's, not the schema's
    back = client.get(f"/v1/lessons/{lid}/draft", headers=h).json()
    assert back["document"]["layout"] == layout and back["issues"] == saved["issues"]
    mine = {x["id"]: x for x in client.get("/v1/lessons", headers=h).json()}[lid]
    assert (mine["title"], mine["latest_version"], mine["published_version"]) == \
        ("Half done", 0, None)
    assert mine["owned"] and not mine["public"] and mine["draft_updated_at"]
    assert lid not in {x["id"] for x in client.get("/v1/lessons").json()}  # private
    assert_error(client.post("/v1/sessions", json={"lesson_id": lid}, headers=h), 409,
                 "not_published")
    other = new_tenant(client, "other school")["headers"]
    assert_error(client.put(f"/v1/lessons/{lid}/draft", json={"document": {}}, headers=other),
                 404)
    assert_error(client.get(f"/v1/lessons/{lid}/draft", headers=other), 404)
    assert_error(client.put("/v1/lessons/not-a-uuid/draft", json={"document": {}}, headers=h),
                 422, "bad_lesson_id")
    assert_error(client.put(f"/v1/lessons/{uuid.uuid4()}/draft", json={"document": {}}), 401)

    # publishing the finished draft makes version 1; saving the same content again adds nothing
    doc = tiny_lesson("Done")
    v1 = client.post(f"/v1/lessons/{lid}/versions", json={"document": doc}, headers=h)
    assert v1.status_code == 201 and v1.json()["version"] == 1 and not v1.json()["published"]
    again = client.post(f"/v1/lessons/{lid}/versions", json={"document": doc, "publish": True},
                        headers=h)
    assert again.json()["version"] == 1 and again.json()["published"]
    versions = client.get(f"/v1/lessons/{lid}/versions", headers=h).json()
    assert [(v["version"], v["published"]) for v in versions] == [(1, True)]
    session = client.post("/v1/sessions", json={"lesson_id": lid}, headers=h)
    assert session.status_code == 201 and session.json()["version"] == 1


def test_bad_bodies(client, tenant):
    h = {**tenant["headers"], "Content-Type": "application/json"}
    assert_error(client.post("/v1/lessons", content=b"{not json", headers=h), 400,
                 "malformed_json")
    assert_error(client.post("/v1/lessons", content=b"x" * (2 * 1024 * 1024), headers=h), 413)
    assert_error(client.post("/v1/lessons", content=b"<xml/>",
                             headers={**tenant["headers"], "Content-Type": "text/xml"}), 415)
    assert_error(client.get("/v1/lessons/nope"), 404, "not_found")
    assert_error(client.get("/v1/nothing-here"), 404)
    assert_error(client.delete("/v1/lessons"), 405)

"""Entities, emotion and FAQs through the public API (tenant-scoped, bad input refused)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import assert_error, new_tenant

EMOTION_TEST = Path(__file__).resolve().parents[2] / "nlu" / "data" / "emotion_test.jsonl"


def test_entities_have_offsets_into_the_text_and_custom_types(client, tenant):
    h = tenant["headers"]
    text = "I'm French and I'll stay two weeks, from next Friday; it cost me $120 at 7 pm."
    resp = client.post("/v1/nlu/entities", json={"text": text}, headers=h)
    assert resp.status_code == 200, resp.text
    found = resp.json()["entities"]
    by_type = {e["type"]: e for e in found}
    assert {"nationality", "duration", "date", "money", "time"} <= set(by_type)
    for entity in found:
        assert text[entity["start"]:entity["end"]] == entity["text"]
    assert by_type["nationality"]["value"] == "FR"
    assert by_type["money"]["value"] == {"amount": 120.0, "currency": "USD"}
    assert by_type["time"]["value"] == "19:00"

    clf = client.post("/v1/nlu/classifiers", headers=h, json={
        "name": "drinks", "gazetteers": {"drink": ["flat white|flattie", "latte"]},
        "patterns": {"booking": r"\bBK-\d{4}\b"}}).json()
    custom = client.post("/v1/nlu/entities", headers=h, json={
        "text": "A flattie please, booking BK-1234", "classifier_id": clf["id"]}).json()
    kinds = {(e["type"], e["text"], e["value"]) for e in custom["entities"]}
    assert ("drink", "flattie", "flat white") in kinds
    assert any(k[0] == "booking" and k[1] == "BK-1234" for k in kinds)

    other = new_tenant(client, "rival")["headers"]
    assert_error(client.post("/v1/nlu/entities", headers=other,
                             json={"text": "a latte", "classifier_id": clf["id"]}), 404)
    assert_error(client.post("/v1/nlu/entities", headers=h, json={"text": ""}), 422)
    assert_error(client.post("/v1/nlu/entities", headers=h, json={"text": "x" * 1001}), 422)
    assert_error(client.post("/v1/nlu/entities", json={"text": "hi"}), 401)


def test_emotion_of_held_out_learner_messages(client, tenant):
    rows = [json.loads(line) for line in EMOTION_TEST.read_text().splitlines() if line.strip()]
    h = tenant["headers"]
    predicted = []
    for start in range(0, len(rows), 64):
        batch = rows[start:start + 64]
        resp = client.post("/v1/nlu/emotion", headers=h,
                           json={"texts": [r["text"] for r in batch]})
        assert resp.status_code == 200, resp.text
        results = resp.json()["results"]
        for r in results:
            scores = [s["score"] for s in r["scores"]]
            assert r["label"] == r["scores"][0]["label"] and abs(sum(scores) - 1) < 1e-3
        predicted.extend(r["label"] for r in results)
    truth = [r["label"] for r in rows]
    accuracy = sum(p == t for p, t in zip(predicted, truth, strict=True)) / len(rows)
    frustrated = [p for p, t in zip(predicted, truth, strict=True) if t == "frustrated"]
    assert accuracy >= 0.85, accuracy
    assert frustrated.count("frustrated") / len(frustrated) >= 0.85
    one = client.post("/v1/nlu/emotion", headers=h, json={"text": "I give up, this is "
                                                          "impossible, it never hears me"})
    assert one.json()["results"][0]["label"] == "frustrated"
    assert_error(client.post("/v1/nlu/emotion", headers=h, json={}), 422)
    assert_error(client.post("/v1/nlu/emotion", headers=h,
                             json={"texts": ["ok"] * 65}), 422)


def test_faq_answers_paraphrases_and_says_nothing_off_topic(client, tenant):
    h = tenant["headers"]
    faq = client.post("/v1/nlu/faqs", json={"name": "school"}, headers=h)
    assert faq.status_code == 201, faq.text
    fid = faq.json()["id"]
    assert_error(client.post("/v1/nlu/faqs", json={"name": "school"}, headers=h), 409)
    pairs = client.post(f"/v1/nlu/faqs/{fid}/pairs", headers=h, json={"pairs": [
        {"questions": ["When does the class start?", "What time is the lesson?"],
         "answer": "Classes start at 9 am."},
        {"questions": ["How much does the course cost?"], "answer": "It costs 200 euros."},
        {"questions": ["Where can I park my car?"], "answer": "Use the car park behind."},
    ]})
    assert pairs.status_code == 201, pairs.text
    ids = [p["id"] for p in pairs.json()]

    def ask(text: str) -> dict:
        resp = client.post(f"/v1/nlu/faqs/{fid}/query", json={"text": text}, headers=h)
        assert resp.status_code == 200, resp.text
        return resp.json()

    assert ask("what time do lessons begin")["answer"]["pair_id"] == ids[0]
    assert ask("what's the price of the course?")["answer"]["pair_id"] == ids[1]
    off = ask("my grandmother grows tomatoes")
    assert off["answer"] is None and off["candidates"][0]["score"] < off["threshold"]

    # a changed pair is what the next query sees (the index is rebuilt per revision)
    changed = client.put(f"/v1/nlu/faqs/{fid}/pairs/{ids[2]}", headers=h, json={
        "questions": ["Is there a cafeteria?"], "answer": "Yes, on the ground floor."})
    assert changed.status_code == 200
    assert ask("can I get lunch at school, is there a canteen")["answer"]["pair_id"] == ids[2]
    assert client.delete(f"/v1/nlu/faqs/{fid}/pairs/{ids[1]}", headers=h).status_code == 204
    assert ask("what's the price of the course?")["answer"] is None or \
        ask("what's the price of the course?")["answer"]["pair_id"] != ids[1]

    assert_error(client.post(f"/v1/nlu/faqs/{fid}/pairs", headers=h,
                             json={"pairs": [{"questions": [], "answer": "x"}]}), 422)
    assert_error(client.post(f"/v1/nlu/faqs/{fid}/query", headers=h, json={"text": " "}), 422)
    other = new_tenant(client, "rival")["headers"]
    assert client.get("/v1/nlu/faqs", headers=other).json() == []
    for method, url, body in [("GET", f"/v1/nlu/faqs/{fid}", None),
                              ("POST", f"/v1/nlu/faqs/{fid}/query", {"text": "class time"}),
                              ("DELETE", f"/v1/nlu/faqs/{fid}", None)]:
        assert_error(client.request(method, url, json=body, headers=other), 404)
    assert len(client.get(f"/v1/nlu/faqs/{fid}", headers=h).json()["pairs"]) == 2


def test_a_frustrated_learner_hears_encouragement_and_a_calm_one_does_not(client):
    from dialog.encouragement import ENCOURAGEMENT

    def first_turn(text: str) -> dict:
        s = client.post("/v1/sessions", json={"lesson_id": "immigration"}).json()
        resp = client.post(f"/v1/sessions/{s['id']}/turns", json={"text": text},
                           headers={"X-Session-Token": s["token"]})
        assert resp.status_code == 200, resp.text
        return resp.json()

    upset = first_turn("I don't understand anything, this is too hard, I give up")
    assert upset["outcome"] in ("hint", "rephrase", "repeat") and upset["emotion"] == "frustrated"
    assert upset["bot_lines"][0] in ENCOURAGEMENT and len(upset["bot_lines"]) == 2
    calm = first_turn("The weather is nice and the sky is blue")
    assert calm["outcome"] in ("hint", "rephrase", "repeat") and calm["emotion"] != "frustrated"
    assert not set(calm["bot_lines"]) & set(ENCOURAGEMENT)
    moved = first_turn("Good morning!")
    assert moved["outcome"] == "advanced" and moved["emotion"] is None  # not asked

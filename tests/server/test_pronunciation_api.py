"""``POST /v1/pronunciation/assess``: a tenant's recording scored against a reference text."""

from __future__ import annotations

import io
from urllib.parse import quote

import numpy as np
import pytest
import soundfile as sf

from speech.eval.data import DataDir, read_wav
from tests.helpers import SHARED_DATA, assert_error, new_tenant

CORPUS = SHARED_DATA / "speechocean762-train-subset"
pytestmark = pytest.mark.skipif(
    not (CORPUS / "wav.scp").is_file(),
    reason=f"speechocean762 subset not found at {CORPUS} (the shared data folder)")


def _wav(pcm: np.ndarray, rate: int = 16000) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, pcm, rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _url(reference: str, **extra: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"reference": quote(reference), **extra}.items())
    return f"/v1/pronunciation/assess?{query}"


def test_assess_scores_the_true_text_above_another(client):
    utt = next(u for u in DataDir.load(CORPUS).utterances if u.id == "000060082")
    audio = _wav(read_wav(utt.wav))
    headers = {**new_tenant(client, "coach")["headers"], "Content-Type": "audio/wav"}
    said = client.post(_url(utt.text), content=audio, headers=headers)
    assert said.status_code == 200, said.text
    body = said.json()
    assert body["reference"] == "kate likes lamb" and body["recognized"] == "kate likes lamb"
    assert [p["phone"] for p in body["words"][2]["phones"]] == ["L", "AE", "M"]
    assert body["scores"]["completeness"] == 100 and body["miscues"] == []
    other = client.post(_url("Where is the station, please?"), content=audio,
                        headers=headers).json()
    assert other["scores"]["overall"] < body["scores"]["overall"]
    assert any(m["type"] == "omission" for m in other["miscues"])
    phones_only = client.post(_url(utt.text, recognize="false"), content=audio,
                              headers=headers).json()
    assert phones_only["recognized"] is None and phones_only["miscues"] == []


def test_assess_refuses_bad_requests_in_the_one_shape(client):
    headers = {**new_tenant(client, "strict")["headers"], "Content-Type": "audio/wav"}
    tone = _wav(0.3 * np.sin(np.arange(16000) / 16000 * 2 * np.pi * 220))
    assert_error(client.post(_url("hello"), content=tone,
                             headers={"Content-Type": "audio/wav"}), 401)
    assert_error(client.post("/v1/pronunciation/assess", content=tone, headers=headers),
                 422, "bad_reference")
    assert_error(client.post(_url("!!!"), content=tone, headers=headers), 422, "bad_reference")
    assert_error(client.post(_url(" ".join(["word"] * 61)), content=tone, headers=headers),
                 422, "bad_reference")
    assert_error(client.post(_url("hello", recognize="maybe"), content=tone, headers=headers),
                 422, "invalid_query")
    assert_error(client.post(_url("hello"), content=tone,
                             headers={**headers, "Content-Type": "text/plain"}),
                 415, "unsupported_media_type")
    assert_error(client.post(_url("hello"), content=b"RIFF....", headers=headers),
                 400, "bad_audio")
    assert_error(client.post(_url("hello"), content=_wav(np.zeros(16000 * 31)),
                             headers=headers), 413, "audio_too_long")
    assert_error(client.post(_url("hello"), content=_wav(np.zeros(16000)), headers=headers),
                 422, "no_speech")


def test_progress_and_practice_drill_for_a_learner(client):
    corpus = DataDir.load(CORPUS)
    tenant = new_tenant(client, "school")
    headers = {**tenant["headers"], "Content-Type": "audio/wav"}
    said = [u for u in corpus.utterances if u.id in ("000060082", "000060124")]
    for utt in said:
        resp = client.post(_url(utt.text, learner_id="ana"), content=_wav(read_wav(utt.wav)),
                           headers=headers)
        assert resp.status_code == 200, resp.text
    progress = client.get("/v1/learners/ana/progress", headers=tenant["headers"])
    assert progress.status_code == 200, progress.text
    body = progress.json()
    assert body["assessments"] == 2 and body["sessions"] == 0
    assert len(body["accuracy"]["recent"]) == 2 and body["accuracy"]["latest"] is not None
    assert body["words_used"] >= 5 and len(body["weakest"]) == 5
    counts = {p["phone"]: p["count"] for p in body["phonemes"]}
    assert counts["L"] >= 1 and set(body["weakest"]) <= set(counts)
    drill = client.get("/v1/learners/ana/practice?words=6", headers=tenant["headers"]).json()
    assert drill["weak_phonemes"] == body["weakest"] and len(drill["words"]) == 6
    assert all(set(w["targets"]) <= set(w["phones"]) and w["targets"] for w in drill["words"])
    created = client.post("/v1/lessons", json={"document": drill["lesson"]},
                          headers=tenant["headers"])
    assert created.status_code == 201, created.text
    session = client.post("/v1/sessions", json={"lesson_id": created.json()["id"]},
                          headers=tenant["headers"]).json()
    turn = client.post(f"/v1/sessions/{session['id']}/turns",
                       json={"text": drill["words"][0]["word"]}, headers=tenant["headers"])
    assert turn.json()["outcome"] == "advanced", turn.text
    other = new_tenant(client, "elsewhere")["headers"]
    assert_error(client.get("/v1/learners/ana/progress", headers=other), 404)
    assert_error(client.get("/v1/learners/nobody/practice", headers=tenant["headers"]), 404)
    assert_error(client.get("/v1/learners/ana/practice?words=0", headers=tenant["headers"]),
                 422, "invalid_query")
    assert_error(client.get("/v1/learners/ana/progress"), 401)

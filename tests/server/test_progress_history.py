"""``GET /v1/learners/{id}/progress``: the ``history`` of a learner's assessments over time."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
import soundfile as sf

from dialog.progress import phone_means, phone_totals
from speech.eval.data import DataDir, read_wav
from tests.helpers import SHARED_DATA

CORPUS = SHARED_DATA / "speechocean762-train-subset"
UTTS = ("000060082", "000060124", "000010069")  # three short readings, in this order
pytestmark = pytest.mark.skipif(
    not (CORPUS / "wav.scp").is_file(),
    reason=f"speechocean762 subset not found at {CORPUS} (the shared data folder)")


def _wav(path) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, read_wav(path), 16000, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _assess(client, tenant, utt, learner: str) -> dict:
    resp = client.post(f"/v1/pronunciation/assess?reference={quote(utt.text)}"
                       f"&recognize=false&learner_id={learner}", content=_wav(utt.wav),
                       headers={**tenant["headers"], "Content-Type": "audio/wav"})
    assert resp.status_code == 200, resp.text
    return resp.json()


def _means(assessment: dict) -> dict[str, float]:
    """Each phone's mean score in one assessment, straight from its words (omitted left out)."""
    scores: dict[str, list[float]] = {}
    for word in assessment["words"]:
        if word["label"] != "omitted":
            for phone in word["phones"]:
                scores.setdefault(phone["phone"], []).append(phone["score"])
    return {p: round(sum(s) / len(s), 1) for p, s in scores.items()}


@pytest.fixture(scope="module")
def utterances():
    by_id = {u.id: u for u in DataDir.load(CORPUS).utterances}
    return [by_id[i] for i in UTTS]


def test_history_has_one_point_per_assessment_oldest_first(client, tenant, utterances):
    before = datetime.now(UTC)
    said = [_assess(client, tenant, u, "hana") for u in utterances]
    after = datetime.now(UTC)
    body = client.get("/v1/learners/hana/progress", headers=tenant["headers"]).json()
    history = body["history"]
    assert len(history) == body["assessments"] == len(said)

    times = [datetime.fromisoformat(p["at"]) for p in history]
    assert times == sorted(times) and before <= times[0] and times[-1] <= after
    assert all(t.utcoffset() is not None for t in times)  # ISO with a zone, not naive
    for point, assessment in zip(history, said, strict=True):
        assert point["source"] == "api"
        assert point["accuracy"] == pytest.approx(assessment["scores"]["accuracy"])
        assert point["fluency"] == pytest.approx(assessment["scores"]["fluency"])
        assert point["speech_rate_wpm"] == pytest.approx(
            assessment["fluency"]["speech_rate_wpm"])
        expected = _means(assessment)
        assert set(point["phonemes"]) == set(expected)
        for phone, mean in expected.items():
            assert point["phonemes"][phone] == pytest.approx(mean, abs=0.051), phone
        assert all(0 <= v <= 100 for v in point["phonemes"].values())
    # "kate likes lamb" first: its L, AE, M are in the first point
    assert {"L", "AE", "M"} <= set(history[0]["phonemes"])

    # the history agrees with the running summary: each phone's count-weighted means
    # over the points give the per-phoneme means of the progress view
    counts = [{p: sum(1 for w in a["words"] if w["label"] != "omitted"
                      for ph in w["phones"] if ph["phone"] == p) for p in pt["phonemes"]}
              for a, pt in zip(said, history, strict=True)]
    for row in body["phonemes"]:
        n = sum(c.get(row["phone"], 0) for c in counts)
        total = sum(pt["phonemes"].get(row["phone"], 0) * c.get(row["phone"], 0)
                    for pt, c in zip(history, counts, strict=True))
        assert n == row["count"]
        assert total / n == pytest.approx(row["mean_score"], abs=0.1), row["phone"]
    # and the trends' recent values are the points' values, in the same order
    assert body["accuracy"]["recent"] == pytest.approx([p["accuracy"] for p in history])
    assert body["fluency"]["recent"] == pytest.approx([p["fluency"] for p in history])

    other = client.get("/v1/learners/hana/progress",
                       headers=tenant["headers"]).json()["history"]
    assert other == history  # reading does not change it


def test_history_keeps_only_the_latest_points(client, tenant, utterances, monkeypatch):
    import server.progress

    monkeypatch.setattr(server.progress, "HISTORY", 2)
    said = [_assess(client, tenant, u, "kim") for u in utterances]
    body = client.get("/v1/learners/kim/progress", headers=tenant["headers"]).json()
    assert body["assessments"] == 3 and len(body["accuracy"]["recent"]) == 3
    assert [p["accuracy"] for p in body["history"]] == pytest.approx(
        [a["scores"]["accuracy"] for a in said[-2:]])  # the latest two, the oldest dropped
    assert set(body["history"][0]["phonemes"]) == set(_means(said[1]))


def test_history_is_bounded_at_fifty_points(client, tenant, utterances):
    """55 assessments (one real, 54 more recorded the way the server records one, each with
    its own accuracy so they can be told apart): the latest 50 come back, oldest first."""
    from server.schemas import AssessmentOut

    first = AssessmentOut.model_validate(_assess(client, tenant, utterances[0], "lee"))
    progress = client.app.state.services.progress

    async def record_more() -> None:
        for i in range(1, 55):
            scores = first.scores.model_copy(update={"accuracy": float(i)})
            await progress.record(tenant["id"], "lee", None, "api",
                                  first.model_copy(update={"scores": scores}))

    client.portal.call(record_more)
    body = client.get("/v1/learners/lee/progress", headers=tenant["headers"]).json()
    assert body["assessments"] == 55 and len(body["history"]) == 50
    assert [p["accuracy"] for p in body["history"]] == [float(i) for i in range(5, 55)]
    assert all(p["phonemes"] == body["history"][0]["phonemes"] for p in body["history"])


def test_phone_means_of_an_assessment():
    assessment = {"words": [
        {"label": "correct", "phones": [{"phone": "K", "score": 80, "label": "correct"},
                                        {"phone": "T", "score": 60, "label": "accented"}]},
        {"label": "omitted", "phones": [{"phone": "K", "score": 0, "label": "wrong"}]},
        {"label": "wrong", "phones": [{"phone": "K", "score": 30, "label": "wrong"}]}]}
    assert phone_means(phone_totals(assessment)) == {"K": 55.0, "T": 60.0}
    assert phone_means({}) == {}

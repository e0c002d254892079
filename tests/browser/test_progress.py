"""The progress page in Chromium, over a learner's real assessments.

Four speechocean762 recordings are scored through the public API for one learner;
the page then has to draw what ``GET /v1/learners/{id}/progress`` answers: a bar
per phoneme with the weakest marked, a point per assessment over time, the counts,
and a drill of the weak sounds that becomes a lesson the role-play opens.
"""

from __future__ import annotations

import io
import re
from urllib.parse import parse_qs, quote, urlparse

import httpx
import pytest
import soundfile as sf
from playwright.sync_api import expect

from speech.eval.data import read_wav
from tests.browser.axe import violations
from tests.browser.conftest import ARTEFACTS

UTTS = ("000060082", "000060124", "000010069", "000010011")
LEARNER = "mei"


@pytest.fixture
def progress(live, tenant_key, corpus) -> dict:
    """Four real assessments for LEARNER; the progress the API then answers."""
    by_id = {u.id: u for u in corpus.utterances}
    headers = {"Authorization": f"Bearer {tenant_key}", "Content-Type": "audio/wav"}
    for utt in (by_id[i] for i in UTTS):
        buf = io.BytesIO()
        sf.write(buf, read_wav(utt.wav), 16000, format="WAV", subtype="PCM_16")
        resp = httpx.post(f"{live}/v1/pronunciation/assess?reference={quote(utt.text)}"
                          f"&recognize=false&learner_id={LEARNER}", content=buf.getvalue(),
                          headers=headers, timeout=120)
        assert resp.status_code == 200, resp.text
    resp = httpx.get(f"{live}/v1/learners/{LEARNER}/progress",
                     headers={"Authorization": f"Bearer {tenant_key}"}, timeout=60)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert len(body["history"]) == len(UTTS) and body["weakest"]
    return body


def test_charts_numbers_and_a_practice_drill(open_page, live, tenant_key, progress):
    page = open_page("/static/progress.html", api_key=tenant_key, learner_id=LEARNER)
    expect(page.locator("body[data-ready=true]")).to_have_count(1, timeout=60_000)
    history, weakest = progress["history"], progress["weakest"]

    # accuracy per phoneme: one bar per phoneme, coloured by label, the weakest marked
    bars = page.locator("#phoneme-chart .bar")
    expect(bars).to_have_count(len(progress["phonemes"]))
    shown = {b.get_attribute("data-phone"): b.get_attribute("class").split()
             for b in bars.all()}
    assert set(shown) == {p["phone"] for p in progress["phonemes"]}
    for p in progress["phonemes"]:
        want = ("correct" if p["mean_score"] >= 70 else
                "accented" if p["mean_score"] >= 40 else "wrong")
        assert want in shown[p["phone"]], p
        assert ("weak" in shown[p["phone"]]) == (p["phone"] in weakest)
    marked = page.locator("#phoneme-chart .bar.weakest")
    expect(marked).to_have_count(1)
    assert marked.get_attribute("data-phone") == weakest[0]
    expect(marked.locator("text.callout")).to_have_text(re.compile(r"\bweakest$"))
    expect(page.locator("#weakest-line")).to_contain_text(weakest[0])
    assert f"Weakest sound: {weakest[0]}" in page.locator("#phoneme-chart").get_attribute(
        "aria-label")

    # over time: a point per assessment; the chosen phoneme (default: the weakest) where said
    for chart in ("accuracy", "fluency", "rate"):
        expect(page.locator(f"#{chart}-chart circle.point")).to_have_count(len(history))
        expect(page.locator(f"#{chart}-table tbody tr")).to_have_count(len(history))
    values = [float(c.get_attribute("data-value"))
              for c in page.locator("#accuracy-chart circle.point").all()]
    assert values == pytest.approx([h["accuracy"] for h in history])
    select = page.get_by_label("Sound", exact=True)
    expect(select).to_have_value(weakest[0])
    expect(page.locator("#phone-chart circle.point")).to_have_count(
        sum(weakest[0] in h["phonemes"] for h in history))
    other = next(p["phone"] for p in progress["phonemes"]
                 if sum(p["phone"] in h["phonemes"] for h in history) < len(history)
                 and p["phone"] != weakest[0])
    select.select_option(other)
    expect(page.locator("#phone-chart circle.point")).to_have_count(
        sum(other in h["phonemes"] for h in history))
    expect(page.locator("#phone-title")).to_have_text(f"{other} over time")
    select.select_option(weakest[0])

    # the numbers are the API's
    expect(page.locator("#stat-lessons")).to_have_text(str(progress["lessons_completed"]))
    expect(page.locator("#stat-sessions")).to_have_text(str(progress["sessions"]))
    expect(page.locator("#stat-assessments")).to_have_text(str(progress["assessments"]))
    expect(page.locator("#stat-words")).to_have_text(str(progress["words_used"]))
    accuracy = page.locator("#stat-accuracy").inner_text()
    assert float(accuracy) == pytest.approx(progress["accuracy"]["latest"], abs=0.5)
    rate = page.locator("#stat-rate").inner_text()
    assert rate.endswith(" wpm")  # shown rounded to a whole number
    assert float(rate.split()[0]) == pytest.approx(progress["speech_rate_wpm"]["latest"], abs=0.5)

    # every chart is an image with a summary, and has a table of its data
    for svg in page.locator("svg.chart-svg").all():
        assert svg.get_attribute("role") == "img" and len(svg.get_attribute("aria-label")) > 30
    expect(page.locator("#phoneme-table tbody tr")).to_have_count(len(progress["phonemes"]))
    words = page.locator("#practice-words li")
    expect(words.first).to_be_visible()
    assert words.count() >= 5
    assert violations(page) == []
    page.screenshot(path=str(ARTEFACTS / "progress.png"), full_page=True)

    # the drill: practice → a new lesson → the role-play page on it, for this learner
    page.get_by_role("button", name="Practice my weak sounds").click()
    page.wait_for_url(re.compile(r"/static/play\.html\?lesson="), timeout=60_000)
    query = parse_qs(urlparse(page.url).query)
    assert query["learner"] == [LEARNER]
    lesson = httpx.get(f"{live}/v1/lessons/{query['lesson'][0]}",
                       headers={"Authorization": f"Bearer {tenant_key}"}, timeout=30)
    assert lesson.status_code == 200, lesson.text
    assert lesson.json()["title"].startswith("Sound drill")


def test_without_a_learner_id_the_page_points_to_settings(open_page, tenant_key):
    page = open_page("/static/progress.html", api_key=tenant_key)
    guide = page.locator("#guide")
    expect(guide).to_be_visible()
    expect(guide).to_contain_text("learner id")
    expect(guide).to_contain_text("Settings")
    expect(page.locator("#content")).to_be_hidden()
    page.get_by_role("button", name="Open Settings").click()
    expect(page.get_by_role("dialog", name="Settings")).to_be_visible()
    expect(page.get_by_label("Learner id")).to_be_visible()
    page.keyboard.press("Escape")
    assert violations(page) == []


def test_an_unknown_learner_and_a_wrong_key_read_as_notices(open_page, tenant_key):
    page = open_page("/static/progress.html", api_key=tenant_key, learner_id="nobody-yet")
    expect(page.locator("#guide")).to_contain_text("No progress yet for learner “nobody-yet”")
    expect(page.locator("#content")).to_be_hidden()
    page = open_page("/static/progress.html", api_key="pk_not_a_key", learner_id="someone")
    expect(page.locator("#guide")).to_contain_text("API key in Settings was not accepted")

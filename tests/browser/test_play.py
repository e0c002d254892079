"""The role-play page in Chromium: a real learner recording as the microphone.

Chromium plays a speechocean762 recording (padded with silence, so the server's
endpointing hears the end) as its fake microphone; the page's AudioWorklet
downsamples it to 16 kHz PCM16 and streams it over the WebSocket; the server
recognises it against the state's expected answers, moves the lesson on and
scores the pronunciation. The test asserts what the learner sees: the transcript,
the bot's next line, words coloured by score, the phones of a clicked word.
"""

from __future__ import annotations

import re

import httpx
import numpy as np
import pytest
import soundfile as sf
from playwright.sync_api import expect

from speech.asr.match import edit_distance
from speech.eval.data import read_wav
from speech.lm import normalize
from tests.browser.conftest import ARTEFACTS
from tests.helpers import reading_lesson, with_pause

UTT = "001350285"  # the recording the server's spoken-turn tests also stream
SLOW = 90_000  # ms: recognition and assessment on 2 busy cores


@pytest.fixture
def microphone(corpus, tmp_path):
    """The recording, 0.5 s of silence before and 3 s after, as the fake microphone's WAV."""
    utt = next(u for u in corpus.utterances if u.id == UTT)
    pcm = read_wav(utt.wav)
    padded = np.concatenate([np.zeros(8000, np.int16), pcm, np.zeros(48000, np.int16)])
    path = tmp_path / "mic.wav"
    sf.write(path, padded, 16000, subtype="PCM_16")
    return path, normalize(utt.text)


@pytest.fixture
def reading(live, tenant_key, corpus, microphone) -> str:
    doc = reading_lesson(corpus, [microphone[1]])
    resp = httpx.post(f"{live}/v1/lessons", json={"document": doc},
                      headers={"Authorization": f"Bearer {tenant_key}"}, timeout=60)
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def test_a_spoken_turn_shows_transcript_reply_and_coloured_words(
        open_page, microphone, reading, tenant_key):
    wav, truth = microphone
    page = open_page(f"/static/play.html?lesson={reading}", audio=wav, api_key=tenant_key,
                     learner_id="learner-1")
    expect(page.locator("#log li.bot").first).to_have_text(re.compile("Please read"))
    expect(page.locator("#mission")).to_have_text("Read a sentence aloud")
    page.get_by_role("button", name="Turn microphone on").click()
    # the server's VAD heard speech start: the page says it is listening (then the partials)
    expect(page.locator("#partial")).to_be_visible(timeout=SLOW)

    spoken = page.locator("#log li.me.spoken").first
    expect(spoken).to_be_visible(timeout=SLOW)
    heard = normalize(spoken.locator(".text").inner_text())
    words = truth.split()
    assert edit_distance(words, heard.split()) / len(words) <= 0.2, (truth, heard)
    expect(page.locator("#log li.bot").last).to_have_text(re.compile("Well read"), timeout=SLOW)

    coloured = spoken.locator(".feedback .word")
    expect(coloured.first).to_be_visible(timeout=SLOW)
    labels = [c.get_attribute("class").split()[1] for c in coloured.all()]
    assert len(labels) == len(words)
    assert set(labels) <= {"correct", "accented", "wrong", "omitted"}
    assert "correct" in labels or "accented" in labels  # a real reading is not all wrong
    # the goal reached, the lesson is over: the microphone is off and cannot restart
    expect(page.get_by_role("button", name="Turn microphone on")).to_be_disabled()
    expect(page.locator("#log li.system")).to_have_text(re.compile("Mission complete"))
    page.screenshot(path=str(ARTEFACTS / "roleplay.png"), full_page=True)

    coloured.first.focus()
    page.keyboard.press("Enter")  # the feedback is keyboard-operable
    dialog = page.locator("#word")
    expect(dialog).to_be_visible()
    expect(page.locator("#word-title")).to_have_text(coloured.first.inner_text())
    phones = page.locator("#phones li")
    assert phones.count() >= 1
    assert all(re.match(r"(correct|accented|wrong)$", p.get_attribute("class"))
               for p in phones.all())
    with page.expect_response(lambda r: "/v1/speech/say" in r.url) as said:
        page.get_by_role("button", name="Listen").click()
    assert said.value.status == 200
    assert said.value.headers["content-type"] == "audio/wav"


def test_push_to_talk_held_with_the_space_bar(open_page, microphone, reading, tenant_key,
                                             tmp_path):
    """The learner stops for 1.5 s mid-sentence while holding the key (hands-free
    endpointing would cut there, after 0.9 s): the release still sends one turn."""
    wav, truth = microphone
    pcm = read_wav(wav)
    paused = tmp_path / "paused.wav"
    sf.write(paused, np.concatenate([pcm[:8000], with_pause(pcm[8000:-48000], 1.5),
                                     pcm[-48000:]]), 16000, subtype="PCM_16")
    page = open_page(f"/static/play.html?lesson={reading}", audio=paused, api_key=tenant_key)
    expect(page.locator("#log li.bot").first).to_be_visible()
    page.get_by_label("Push to talk").check()
    page.get_by_role("button", name="Turn microphone on").click()
    talk = page.get_by_role("button", name="Hold to talk")
    expect(talk).to_be_visible()
    talk.focus()
    page.keyboard.down(" ")
    expect(page.get_by_role("button", name="Release to send")).to_be_visible()
    seconds = sf.info(paused).duration - 2.5  # the speech, leading silence, not the tail
    page.wait_for_timeout(seconds * 1000)
    page.keyboard.up(" ")  # released: the utterance ends now (audio_end), no silence needed
    spoken = page.locator("#log li.me.spoken").first
    expect(spoken).to_be_visible(timeout=SLOW)
    heard = normalize(spoken.locator(".text").inner_text()).split()
    assert edit_distance(truth.split(), heard) / len(truth.split()) <= 0.2, (truth, heard)
    expect(page.locator("#log li.bot").last).to_have_text(re.compile("Well read"), timeout=SLOW)
    expect(page.locator("#log li.me.spoken")).to_have_count(1)  # one turn, not two halves


def test_typing_and_a_network_drop_resume_the_session(open_page, live):
    page = open_page("/static/index.html", mic=False)
    sockets, network = [], {"down": False}

    def through_the_network(ws) -> None:  # every WebSocket of the page passes here
        sockets.append(ws)
        if network["down"]:
            ws.close(code=1001, reason="network down")
        else:
            ws.connect_to_server()

    page.route_web_socket(re.compile(r".*/v1/sessions/.*/stream.*"), through_the_network)
    page.goto("/static/play.html?lesson=immigration")
    expect(page.locator("#log li.bot").first).to_be_visible()
    expect(page.locator("#conn")).to_have_text("connected")
    session = page.evaluate("JSON.parse(sessionStorage.getItem('parley.session'))")
    page.get_by_label("Type your answer").fill("Good morning!")
    page.keyboard.press("Enter")
    expect(page.locator("#log li.me.pending")).to_have_count(0, timeout=30_000)
    replied = page.locator("#log li.bot").count()
    assert replied > 1

    network["down"] = True  # the connection drops and reconnecting fails for a while
    sockets[-1].close(code=1001, reason="network down")
    expect(page.locator("#conn")).to_have_class(re.compile("down"), timeout=15_000)
    page.get_by_label("Type your answer").fill("Here is my passport.")
    page.keyboard.press("Enter")  # typed while offline: kept, sent once the session resumes
    expect(page.locator("#log li.me.pending")).to_have_count(1)
    for _ in range(150):  # until a reconnection attempt has been refused
        if len(sockets) >= 2:
            break
        page.wait_for_timeout(100)
    network["down"] = False
    expect(page.locator("#conn")).to_have_text("connected", timeout=30_000)
    expect(page.locator("#log li.me.pending")).to_have_count(0, timeout=30_000)
    assert len(sockets) >= 3  # the first, at least one refused retry, the one that resumed

    stored = httpx.get(f"{live}/v1/sessions/{session['id']}",
                       headers={"X-Session-Token": session["token"]}, timeout=30).json()
    assert [t["text"] for t in stored["transcript"]] == ["Good morning!", "Here is my passport."]
    lines = 1 + sum(len(t["bot_lines"]) for t in stored["transcript"])  # with the first prompt
    expect(page.locator("#log li.bot")).to_have_count(lines, timeout=30_000)
    me = [t.inner_text() for t in page.locator("#log li.me .text").all()]
    assert me == ["Good morning!", "Here is my passport."]  # each once, in order

    page.reload()  # a reload resumes the same session (sessionStorage) with its history
    expect(page.locator("#log li.me")).to_have_count(2, timeout=30_000)
    resumed = page.evaluate("JSON.parse(sessionStorage.getItem('parley.session')).id")
    assert resumed == session["id"]


def test_no_microphone_says_so_and_typing_still_works(open_page):
    page = open_page("/static/play.html?lesson=cafe", mic=False)
    expect(page.locator("#log li.bot").first).to_be_visible()
    page.get_by_role("button", name="Turn microphone on").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("No microphone was found")
    expect(alert).to_contain_text("type instead")
    page.get_by_label("Type your answer").fill("Hello, can I have a coffee please?")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#log li.bot").nth(1)).to_be_visible(timeout=30_000)
    expect(page.locator("#log li.me.pending")).to_have_count(0)


_RENDER = """async ([rate, freq]) => {
  const ctx = new OfflineAudioContext(1, rate, rate);  // one second
  await ctx.audioWorklet.addModule("/static/js/pcm-worklet.js");
  const osc = new OscillatorNode(ctx, { frequency: freq });
  const gain = new GainNode(ctx, { gain: 0.5 });
  const node = new AudioWorkletNode(ctx, "pcm-downsampler",
    { numberOfInputs: 1, numberOfOutputs: 1, processorOptions: { frameMs: 100 } });
  const frames = [];
  node.port.onmessage = (e) => frames.push(Array.from(new Int16Array(e.data.pcm)));
  osc.connect(gain).connect(node).connect(ctx.destination);
  osc.start();
  await ctx.startRendering();
  await new Promise((r) => setTimeout(r, 300));  // the last port messages
  return frames;
}"""


@pytest.mark.parametrize("rate", [48000, 44100])
def test_the_worklet_downsamples_to_16k_without_aliasing(open_page, rate):
    """A 1 kHz tone keeps its pitch and level; a 12 kHz tone (aliasing to 4 kHz) is removed."""
    page = open_page("/static/index.html", mic=False)
    tone = page.evaluate(_RENDER, [rate, 1000])
    assert {len(f) for f in tone} == {1600}  # 100 ms frames of 16 kHz samples
    assert 9 <= len(tone) <= 10  # one second of input
    x = np.concatenate([np.array(f, float) for f in tone[1:]]) / 32767
    rms = np.sqrt(np.mean(x**2))
    assert abs(rms - 0.5 / np.sqrt(2)) < 0.02, rms
    crossings = np.count_nonzero(np.diff(np.signbit(x))) / (len(x) / 16000)
    assert abs(crossings - 2000) < 40, crossings  # 2 per period: still 1 kHz at 16 kHz
    high = page.evaluate(_RENDER, [rate, 12000])
    y = np.concatenate([np.array(f, float) for f in high[1:]]) / 32767
    assert np.sqrt(np.mean(y**2)) < 0.01 * rms  # >= 40 dB down


def test_a_refused_microphone_says_how_to_allow_it(open_page):
    page = open_page("/static/play.html?lesson=cafe", mic="denied")
    expect(page.locator("#log li.bot").first).to_be_visible()
    page.get_by_role("button", name="Turn microphone on").click()
    expect(page.get_by_role("alert")).to_contain_text("Microphone access was denied")
    expect(page.get_by_role("button", name="Turn microphone on")).to_be_enabled()


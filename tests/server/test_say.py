"""GET /v1/speech/say: the model pronunciation the role-play's "listen" button plays."""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf

from tests.helpers import assert_error


def test_a_word_is_spoken_as_wav_and_cached_by_the_browser(client):
    resp = client.get("/v1/speech/say", params={"text": "thought", "voice": "en-gb"})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "audio/wav"
    assert "max-age" in resp.headers["cache-control"]
    audio, rate = sf.read(io.BytesIO(resp.content))
    assert rate > 8000 and 0.2 < len(audio) / rate < 3 and np.abs(audio).max() > 0.05
    longer = client.get("/v1/speech/say", params={"text": "thought about it for a long time"})
    assert len(longer.content) > len(resp.content)


def test_bad_text_or_voice_is_a_clear_4xx(client):
    assert_error(client.get("/v1/speech/say"), 422, "invalid_query")
    assert_error(client.get("/v1/speech/say", params={"text": "x" * 201}), 422, "invalid_query")
    assert_error(client.get("/v1/speech/say", params={"text": "hi", "voice": "klingon"}), 400)

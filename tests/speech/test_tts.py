"""espeak-ng synthesis: playable WAV, plausible length, voices, the LRU cache."""

from __future__ import annotations

import io
import threading
import wave

import numpy as np
import pytest

from speech.endpoint import Endpointer, SpeechEnded, SpeechStarted
from speech.errors import SpeechError
from speech.tts import BadSynthesisRequest, CachedSynthesizer, UnknownVoice
from speech.tts.espeak import EspeakTts

LINES = [
    "Good morning. May I see your passport, please?",
    "How long are you staying in the country?",
    "What is the purpose of your visit?",
    "Welcome to the café! What would you like to order?",
    "Do you have anything to declare?",
    "Thank you, have a nice day.",
    "Could you spell your last name for me?",
    "The train to the airport leaves at a quarter past nine.",
]


@pytest.fixture(scope="module")
def tts() -> EspeakTts:
    return EspeakTts()


def read_wav(data: bytes) -> tuple[np.ndarray, int]:
    """Parse with the stdlib reader, as strict as a browser about the header."""
    with wave.open(io.BytesIO(data)) as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2 and w.getcomptype() == "NONE"
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        assert pcm.size == w.getnframes() > 0
        return pcm, w.getframerate()


def envelope(pcm: np.ndarray) -> np.ndarray:
    n = pcm.size // 220 * 220
    return np.sqrt((pcm[:n].astype(np.float64).reshape(-1, 220) ** 2).mean(axis=1))


def same_line(a: np.ndarray, b: np.ndarray) -> bool:
    """True when a and b look like two renderings of one line. espeak-ng's wave generator
    carries its phase from call to call, so repeats differ by a few ms: compare length and
    loudness contour, not bytes."""
    m = min(a.size, b.size) // 220
    return (abs(a.size - b.size) < 0.02 * a.size
            and np.corrcoef(envelope(a)[:m], envelope(b)[:m])[0, 1] > 0.9)


def test_lines_become_16_bit_wav_of_plausible_length(tts) -> None:
    """Measured at 150 wpm: 0.05-0.07 s per character."""
    for line in LINES:
        pcm, rate = read_wav(tts.synthesize(line))
        assert rate == 22_050
        seconds = pcm.size / rate
        assert 0.04 * len(line) < seconds < 0.2 * len(line), (line, seconds)
        assert np.abs(pcm).max() > 3000  # audible, not silence


def log_spectrum(pcm: np.ndarray) -> np.ndarray:
    frames = pcm[:pcm.size // 512 * 512].astype(np.float64).reshape(-1, 512) * np.hanning(512)
    return np.log(np.abs(np.fft.rfft(frames, axis=1)).mean(axis=0) + 1)


def pitch_hz(pcm: np.ndarray, rate: int = 22_050) -> float:
    """Median autocorrelation pitch over the loud 46 ms frames."""
    found = []
    for f in pcm[:pcm.size // 1024 * 1024].astype(np.float64).reshape(-1, 1024):
        if np.sqrt((f ** 2).mean()) > 1000:
            ac = np.correlate(f - f.mean(), f - f.mean(), "full")[1023:]
            lo, hi = rate // 400, rate // 60
            found.append(rate / (lo + ac[lo:hi].argmax()))
    return float(np.median(found))


def test_different_texts_give_different_audio(tts) -> None:
    pcms = [read_wav(tts.synthesize(line))[0] for line in LINES]
    for i, a in enumerate(pcms):
        assert same_line(a, read_wav(tts.synthesize(LINES[i]))[0])
        assert not any(same_line(a, b) for b in pcms[i + 1:])


def test_voices_sound_different(tts) -> None:
    """Measured: spectra of two en-us renderings differ by 0.017, en-us vs en-gb by 0.31;
    the f3 variant speaks at ~200 Hz, the default voice at ~100 Hz."""
    line = "I can't dance after the party; the car, the water and the tomato are hot."
    us, us2, gb = (read_wav(tts.synthesize(line, voice=v))[0] for v in ("en-us", "en-us",
                                                                           "en-gb"))
    assert np.abs(log_spectrum(us) - log_spectrum(us2)).mean() < 0.05
    assert np.abs(log_spectrum(us) - log_spectrum(gb)).mean() > 0.1
    female = read_wav(tts.synthesize(line, voice="en-us+f3"))[0]
    assert pitch_hz(female) > 1.5 * pitch_hz(us)


def test_rate_changes_duration(tts) -> None:
    slow, _ = read_wav(tts.synthesize(LINES[7], rate=100))
    fast, _ = read_wav(tts.synthesize(LINES[7], rate=250))
    assert slow.size > 1.8 * fast.size


def test_resampled_output(tts) -> None:
    tts16 = EspeakTts(sample_rate=16_000)
    pcm16, rate = read_wav(tts16.synthesize(LINES[1]))
    pcm22, _ = read_wav(tts.synthesize(LINES[1]))
    assert rate == 16_000
    assert abs(pcm16.size / 16_000 - pcm22.size / 22_050) < 0.01


def test_english_voices_are_offered(tts) -> None:
    assert {"en-us", "en-gb", "en-gb-x-rp", "en-gb-scotland"} <= tts.voices
    assert all(v.startswith("en-") for v in tts.voices)
    assert "f3" in tts.variants


@pytest.mark.parametrize("voice", ["fr", "klingon", "EN-US", "en-us+nope", "", "en-us+"])
def test_bad_voice_is_a_clear_error(tts, voice: str) -> None:
    with pytest.raises(UnknownVoice, match="choose from") as info:
        tts.synthesize("Hello there.", voice=voice)
    assert info.value.status == 400 and info.value.code == "unknown_voice"
    assert "en-us" in str(info.value)


@pytest.mark.parametrize(("text", "rate"), [("", None), ("   \n", None), ("\x00\x07", None),
                                            (b"Hello.", None), ("x" * 1001, None),
                                            ("Hello.", 20), ("Hello.", 1000), ("Hello.", 1.5)])
def test_bad_requests_are_refused(tts, text: str, rate) -> None:
    with pytest.raises(BadSynthesisRequest):
        tts.synthesize(text, rate=rate)


def test_control_characters_are_spoken_around(tts) -> None:
    assert read_wav(tts.synthesize("Hello\x00 there\x07."))[0].size > 0


def test_bad_default_voice_fails_at_construction() -> None:
    with pytest.raises(UnknownVoice):
        EspeakTts(default_voice="xx")


class CountingTts(EspeakTts):
    """The real engine, counting how often it is asked to synthesize."""

    calls = 0

    def synthesize(self, text, *, voice=None, rate=None) -> bytes:
        self.calls += 1
        return super().synthesize(text, voice=voice, rate=rate)


def test_cache_returns_identical_bytes_without_resynthesising() -> None:
    inner = CountingTts()
    cache = CachedSynthesizer(inner)
    first = cache.synthesize(LINES[0])
    assert cache.synthesize(LINES[0]) is first
    assert cache.synthesize("  Good morning.  May I see your passport, please? ") is first
    assert cache.synthesize(LINES[0], voice="en-us", rate=150) is first  # the defaults
    assert inner.calls == 1 and (cache.hits, cache.misses) == (3, 1)
    cache.synthesize(LINES[0], voice="en-gb")
    cache.synthesize(LINES[0], rate=120)
    assert inner.calls == 3 and len(cache) == 3


def test_cache_evicts_least_recently_used_within_its_bounds() -> None:
    inner = CountingTts()
    sizes = [len(inner.synthesize(line)) for line in LINES[:3]]
    inner.calls = 0
    cache = CachedSynthesizer(inner, max_bytes=sum(sizes) + 10, max_entries=100)
    for line in LINES[:3]:
        cache.synthesize(line)
    cache.synthesize(LINES[0])  # now the most recent
    cache.synthesize(LINES[3])  # over the byte bound: evicts LINES[1], the least recent
    assert cache.size_bytes <= cache.max_bytes
    calls = inner.calls
    cache.synthesize(LINES[0])
    assert inner.calls == calls  # still cached
    cache.synthesize(LINES[1])
    assert inner.calls == calls + 1  # was evicted
    small = CachedSynthesizer(inner, max_entries=2)
    for line in LINES[:5]:
        small.synthesize(line)
    assert len(small) == 2


def test_cache_validates_before_looking_up() -> None:
    cache = CachedSynthesizer(EspeakTts())
    with pytest.raises(UnknownVoice):
        cache.synthesize("Hello.", voice="xx")
    assert cache.misses == 0


def test_concurrent_synthesis_does_not_mix_audio(tts) -> None:
    """espeak-ng is global C state: without the lock this test crashes the process
    (double free) or mixes lines; with it each thread gets its own line."""
    expected = {line: read_wav(tts.synthesize(line))[0] for line in LINES}
    assert not same_line(expected[LINES[0]], expected[LINES[1]])  # the check discriminates
    results: dict[str, list[np.ndarray]] = {line: [] for line in LINES}
    errors: list[Exception] = []

    def work(line: str) -> None:
        try:
            for _ in range(3):
                results[line].append(read_wav(EspeakTts().synthesize(line))[0])
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(line,)) for line in LINES]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    for line, out in results.items():
        assert len(out) == 3 and all(same_line(expected[line], pcm) for pcm in out), line


def test_synthesized_speech_is_speech_to_the_vad(silero) -> None:
    """The bot's voice at 16 kHz, padded with silence: one utterance, covering the line."""
    tts16 = EspeakTts(sample_rate=16_000)
    for line in LINES[:4]:
        pcm, _ = read_wav(tts16.synthesize(line))
        pad = np.zeros(16_000, dtype=np.int16)
        ep = Endpointer(silero)
        events = [e for i in range(0, pcm.size + 32_000, 1600)
                  for e in ep.push(np.concatenate([pad, pcm, pad])[i:i + 1600])]
        assert [type(e) for e in events] == [SpeechStarted, SpeechEnded], line
        assert events[1].seconds > 0.7 * pcm.size / 16_000


def test_errors_are_speech_errors() -> None:
    assert issubclass(UnknownVoice, BadSynthesisRequest)
    assert issubclass(BadSynthesisRequest, SpeechError)

"""Audio input: frame checks, file decoding, flood control, the utterance buffer."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
import soundfile as sf

from speech.audio import (
    MAX_FRAME_BYTES,
    MIN_FRAME_BYTES,
    RealTimeGuard,
    Utterance,
    check_frame,
    decode_wav,
)
from speech.errors import AudioTooFast, AudioTooLong, BadAudio
from tests.speech.helpers import CORPUS


def wav_bytes(audio: np.ndarray, rate: int, fmt: str = "WAV", subtype: str = "PCM_16") -> bytes:
    out = io.BytesIO()
    sf.write(out, audio, rate, format=fmt, subtype=subtype)
    return out.getvalue()


def tone(freq: float, seconds: float, rate: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_hz(x: np.ndarray, rate: int = 16_000) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.fft.rfftfreq(x.size, 1 / rate)[spectrum.argmax()])


# -- check_frame ------------------------------------------------------------------


@pytest.mark.parametrize("n_bytes", [MIN_FRAME_BYTES, 1024, 3200, MAX_FRAME_BYTES])
def test_frame_of_allowed_size_is_int16_little_endian(n_bytes: int) -> None:
    samples = np.arange(n_bytes // 2, dtype="<i2") - 300
    out = check_frame(samples.tobytes())
    assert out.dtype == np.int16 and np.array_equal(out, samples)
    assert np.array_equal(check_frame(bytearray(samples.tobytes())), samples)


@pytest.mark.parametrize(("n_bytes", "words"), [
    (641, "odd length"), (MIN_FRAME_BYTES - 2, "too short"), (0, "too short"),
    (MAX_FRAME_BYTES + 2, "too long"), (64_000, "too long")])
def test_bad_frames_are_refused_with_a_clear_message(n_bytes: int, words: str) -> None:
    with pytest.raises(BadAudio, match=words) as info:
        check_frame(b"\x01" * n_bytes)
    assert info.value.status == 400 and info.value.code == "bad_audio"


def test_text_frame_is_refused() -> None:
    with pytest.raises(BadAudio, match="binary"):
        check_frame("x" * 1000)  # type: ignore[arg-type]


# -- decode_wav -------------------------------------------------------------------


@pytest.mark.parametrize(("rate", "channels", "subtype"), [
    (16_000, 1, "PCM_16"), (44_100, 2, "PCM_16"), (48_000, 1, "FLOAT"), (8_000, 1, "PCM_U8"),
    (22_050, 6, "PCM_24"), (96_000, 2, "PCM_32")])
def test_any_common_rate_and_layout_becomes_16k_mono(rate: int, channels: int,
                                                     subtype: str) -> None:
    mono = tone(440.0, 1.5, rate)
    audio = np.stack([mono] * channels, axis=1) if channels > 1 else mono
    out = decode_wav(wav_bytes(audio, rate, subtype=subtype))
    assert out.dtype == np.float32 and out.ndim == 1
    assert abs(out.size - 24_000) <= 2  # 1.5 s at 16 kHz
    assert abs(peak_hz(out) - 440.0) < 2.0  # the pitch survives resampling
    rms = float(np.sqrt(np.mean(out[1000:-1000] ** 2)))
    assert abs(rms - 0.5 / np.sqrt(2)) < 0.02  # and the level (no aliasing loss, no gain)


def test_channels_are_averaged() -> None:
    left, right = tone(440.0, 1.0, 16_000), tone(1000.0, 1.0, 16_000)
    out = decode_wav(wav_bytes(np.stack([left, right], axis=1), 16_000, subtype="FLOAT"))
    assert np.allclose(out, (left + right) / 2, atol=1e-6)


def test_flac_is_read_too() -> None:
    out = decode_wav(wav_bytes(tone(300.0, 1.0, 32_000), 32_000, fmt="FLAC"))
    assert abs(out.size - 16_000) <= 2 and abs(peak_hz(out) - 300.0) < 2.0


def test_real_recording_decodes_to_its_samples() -> None:
    path = next(iter(sorted((CORPUS / "WAVE").glob("*/*.WAV"))), None) if CORPUS.is_dir() else None
    if path is None:
        pytest.skip(f"speech corpus not found at {CORPUS}")
    data = path.read_bytes()
    pcm, _ = sf.read(io.BytesIO(data), dtype="int16")
    assert np.array_equal(decode_wav(data), pcm.astype(np.float32) / 32768)


@pytest.mark.parametrize("data", [
    b"", b"not audio at all" * 100, b"RIFF\x00\x00\x00\x00WAVEfmt ", b"\x00" * 5000,
    b"%PDF-1.4\n" + bytes(range(256)) * 20])
def test_non_audio_is_bad_audio(data: bytes) -> None:
    with pytest.raises(BadAudio):
        decode_wav(data)


def test_empty_wav_is_bad_audio() -> None:
    with pytest.raises(BadAudio, match="no samples"):
        decode_wav(wav_bytes(np.zeros(0, dtype=np.float32), 16_000))


def test_nan_samples_are_bad_audio() -> None:
    audio = tone(440.0, 0.5, 16_000)
    audio[100] = np.nan
    with pytest.raises(BadAudio, match="NaN"):
        decode_wav(wav_bytes(audio, 16_000, subtype="FLOAT"))


def test_too_low_sample_rate_is_bad_audio() -> None:
    with pytest.raises(BadAudio, match="sample rate"):
        decode_wav(wav_bytes(tone(100.0, 1.0, 4_000), 4_000))


def test_over_the_limit_is_too_long() -> None:
    data = wav_bytes(tone(440.0, 3.0, 8_000), 8_000)
    assert decode_wav(data, max_seconds=3.5).size == 48_000
    with pytest.raises(AudioTooLong) as info:
        decode_wav(data, max_seconds=2.0)
    assert info.value.status == 413 and "3.0 s" in str(info.value)


def test_length_is_checked_before_decoding() -> None:
    """Ten minutes of FLAC silence fit in a few KB: refused from the header, not decoded."""
    data = wav_bytes(np.zeros(600 * 8_000, dtype=np.int16), 8_000, fmt="FLAC")
    assert len(data) < 200_000  # ~20 MB of float32 once decoded and resampled
    with pytest.raises(AudioTooLong, match="600.0 s"):
        decode_wav(data, max_seconds=60)


def test_errors_survive_pickling() -> None:
    err = pickle.loads(pickle.dumps(AudioTooLong("utterance longer than 30 s")))
    assert isinstance(err, AudioTooLong) and str(err) == "utterance longer than 30 s"


# -- RealTimeGuard ----------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_real_time_with_jitter_and_an_initial_buffer_is_accepted() -> None:
    clock, rng = FakeClock(), np.random.default_rng(1)
    guard = RealTimeGuard(burst_seconds=2.0, clock=clock)
    start, arrival = clock.now, clock.now
    for _ in range(50):  # the browser flushes 1 s it buffered while the socket opened
        guard.feed(320)
    for k in range(3000):  # 60 s of 20 ms frames, each delayed 0-300 ms, in order (TCP)
        arrival = max(arrival, start + 0.02 * k + rng.uniform(0.0, 0.3))
        clock.now = arrival
        guard.feed(320)
    assert guard.ahead_seconds < 1.5


def test_a_stall_then_its_backlog_is_accepted() -> None:
    clock = FakeClock()
    guard = RealTimeGuard(burst_seconds=3.0, clock=clock)
    guard.feed(320)
    clock.now += 2.5  # the network stalls for 2.5 s, then TCP delivers it all at once
    for _ in range(125):
        guard.feed(320)
    assert 2.4 < guard.ahead_seconds <= 3.0


def test_a_flood_is_refused_and_a_slower_client_recovers() -> None:
    clock = FakeClock()
    guard = RealTimeGuard(burst_seconds=2.0, clock=clock)
    sent = 0
    with pytest.raises(AudioTooFast) as info:
        while True:  # ten times real time
            clock.now += 0.02
            guard.feed(3200)
            sent += 1
    assert info.value.status == 429
    assert 10 <= sent <= 12  # 2 s of tolerance / 0.18 s gained per frame
    clock.now += 1.0  # the client slows down: a second later it may send a second again
    guard.feed(16_000)


def test_silence_does_not_bank_credit_for_a_flood() -> None:
    clock = FakeClock()
    guard = RealTimeGuard(burst_seconds=2.0, clock=clock)
    guard.feed(320)
    clock.now += 600.0  # ten quiet minutes
    with pytest.raises(AudioTooFast):
        for _ in range(20):
            guard.feed(3200)  # 4 s at once


# -- Utterance --------------------------------------------------------------------


def test_utterance_holds_frames_in_order_and_refuses_past_the_limit() -> None:
    utt = Utterance(max_seconds=1.0)
    frames = [np.full(3200, i, dtype=np.int16) for i in range(5)]
    for f in frames:
        utt.append(f)
    assert len(utt) == 16_000 and utt.seconds == 1.0
    assert np.array_equal(utt.samples(), np.concatenate(frames))
    with pytest.raises(AudioTooLong):
        utt.append(np.zeros(1, dtype=np.int16))
    assert len(utt) == 16_000  # the refused frame was not added
    kept = utt.samples()
    utt.clear()
    assert len(utt) == 0 and kept.size == 16_000  # a returned copy outlives clear()
    with pytest.raises(TypeError):
        utt.append(np.zeros(10, dtype=np.float32))

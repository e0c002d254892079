"""The ctc engine: checkpoint loading on a tiny wav2vec2 made here, decoding on crafted emissions.

Nothing is downloaded. Decoding is checked where it can go wrong: emissions that
are ambiguous between two words the state LM must choose from (both ways),
words outside the state's sentences (inside and outside the background
vocabulary), timings at known frames, partials and batches. A "frame-code"
model turns audio into known emissions (each 20 ms frame's level names a
token), so streams and batches run the whole engine on audio that spells text.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch

from speech.asr import create_recognizer
from speech.asr.ctc import CtcModel, emissions, load_ctc_model, save_ctc_checkpoint
from speech.errors import SpeechUnavailable
from speech.lm import StateLM, estimate_kn


def _has_flashlight() -> bool:
    try:
        import flashlight.lib.text.decoder  # noqa: F401
    except ImportError:
        return False
    return True


needs_flashlight = pytest.mark.skipif(
    not _has_flashlight(),
    reason="flashlight-text is not installed (pip install flashlight-text==0.0.7); "
    "the ctc engine's beam search needs it",
)

TOKENS = list("-|etaoinshrdlumwcfgypbvk'xjqz")
STRIDE = 320
SENTENCES = ["i have a cat", "i have a bird", "i would like some tea"]


def _tiny_config(mode: str) -> dict:
    return {
        "extractor_mode": mode,
        "extractor_conv_layer_config": [[8, 10, 5]] + [[8, 3, 2]] * 4 + [[8, 2, 2]] * 2,
        "extractor_conv_bias": mode == "layer_norm",
        "encoder_embed_dim": 16, "encoder_projection_dropout": 0.0,
        "encoder_pos_conv_kernel": 8, "encoder_pos_conv_groups": 4,
        "encoder_num_layers": 2, "encoder_num_heads": 2, "encoder_attention_dropout": 0.0,
        "encoder_ff_interm_features": 32, "encoder_ff_interm_dropout": 0.0,
        "encoder_dropout": 0.0, "encoder_layer_norm_first": mode == "layer_norm",
        "encoder_layer_drop": 0.0, "aux_num_out": len(TOKENS),
    }


def _tiny(mode: str = "group_norm") -> tuple[torch.nn.Module, dict]:
    from torchaudio.models import wav2vec2_model

    torch.manual_seed(0)
    config = _tiny_config(mode)
    model = wav2vec2_model(**config).eval()
    with torch.no_grad():
        model.aux.bias[0] -= 3.0  # fewer blanks, so random weights still spell something
    return model, config


def _noise(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(seconds * 16_000)) * 3000).astype(np.int16)


# -- crafted emissions ----------------------------------------------------------------------------


def _spell(text: str, unsure: dict[tuple[int, int], dict[str, float]] | None = None,
           tokens: list[str] = TOKENS) -> tuple[torch.Tensor, list[tuple[int, int]]]:
    """Log-posteriors spelling ``text`` one letter per spike, and each word's letter frames.

    ``unsure[(word, letter)]`` replaces that letter's spike by a distribution.
    """
    rows: list[dict[str, float]] = [{}] * 5
    spans = []
    for i, word in enumerate(text.split()):
        if i:
            rows += [{"|": 0.999}, {}]
        first = len(rows)
        for j, ch in enumerate(word):
            rows += [(unsure or {}).get((i, j), {ch: 0.999}), {}]
        spans.append((first, len(rows) - 2))
    rows += [{}] * 5
    index = {t.lower(): k for k, t in enumerate(tokens)}
    probs = torch.full((len(rows), len(tokens)), 1e-5)
    for f, row in enumerate(rows):
        for ch, p in row.items():
            probs[f, index[ch]] = p
        probs[f, 0] = 0.0
        probs[f, 0] = 1.0 - probs[f].sum()
    return probs.log(), spans


class FrameCode(torch.nn.Module):
    """A stand-in acoustic model: 20 ms frame at level k * 256 → token k (posterior 0.999)."""

    def forward(self, waveforms: torch.Tensor, lengths: torch.Tensor):
        frames = waveforms.shape[1] // STRIDE
        level = waveforms[:, : frames * STRIDE].reshape(len(waveforms), frames, STRIDE).mean(-1)
        codes = (level * 128).round().long().clamp(0, len(TOKENS) - 1)
        table = torch.full((len(TOKENS), len(TOKENS)), 1e-5)
        table[torch.arange(len(TOKENS)), torch.arange(len(TOKENS))] = 0.999
        return table.log()[codes], lengths // STRIDE


def _audio(text: str) -> np.ndarray:
    """Audio that FrameCode hears as ``text`` (letters and delimiters apart by one blank)."""
    codes = [0] * 5
    for i, word in enumerate(text.split()):
        codes += ([1, 0] if i else []) + [c for ch in word for c in (TOKENS.index(ch), 0)]
    codes += [0] * 5
    return np.repeat(np.array(codes, np.int16) * 256, STRIDE)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Models this small only lose to thread start-up (60x on a busy 2-core machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("lm-cache")


@pytest.fixture(scope="module")
def engine(cache):
    from speech.asr.ctc import CtcRecognizer

    return CtcRecognizer(CtcModel(FrameCode(), tuple(TOKENS)), cache_dir=cache,
                         partial_every_s=0.2)


@pytest.fixture(scope="module")
def state() -> StateLM:
    return StateLM.from_sentences(SENTENCES)


# -- checkpoints ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["group_norm", "layer_norm"])
@pytest.mark.parametrize("form", ["directory", "file"])
def test_checkpoint_round_trip_gives_the_model_emissions(tmp_path, mode, form) -> None:
    model, config = _tiny(mode)
    if form == "directory":
        path = save_ctc_checkpoint(tmp_path / "ckpt", model, config, TOKENS)
    else:
        path = tmp_path / "model.pt"
        directory = save_ctc_checkpoint(tmp_path / "d", model, config, TOKENS)
        blob = {"config": json.loads((directory / "config.json").read_text()),
                "state_dict": model.state_dict()}
        torch.save(blob, path)
    loaded = load_ctc_model(path, device="cpu")
    assert loaded.tokens == tuple(TOKENS) and loaded.stride == STRIDE
    pcms = [_noise(1.0, 1), _noise(0.55, 2)]
    got = emissions(loaded, pcms)  # one padded batch
    for pcm, logp in zip(pcms, got, strict=True):
        x = torch.from_numpy(pcm.astype(np.float32) / 32768.0)[None]
        with torch.no_grad():
            want = torch.log_softmax(model(x)[0][0], dim=-1)
        assert logp.shape == want.shape and want.shape[1] == len(TOKENS)
        torch.testing.assert_close(logp, want, atol=1e-4, rtol=1e-4)


def _broken(tmp_path, case: str):
    model, config = _tiny()
    good = save_ctc_checkpoint(tmp_path / "good", model, config, TOKENS)
    cfg = json.loads((good / "config.json").read_text())
    if case == "missing":
        return tmp_path / "nowhere"
    if case == "no model.pt":
        (good / "model.pt").unlink()
        return good
    if case == "not json":
        (good / "config.json").write_text("{not json")
        return good
    if case == "garbage file":
        (tmp_path / "x.pt").write_bytes(b"not a torch file")
        return tmp_path / "x.pt"
    if case == "wrong format":
        cfg["format"] = "something-else"
    elif case == "tokens/outputs mismatch":
        cfg["tokens"] = TOKENS[:-1]
    elif case == "blank not a token":
        cfg["blank"] = "<pad>"
    elif case == "unknown model argument":
        cfg["model"]["encoder_size"] = 3
    elif case == "state_dict mismatch":
        cfg["model"]["encoder_num_layers"] = 3
    elif case == "8 kHz":
        cfg["sample_rate"] = 8000
    (good / "config.json").write_text(json.dumps(cfg))
    return good


BROKEN = ["missing", "no model.pt", "not json", "garbage file", "wrong format",
          "tokens/outputs mismatch", "blank not a token", "unknown model argument",
          "state_dict mismatch", "8 kHz"]


@pytest.mark.parametrize("case", BROKEN)
def test_bad_checkpoints_are_unavailable(tmp_path, case) -> None:
    with pytest.raises(SpeechUnavailable):
        load_ctc_model(_broken(tmp_path, case), device="cpu")


@needs_flashlight
def test_create_recognizer_names_the_problem(tmp_path, monkeypatch) -> None:
    with pytest.raises(SpeechUnavailable, match="checkpoint"):
        create_recognizer("ctc")
    with pytest.raises(SpeechUnavailable, match="does not exist"):
        create_recognizer("ctc", checkpoint=str(tmp_path / "nowhere"))
    model, config = _tiny()
    path = save_ctc_checkpoint(tmp_path / "ok", model, config, TOKENS)
    assert create_recognizer("ctc", checkpoint=str(path), device="cpu").name == "ctc"
    monkeypatch.setitem(sys.modules, "torchaudio.models.decoder._ctc_decoder", None)
    with pytest.raises(SpeechUnavailable, match="flashlight-text"):
        create_recognizer("ctc", checkpoint=str(path))


# -- decoding -------------------------------------------------------------------------------------

CUT_OR_CAT = {(3, 1): {"u": 0.55, "a": 0.43}}  # "c?t": slightly more "cut" than "cat"


@needs_flashlight
@pytest.mark.parametrize("upper", [False, True])
def test_the_state_lm_resolves_what_the_acoustics_leave_open(cache, upper) -> None:
    from speech.asr.ctc import CtcRecognizer

    tokens = [t.upper() for t in TOKENS] if upper else TOKENS
    rec = CtcRecognizer(CtcModel(FrameCode(), tuple(tokens)), cache_dir=cache)
    logp, _ = _spell("i have a cat", CUT_OR_CAT, tokens)
    assert rec.decode_emissions(logp).text == "i have a cut"  # acoustics alone
    res = rec.decode_emissions(logp, StateLM.from_sentences(SENTENCES))
    assert (res.text, res.path) == ("i have a cat", "grammar")
    assert res.confidence >= 0.5
    cat = res.words[-1]
    assert 0.5 < cat.confidence < min(w.confidence for w in res.words[:-1])
    other = StateLM.from_sentences(["i have a cut", "i have a bird"])
    assert rec.decode_emissions(logp, other).text == "i have a cut"  # the LM decides both ways


@needs_flashlight
def test_words_outside_the_sentences_are_still_output(engine, state) -> None:
    for text in ("i have a dog", "i have a zorp"):  # background word; no LM word at all
        res = engine.decode_emissions(_spell(text)[0], state)
        assert (res.text, res.path) == (text, "open")
    res = engine.decode_emissions(_spell("i would like some tea")[0], state)
    assert (res.text, res.path) == ("i would like some tea", "grammar")
    assert res.confidence > 0.9


@needs_flashlight
def test_a_weak_expected_sentence_is_not_a_grammar_result(engine, state) -> None:
    logp, _ = _spell("i have a cat", {(3, 1): {"u": 0.85, "a": 0.1}})
    res = engine.decode_emissions(logp, state)
    assert res.text == "i have a cat"  # the LM still reads "cat"…
    assert res.path == "open" and res.words[-1].confidence < 0.5  # …but it is not verified


@needs_flashlight
def test_word_times_come_from_the_frames(engine, state) -> None:
    logp, spans = _spell("i would like some tea")
    frame_s = STRIDE / 16_000
    seconds = len(logp) * frame_s
    for lm in (state, None):
        res = engine.decode_emissions(logp, lm)
        assert res.audio_seconds == pytest.approx(seconds)
        assert [w.start for w in res.words] == pytest.approx([a * frame_s for a, _ in spans])
        assert [w.end for w in res.words] == pytest.approx([(b + 1) * frame_s for _, b in spans])
        assert all(0 <= w.start < w.end <= seconds for w in res.words)
        assert all(a.end <= b.start for a, b in zip(res.words, res.words[1:], strict=False))
        assert all(0.0 <= w.confidence <= 1.0 for w in res.words)


@needs_flashlight
def test_a_configured_general_lm_steers_decoding_without_a_state(cache, tmp_path) -> None:
    from speech.asr.ctc import CtcRecognizer

    arpa = tmp_path / "general.arpa"
    arpa.write_text(estimate_kn([s.split() for s in SENTENCES]).to_arpa())
    rec = CtcRecognizer(CtcModel(FrameCode(), tuple(TOKENS)), cache_dir=cache, general_lm=arpa)
    res = rec.decode_emissions(_spell("i have a cat", CUT_OR_CAT)[0])
    assert (res.text, res.path) == ("i have a cat", "general")
    binary = tmp_path / "lm.bin"
    binary.write_bytes(b"mmap lm http://kheafield.com/code format version 5\0" + b"\0" * 64)
    with pytest.raises(SpeechUnavailable, match="general_lexicon"):
        CtcRecognizer(CtcModel(FrameCode(), tuple(TOKENS)), general_lm=binary)


# -- streams and batches --------------------------------------------------------------------------


@needs_flashlight
def test_a_stream_gives_partials_then_the_one_shot_result(engine, state) -> None:
    text = "i would like some tea"
    pcm = _audio(text)
    stream = engine.start(state)
    partials = [stream.feed(pcm[i:i + 1600]) for i in range(0, len(pcm), 1600)]
    final = stream.finish()
    shown = [p for p in partials if p]
    assert len(set(shown)) >= 3 and all(text.startswith(p) for p in shown)
    assert (final.text, final.path) == (text, "grammar")
    assert final == engine.recognize(pcm, state)
    quiet = engine.start(state, partials=False)
    assert all(quiet.feed(pcm[i:i + 1600]) is None for i in range(0, len(pcm), 1600))
    assert quiet.finish() == final
    with pytest.raises(RuntimeError):
        stream.feed(pcm)


@needs_flashlight
def test_a_batch_equals_one_utterance_at_a_time(engine, state) -> None:
    pcms = [_audio("i have a cat"), _audio("i would like some tea"), _audio("i have a dog"),
            np.zeros(800, np.int16)]
    batch = engine.recognize_batch(pcms, state)
    assert batch == [engine.recognize(p, state) for p in pcms]
    assert [r.text for r in batch] == ["i have a cat", "i would like some tea", "i have a dog", ""]


@needs_flashlight
@pytest.mark.parametrize("mode", ["group_norm", "layer_norm"])
def test_the_real_model_batches_like_single_utterances(tmp_path, mode) -> None:
    model, config = _tiny(mode)
    rec = create_recognizer("ctc", checkpoint=save_ctc_checkpoint(tmp_path, model, config,
                                                                 TOKENS), device="cpu")
    pcms = [_noise(1.2, 3), _noise(0.4, 4), _noise(0.9, 5)]
    batch = rec.recognize_batch(pcms)
    for pcm, got in zip(pcms, batch, strict=True):
        one = rec.recognize(pcm)
        assert got.text == one.text and got.text  # random weights still spell letters
        assert [(w.start, w.end) for w in got.words] == [(w.start, w.end) for w in one.words]
        assert got.confidence == pytest.approx(one.confidence, abs=1e-4)
        assert all(0 <= w.start < w.end <= got.audio_seconds for w in got.words)

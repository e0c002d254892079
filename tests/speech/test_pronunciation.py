"""Pronunciation assessment on real learner recordings with controlled errors.

The shipped scorer was trained on the ``tune`` speaker half of the shared subset;
the statistical tests here use the ``test`` half only.
"""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys

import numpy as np
import pytest
import torch

from speech.errors import BadAudio, BadReference, NotAligned, SpeechUnavailable
from speech.eval.data import DataDir, read_wav
from speech.eval.pronunciation import auc, trained_speakers
from speech.eval.wer import select
from speech.lm.g2p import PHONES
from speech.pronunciation.align import AlignedPhone, AlignedWord, Alignment
from speech.pronunciation.assess import assemble, fluency, miscues, word_accuracy
from speech.pronunciation.assessor import Assessor, create_scorer, reference_words
from speech.pronunciation.confusions import SUBSTITUTIONS, corrupt
from speech.pronunciation.features import N_FEATURES, N_WORD_FEATURES
from speech.pronunciation.learned import load_artefact
from speech.pronunciation.tips import MINIMAL_PAIRS, TIPS, minimal_pair
from tests.helpers import ROOT
from tests.speech.helpers import CORPUS
from tests.speech.test_eval_wer import _tiny_dir

needs_corpus = pytest.mark.skipif(
    not (CORPUS / "wav.scp").is_file(),
    reason=f"speechocean762 subset not found at {CORPUS} (the shared data folder)")


@pytest.fixture(scope="module")
def corpus() -> DataDir:
    if not (CORPUS / "wav.scp").is_file():
        pytest.skip(f"speechocean762 subset not found at {CORPUS} (the shared data folder)")
    return DataDir.load(CORPUS)


@pytest.fixture(scope="module")
def learned():
    return create_scorer("learned")


@pytest.fixture(scope="module")
def whisper():
    try:
        return create_scorer("whisper")
    except SpeechUnavailable as exc:  # the whisper extra is part of the dev install
        pytest.skip(f"the whisper scorer is unavailable: {exc}")


def _controlled(scorer, corpus: DataDir, n: int, seed: int) -> tuple[list[int], list[float]]:
    """(changed?, P(right)) for every phone of ``n`` test-half recordings with corrupted text."""
    ys: list[int] = []
    ps: list[float] = []
    for utt in select(corpus, "test", n, seed):
        c = corrupt(reference_words(utt.text), random.Random(f"{seed}:{utt.id}"))
        alignment, probs, _ = scorer.score_phones(read_wav(utt.wav), c.words)
        ys += [int(j in changed) for w, changed in zip(alignment.words, c.changed, strict=True)
               for j in range(len(w.phones))]
        ps += list(probs)
    return ys, ps


def _z(ys: list[int], ps: list[float]) -> float:
    """Mann-Whitney z of changed phones scoring below untouched ones."""
    n1, n0 = sum(ys), len(ys) - sum(ys)
    u = auc(ys, [-p for p in ps]) * n1 * n0
    return (u - n1 * n0 / 2) / math.sqrt(n1 * n0 * (n1 + n0 + 1) / 12)


@needs_corpus
def test_corrupted_phones_score_lower_over_many_recordings(corpus, learned):
    ys, ps = _controlled(learned, corpus, 40, seed=7)
    assert sum(ys) >= 30 and len(ys) - sum(ys) >= 300
    assert _z(ys, ps) > 5  # far beyond chance (p < 1e-6)
    learned_auc = auc(ys, [-p for p in ps])
    assert learned_auc > 0.75, learned_auc
    changed = np.array([p for y, p in zip(ys, ps, strict=True) if y])
    kept = np.array([p for y, p in zip(ys, ps, strict=True) if not y])
    assert np.median(changed) < np.median(kept) - 0.2
    # the plain pocketsphinx GOP separates too, but less: why it is only the baseline
    gop_y, gop_p = _controlled(create_scorer("gop"), corpus, 40, seed=7)
    assert gop_y == ys and 0.6 < auc(gop_y, [-p for p in gop_p]) < learned_auc


@needs_corpus
def test_the_whisper_front_end_separates_corrupted_phones_best(corpus, learned, whisper):
    ys, ps = _controlled(whisper, corpus, 40, seed=7)
    assert _z(ys, ps) > 8
    fbank_y, fbank_p = _controlled(learned, corpus, 40, seed=7)
    assert fbank_y == ys
    # 0.935 against 0.843 over the whole test half (README); here 40 recordings
    assert auc(ys, [-p for p in ps]) > max(0.85, auc(ys, [-p for p in fbank_p]) + 0.03)
    assert whisper.name.startswith("learned-whisper-v1+") and learned.name.startswith("learned-v1+")


@needs_corpus
def test_whisper_frames_cover_the_alignment_grid(corpus, whisper):
    pcm = np.concatenate([read_wav(u.wav) for u in select(corpus, "test", 12, seed=5)])
    assert len(pcm) > 16000 * 31  # longer than Whisper's 30 s window
    frames = whisper.features(pcm)
    assert frames.shape == (len(pcm) // 160, 512) and torch.isfinite(frames).all()
    # the second window is encoded, not the last state repeated
    assert frames[3100:].std(dim=0).mean() > 0.5 * frames[:3000].std(dim=0).mean()
    short = whisper.features(pcm[:16000])
    assert short.shape == (100, 512)


def test_auto_falls_back_to_the_filterbank_scorer(tmp_path):
    scorer = create_scorer("auto", model=str(tmp_path / "no-such-model"))
    assert scorer.name == create_scorer("learned").name
    with pytest.raises(SpeechUnavailable):
        create_scorer("whisper", model=str(tmp_path / "no-such-model"))


@needs_corpus
def test_the_true_text_outscores_another_sentence(corpus, learned):
    from speech.asr import create_recognizer

    assessor = Assessor(learned, recognizer=create_recognizer("pocketsphinx"))
    utts = select(corpus, "test", 20, seed=3)
    texts = [u.text for u in select(corpus, "test", 40, seed=4)]
    wins = 0
    for i, utt in enumerate(utts):
        pcm = read_wav(utt.wav)
        other = next(t for t in texts[i:] + texts if t.lower() != utt.text.lower())
        true, wrong = assessor.assess(pcm, utt.text), assessor.assess(pcm, other)
        wins += wrong.overall < true.overall
    assert wins >= 18  # 98 % over the whole test half (README)


@needs_corpus
def test_the_reference_match_tells_the_true_text_from_another_sentence(corpus, whisper,
                                                                      learned):
    """Another sentence aligned to a recording gets a low match and so a low accuracy,
    while the phone scores of the true text are left as the judge gave them."""
    utts = select(corpus, "test", 24, seed=11)
    texts = [u.text for u in select(corpus, "test", 48, seed=12)]
    true_m, other_m, wins = [], [], 0
    for i, utt in enumerate(utts):
        pcm = read_wav(utt.wav)
        other = next(t for t in texts[i:] + texts if t.lower() != utt.text.lower())
        true = whisper.score_phones(pcm, reference_words(utt.text))
        try:
            other_m.append(whisper.score_phones(pcm, reference_words(other)).match)
        except NotAligned:  # longer than the audio can hold: the assessor scores it 0
            other_m.append(0.0)
        true_m.append(true.match)
        said = assemble(true.alignment, true.probs, utt.text, None, whisper.name, true.match)
        assert said.accuracy == pytest.approx(100 * true.probs.mean() * true.match, abs=0.11)
        wins += true.match > other_m[-1]
    assert wins >= 22, (true_m, other_m)  # 0.9935 of the test half's pairs (README)
    assert np.median(true_m) > 0.8 and np.median(other_m) < 0.2, (true_m, other_m)
    assert learned.match is None  # the filterbank artefact has none: its match is 1


@needs_corpus
def test_assessment_shape_feedback_and_bad_input(corpus, learned):
    utt = next(u for u in corpus.utterances if u.id == "000060082")  # "Kate likes lamb."
    pcm = read_wav(utt.wav)
    assessor = Assessor(learned)
    out = assessor.assess(pcm, utt.text, recognized="kate lamb").to_dict()
    assert set(out) == {"reference", "recognized", "scores", "fluency", "words", "miscues",
                        "scorer"}
    assert [w["word"] for w in out["words"]] == ["kate", "likes", "lamb"]
    assert out["words"][1]["label"] == "omitted" and out["scores"]["completeness"] == 66.7
    assert {"type": "omission", "word": "likes", "index": 1, "heard": None} in out["miscues"]
    assert all(m["type"] == "mispronunciation" and m["word"] != "likes"
               for m in out["miscues"] if m["type"] != "omission")
    for word in out["words"]:
        for phone in word["phones"]:
            assert 0 <= phone["score"] <= 100 and phone["tip"] == TIPS[phone["phone"]]
            assert (phone["minimal_pair"] is not None) == (phone["label"] == "wrong")
            assert word["start"] <= phone["start"] < phone["end"] <= word["end"]
    # a reference the audio cannot hold: nothing scored, nothing complete, no error
    long = " ".join(["international communication"] * 30)
    assert len(pcm) <= 16000 * 4  # 690 phones need at least 20.7 s
    unfit = assessor.assess(pcm, long, recognized="kate likes lamb")
    assert unfit.overall == 0 and unfit.completeness == 0 and len(unfit.words) == 60
    assert {w.label for w in unfit.words} <= {"omitted", "wrong"} and unfit.miscues
    with pytest.raises(BadReference):
        assessor.assess(pcm, " ?! ")
    with pytest.raises(BadReference):
        assessor.assess(pcm, " ".join(["word"] * 61))
    with pytest.raises(BadAudio):
        assessor.assess(pcm[:800], utt.text)


def test_miscues_from_the_recognised_words():
    ref = ["i", "would", "like", "a", "coffee"]
    assert miscues(ref, "i would like a coffee", [False] * 5) == []
    found = miscues(ref, "um i would like the a coffee please", [False, True, False, False, False])
    assert [(m.type, m.word, m.index) for m in found] == [
        ("insertion", "the", None), ("insertion", "please", None),
        ("mispronunciation", "would", 1)]
    found = miscues(ref, "i like a toffee", [False] * 5)
    assert [(m.type, m.word, m.heard) for m in found] == [
        ("omission", "would", None), ("mispronunciation", "coffee", "toffee")]
    assert [m.type for m in miscues(ref, None, [True] + [False] * 4)] == ["mispronunciation"]


def _word(word: str, start: int, end: int) -> AlignedWord:
    return AlignedWord(word, start, end, (AlignedPhone("AH", start, end, 0.0, 0.0),))


def test_word_accuracy_is_the_chance_that_no_phone_is_wrong():
    assert word_accuracy(np.array([50.0, 50.0])) == pytest.approx(50.0)
    assert word_accuracy(np.array([90.0] * 4)) == pytest.approx(90.0)
    assert word_accuracy(np.array([90.0, 90.0, 90.0, 10.0])) < word_accuracy(
        np.array([90.0, 90.0, 90.0, 40.0])) < 90.0
    # one bad phone weighs less in a long word than alone (the length bias of the minimum)
    assert word_accuracy(np.array([5.0])) < word_accuracy(np.array([95.0] * 5 + [5.0])) < 50.0


def test_fluency_counts_pauses_hesitations_and_rate():
    words = (_word("i", 10, 40), _word("want", 40, 80), _word("tea", 140, 190))
    alignment = Alignment(words, silences=((0, 10), (80, 140), (190, 220)), frames=220)
    score, detail = fluency(alignment, "i i want um tea")
    assert detail.pauses == 1 and detail.pause_seconds == 0.6 and detail.longest_pause_s == 0.6
    assert detail.hesitations == 2 and detail.speech_rate_wpm == 100.0
    assert score == 100 - 10 - 2 * 5
    smooth, _ = fluency(Alignment(words[:2], (), 80), "i want")
    assert smooth == 100.0


def test_corrupt_changes_exactly_the_recorded_phones():
    words = reference_words("the cat sat on the mat with a big red hat")
    for seed in range(20):
        c = corrupt(words, random.Random(seed))
        assert len(c.kinds) == round(0.25 * len(words)) and c.kinds == corrupt(
            words, random.Random(seed)).kinds
        for (_, before), (_, after), changed in zip(words, c.words, c.changed, strict=True):
            diff = {j for j in range(len(after)) if j >= len(before) or after[j] != before[j]}
            assert diff == set(changed)
            for j in changed:
                assert j == len(before) or after[j] in SUBSTITUTIONS[before[j]]


def test_tips_cover_every_phone_and_pairs_are_symmetric():
    assert set(TIPS) == set(PHONES) and all(TIPS.values())
    for (a, b), pair in MINIMAL_PAIRS.items():
        assert {a, b} <= PHONES and " / " in pair
    assert minimal_pair("TH", "S") == "think / sink" and minimal_pair("S", "TH") == "sink / think"
    assert all(minimal_pair(p) for p in PHONES)


def test_auc_counts_ties_as_half():
    assert auc([1, 0, 1, 0], [0.9, 0.1, 0.4, 0.4]) == 0.875
    assert auc([1, 1, 0], [0.1, 0.2, 0.3]) == 0.0
    assert math.isnan(auc([0, 0], [0.1, 0.2]))


@needs_corpus
def test_training_the_whisper_scorer_on_a_tiny_folder(tmp_path, whisper):
    root = _tiny_dir(tmp_path, n=6)
    out = tmp_path / "scorer-whisper.pt"
    subprocess.run([sys.executable, "-m", "speech.pronunciation.train", "--data", str(root),
                    "--out", str(out), "--frontend", "whisper", "--epochs", "1",
                    "--corruptions", "1", "--judges", "2", "--match-others", "2"],
                   cwd=ROOT, capture_output=True, text=True, timeout=300, check=True)
    art = load_artefact(out)
    assert art["frontend"] == "whisper" and art["word_features"] is True
    assert len(art["judges"]) == 2 and art["match"]["weight"] > 0  # a higher GOP: a match
    assert art["phonenet_config"] == {"context": 0, "hidden": 256, "inputs": 512}
    trained = create_scorer("whisper", artefact=out)
    assert trained.judge.judges[0].net[0].in_features == N_FEATURES + N_WORD_FEATURES
    # other weights, another name: progress never mixes them
    assert trained.name.startswith("learned-whisper-v1+")
    assert trained.name != whisper.name
    utt = select(DataDir.load(root), "test")[0]
    words = reference_words(utt.text)
    alignment, probs, match = trained.score_phones(read_wav(utt.wav), words)
    assert len(probs) == sum(len(p) for _, p in words) and ((probs >= 0) & (probs <= 1)).all()
    assert 0.0 <= match <= 1.0


@needs_corpus
def test_eval_command_and_training_on_a_tiny_folder(tmp_path):
    root = _tiny_dir(tmp_path, n=8)
    scorer = tmp_path / "scorer.pt"
    subprocess.run([sys.executable, "-m", "speech.pronunciation.train", "--data", str(root),
                    "--out", str(scorer), "--epochs", "2", "--corruptions", "2"],
                   cwd=ROOT, capture_output=True, text=True, timeout=300, check=True)
    trained = create_scorer("learned", artefact=scorer)
    data = DataDir.load(root)
    seen = trained_speakers(Assessor(trained), data)
    assert seen and seen == set(trained.trained_on["speakers"])
    assert seen == {u.speaker for u in select(data, "tune")}
    proc = subprocess.run(
        [sys.executable, "-m", "speech.eval", "pronunciation", "--data", str(root),
         "--scorer-opt", f"artefact={json.dumps(str(scorer))}", "--seed", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=True)
    assert "[" in proc.stderr and "left out" in proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(result) >= {"utterances", "phone_auc", "word_auc", "wrong_precision",
                           "wrong_recall", "true_vs_other_rate", "sec_per_utt"}
    assert result["utterances"] == len(data.utterances) - len(
        [u for u in data.utterances if u.speaker in seen]) - result["failed"]
    assert result["left_out_speakers"] == len(seen) and result["sec_per_utt"] > 0
    for key in ("phone_auc", "word_auc", "true_vs_other_rate"):
        assert 0.0 <= result[key] <= 1.0

"""Training, calibration and artefacts of tenant classifiers (``fast``), on real intents."""

from __future__ import annotations

import json
import random
from collections import defaultdict

import numpy as np
import pytest

from nlu.classifiers.calibration import choose_threshold, fit_temperature, softmax
from nlu.classifiers.fast import FastAlgorithm
from nlu.classifiers.training import NEAR_LABELS, Bank, load_classifier, train_classifier
from nlu.embeddings import ENCODER_FP32, ENCODER_INT8, EncoderSet
from nlu.errors import BadTrainingData, NoTrainingData
from tests.helpers import SHARED_DATA

HWU = SHARED_DATA / "hwu64" / "hwu64.jsonl"
needs_hwu = pytest.mark.skipif(not HWU.is_file(),
                               reason=f"HWU64 not found at {HWU} (the shared data folder)")


@pytest.fixture(scope="module")
def encoders() -> EncoderSet:
    return EncoderSet()


@pytest.fixture(scope="module")
def hwu() -> dict[str, dict[str, list[str]]]:
    data: dict[str, dict[str, list[str]]] = defaultdict(lambda: {"train": [], "test": []})
    for line in HWU.read_text().splitlines():
        row = json.loads(line)
        data[row["intent"]]["test" if row["fold"] == 10 else "train"].append(row["text"])
    return data


def test_temperature_scaling_recovers_a_known_temperature():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 3, size=(4000, 5))
    y = np.array([rng.choice(5, p=p) for p in softmax(true_logits)])
    # a model twice as confident as it should be: the fitted temperature undoes it
    assert fit_temperature(true_logits * 2.0, y) == pytest.approx(2.0, rel=0.1)
    assert fit_temperature(true_logits, y) == pytest.approx(1.0, rel=0.1)


def test_threshold_rejects_the_target_share_or_separates_oos_examples():
    conf = np.linspace(0.01, 1.0, 100)
    none = np.zeros(100, bool)
    assert choose_threshold(conf, ~none, none, 0.1) == pytest.approx(0.109, abs=0.01)
    assert choose_threshold(conf, ~none, none, 0.0) == 0.0
    oos = conf < 0.3  # out-of-scope examples all score low: the cut lands just above them
    assert 0.29 <= choose_threshold(conf, ~oos, oos, 0.05) <= 0.31


@needs_hwu
def test_fast_classifier_accuracy_calibration_and_round_trip(encoders, hwu, tmp_path):
    rng = random.Random(3)
    intents = sorted(hwu)
    rng.shuffle(intents)
    known, unseen = intents[:20], intents[20:26]
    texts, labels = [], []
    for intent in known:
        chosen = rng.sample(hwu[intent]["train"], min(30, len(hwu[intent]["train"])))
        texts += chosen
        labels += [intent] * len(chosen)
    seen = []
    clf = train_classifier(FastAlgorithm(encoders.embed_for), texts, labels, {},
                           lambda stage, f: seen.append(f))
    assert seen and seen == sorted(seen) and seen[-1] == pytest.approx(1.0)
    assert clf.meta["train_samples"] == len(texts) and len(clf.meta["data_hash"]) == 64
    tests = [(t, i) for i in known for t in hwu[i]["test"]]
    results = clf.retrieve([t for t, _ in tests], top_k=3)
    top1 = np.mean([r["labels"][0]["label"] == i for r, (_, i) in
                    zip(results, tests, strict=True)])
    assert top1 >= 0.8, top1
    # calibrated: the mean top score is close to the accuracy it claims
    mean_score = np.mean([r["score"] for r in results])
    assert abs(mean_score - top1) < 0.1, (mean_score, top1)
    false_oos = np.mean([r["out_of_scope"] for r in results])
    outside = clf.retrieve([t for i in unseen for t in hwu[i]["test"]])
    oos_recall = np.mean([r["out_of_scope"] for r in outside])
    assert false_oos < 0.2 and oos_recall > false_oos + 0.15, (false_oos, oos_recall)

    folder = clf.save(tmp_path, "t/c/v1")
    again = load_classifier(folder, encoders.embed_for)
    reloaded = again.retrieve([t for t, _ in tests[:40]], top_k=3)
    for a, b in zip(results[:40], reloaded, strict=True):
        assert a["label"] == b["label"] and a["score"] == pytest.approx(b["score"], abs=1e-3)
        assert a["confidence"] == pytest.approx(b["confidence"], abs=2e-3)  # float16 bank
    with pytest.raises(FileExistsError):
        clf.save(tmp_path, "t/c/v1")  # versions are immutable


def test_small_sets_cross_fit_and_oos_labels_answer_out_of_scope(encoders):
    texts = ["hello", "hi there", "good morning", "hey", "bye", "see you later", "goodbye",
             "farewell", "what's the weather", "tell me a joke", "buy shares", "unique one"]
    labels = ["greet"] * 4 + ["bye"] * 4 + ["oos"] * 3 + ["single"]
    clf = train_classifier(FastAlgorithm(encoders.embed_for), texts, labels,
                           {"epochs": 50, "hidden_dim": 0})
    assert clf.meta["metrics"]["calibration_samples"] == 11  # the single sample only trains
    answers = clf.retrieve(["hello friend", "goodbye my friend", "what's the weather like"],
                           threshold=0.0)
    assert [a["label"] for a in answers[:2]] == ["greet", "bye"]
    assert answers[2]["labels"][0]["label"] == "oos" and answers[2]["out_of_scope"]


def test_refuses_what_it_cannot_learn_from(encoders):
    algorithm = FastAlgorithm(encoders.embed_for)
    with pytest.raises(NoTrainingData):
        train_classifier(algorithm, [], [])
    with pytest.raises(NoTrainingData, match="two labels"):
        train_classifier(algorithm, ["a", "b"], ["x", "x"])
    with pytest.raises(BadTrainingData, match="unknown hyper-parameters"):
        train_classifier(algorithm, ["a", "b"], ["x", "y"], {"learning_rate": 1})
    with pytest.raises(BadTrainingData, match="epochs"):
        train_classifier(algorithm, ["a", "b"], ["x", "y"], {"epochs": 0})


@needs_hwu
def test_the_int8_encoder_keeps_accuracy_and_a_version_keeps_its_encoder(encoders, hwu,
                                                                         tmp_path):
    rng = random.Random(5)
    intents = sorted(hwu)
    rng.shuffle(intents)
    known = intents[:20]
    texts, labels = [], []
    for intent in known:
        chosen = rng.sample(hwu[intent]["train"], min(30, len(hwu[intent]["train"])))
        texts += chosen
        labels += [intent] * len(chosen)
    tests = [(t, i) for i in known for t in hwu[i]["test"]]
    top1, answers = {}, {}
    for name in (ENCODER_INT8, ENCODER_FP32):
        clf = train_classifier(FastAlgorithm(encoders.embed_for), texts, labels,
                               {"encoder": name})
        assert clf.meta["params"]["encoder"] == name
        answers[name] = clf.retrieve([t for t, _ in tests[:40]])
        top1[name] = np.mean([r["labels"][0]["label"] == i for r, (_, i) in
                              zip(clf.retrieve([t for t, _ in tests]), tests, strict=True)])
        clf.save(tmp_path, f"t/c/{name}")
    assert top1[ENCODER_INT8] >= 0.8 and abs(top1[ENCODER_INT8] - top1[ENCODER_FP32]) < 0.04
    # a saved version answers through the encoder it learned on
    again = load_classifier(tmp_path / "t/c" / ENCODER_INT8, encoders.embed_for)
    for a, b in zip(answers[ENCODER_INT8], again.retrieve([t for t, _ in tests[:40]]),
                    strict=True):
        assert a["score"] == pytest.approx(b["score"], abs=1e-3)
    # a version from before the choice (no encoder recorded) learned on fp32
    meta_file = tmp_path / "t/c" / ENCODER_FP32 / "classifier.json"
    meta = json.loads(meta_file.read_text())
    del meta["params"]["encoder"]
    meta_file.write_text(json.dumps(meta))
    old = load_classifier(meta_file.parent, encoders.embed_for)
    for a, b in zip(answers[ENCODER_FP32], old.retrieve([t for t, _ in tests[:40]]),
                    strict=True):
        assert a["score"] == pytest.approx(b["score"], abs=1e-3)
    with pytest.raises(BadTrainingData, match="encoder must be one of"):
        train_classifier(FastAlgorithm(encoders.embed_for), texts, labels, {"encoder": "bert"})


def test_bank_looks_for_neighbours_among_the_most_probable_labels():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(40, 8)).astype(np.float32)
    features /= np.linalg.norm(features, axis=1, keepdims=True)
    labels = rng.integers(0, 8, size=40)
    bank = Bank.build(features, labels)
    assert list(bank.labels) == sorted(labels)
    query = features[:6] + 0.01
    probs = rng.dirichlet(np.ones(8), size=6)
    got = bank.similarity(query, probs)
    for row, p, value in zip(query, probs, got, strict=True):
        near = np.isin(labels, np.argsort(-p)[:NEAR_LABELS])
        sims = np.sort(features[near] @ row)[-3:]
        assert value == pytest.approx(float(np.clip(sims.mean(), 0, 1)), abs=1e-6)
    legacy = Bank(features)  # a version saved before the grouping: every text counts
    assert legacy.similarity(query, probs) == pytest.approx(
        np.sort(query @ features.T, axis=1)[:, -3:].mean(axis=1).clip(0, 1), abs=1e-6)

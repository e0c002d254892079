"""Training, calibration and artefacts of tenant classifiers (``fast``), on real intents."""

from __future__ import annotations

import json
import random
from collections import defaultdict

import numpy as np
import pytest

from nlu.classifiers.calibration import choose_threshold, fit_temperature, softmax
from nlu.classifiers.fast import FastAlgorithm
from nlu.classifiers.training import load_classifier, train_classifier
from nlu.embeddings import SentenceEncoder
from nlu.errors import BadTrainingData, NoTrainingData
from tests.helpers import SHARED_DATA

HWU = SHARED_DATA / "hwu64" / "hwu64.jsonl"
needs_hwu = pytest.mark.skipif(not HWU.is_file(),
                               reason=f"HWU64 not found at {HWU} (the shared data folder)")


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder().load()


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
def test_fast_classifier_accuracy_calibration_and_round_trip(encoder, hwu, tmp_path):
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
    clf = train_classifier(FastAlgorithm(encoder.encode), texts, labels, {},
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
    again = load_classifier(folder, encoder.encode)
    reloaded = again.retrieve([t for t, _ in tests[:40]], top_k=3)
    for a, b in zip(results[:40], reloaded, strict=True):
        assert a["label"] == b["label"] and a["score"] == pytest.approx(b["score"], abs=1e-3)
        assert a["confidence"] == pytest.approx(b["confidence"], abs=2e-3)  # float16 bank
    with pytest.raises(FileExistsError):
        clf.save(tmp_path, "t/c/v1")  # versions are immutable


def test_small_sets_cross_fit_and_oos_labels_answer_out_of_scope(encoder):
    texts = ["hello", "hi there", "good morning", "hey", "bye", "see you later", "goodbye",
             "farewell", "what's the weather", "tell me a joke", "buy shares", "unique one"]
    labels = ["greet"] * 4 + ["bye"] * 4 + ["oos"] * 3 + ["single"]
    clf = train_classifier(FastAlgorithm(encoder.encode), texts, labels,
                           {"epochs": 50, "hidden_dim": 0})
    assert clf.meta["metrics"]["calibration_samples"] == 11  # the single sample only trains
    answers = clf.retrieve(["hello friend", "goodbye my friend", "what's the weather like"],
                           threshold=0.0)
    assert [a["label"] for a in answers[:2]] == ["greet", "bye"]
    assert answers[2]["labels"][0]["label"] == "oos" and answers[2]["out_of_scope"]


def test_refuses_what_it_cannot_learn_from(encoder):
    algorithm = FastAlgorithm(encoder.encode)
    with pytest.raises(NoTrainingData):
        train_classifier(algorithm, [], [])
    with pytest.raises(NoTrainingData, match="two labels"):
        train_classifier(algorithm, ["a", "b"], ["x", "x"])
    with pytest.raises(BadTrainingData, match="unknown hyper-parameters"):
        train_classifier(algorithm, ["a", "b"], ["x", "y"], {"learning_rate": 1})
    with pytest.raises(BadTrainingData, match="epochs"):
        train_classifier(algorithm, ["a", "b"], ["x", "y"], {"epochs": 0})

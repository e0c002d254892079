"""The Kneser–Ney estimator against counts and probabilities computed by hand."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from speech.lm.mix import interpolate
from speech.lm.ngram import (
    BOS,
    EOS,
    FALLBACK_DISCOUNTS,
    _adjusted_counts,
    _discounts,
    count_ngrams,
    estimate_kn,
)

TOY = [["a", "b"], ["a", "b"], ["b"]]  # <s> a b </s> ×2, <s> b </s>


def test_raw_and_adjusted_counts_by_hand() -> None:
    raw = count_ngrams(TOY, 2)
    assert raw[1] == Counter({(BOS,): 3, ("a",): 2, ("b",): 3, (EOS,): 3})
    assert raw[2] == Counter({(BOS, "a"): 2, ("a", "b"): 2, ("b", EOS): 3, (BOS, "b"): 1})
    adj = _adjusted_counts(raw, 2)
    assert adj[2] == raw[2]  # the top order keeps raw counts
    # continuation counts: a after {<s>}, b after {a, <s>}, </s> after {b}; <s> keeps its raw count
    assert adj[1] == Counter({("a",): 1, ("b",): 2, (EOS,): 1, (BOS,): 3})


def test_discounts_from_counts_of_counts() -> None:
    counts = Counter({("w", str(i)): c for i, c in enumerate([1, 1, 1, 1, 2, 2, 3, 4])})
    # n1=4 n2=2 n3=1 n4=1 → Y=0.5, D1=1-2Y·n2/n1=0.5, D2=2-3Y·n3/n2=1.25, D3=3-4Y·n4/n3=1.0
    assert _discounts(counts) == pytest.approx((0.5, 1.25, 1.0))
    assert _discounts(Counter({("x",): 1})) == FALLBACK_DISCOUNTS


def test_probabilities_by_hand() -> None:
    m = estimate_kn(TOY, order=2)  # discounts fall back to 0.5 / 1.0 / 1.5 on this corpus
    # unigrams: continuation counts a=1, b=2, </s>=1 (total 4); gamma = (0.5·2 + 1.0·1)/4 = 0.5
    assert m.prob("a") == pytest.approx(0.5 / 4 + 0.5 / 3)
    assert m.prob("b") == pytest.approx(1.0 / 4 + 0.5 / 3)
    assert m.prob(EOS) == pytest.approx(0.5 / 4 + 0.5 / 3)
    assert m.prob(BOS) == 0.0
    # after <s>: a=2 (D2=1), b=1 (D1=0.5), total 3, gamma = (1 + 0.5)/3 = 0.5
    assert m.prob("a", [BOS]) == pytest.approx(1 / 3 + 0.5 * m.prob("a"))
    assert m.prob("b", [BOS]) == pytest.approx(0.5 / 3 + 0.5 * m.prob("b"))
    assert m.prob(EOS, [BOS]) == pytest.approx(0.5 * m.prob(EOS))  # backed off
    # after b: </s>=3 (D3=1.5), gamma = 1.5/3
    assert m.prob(EOS, ["b"]) == pytest.approx(1.5 / 3 + 0.5 * m.prob(EOS))
    assert m.backoffs[1][("a",)] == pytest.approx(0.5)


def test_arpa_text_by_hand() -> None:
    arpa = estimate_kn(TOY, order=2).to_arpa()
    assert "ngram 1=4" in arpa and "ngram 2=4" in arpa
    lines = {tuple(line.split("\t")[1].split()): line.split("\t") for line in
             arpa.splitlines() if "\t" in line}
    assert float(lines[("a", "b")][0]) == pytest.approx(math.log10(0.5 + 0.5 * (1 / 4 + 0.5 / 3)),
                                                        abs=1e-6)
    assert float(lines[("a",)][2]) == pytest.approx(math.log10(0.5), abs=1e-6)
    assert lines[(BOS,)][0] == "-99.000000"
    assert arpa.rstrip().endswith("\\end\\")


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_every_context_sums_to_one(order: int) -> None:
    corpus = [s.split() for s in ["we call it bear", "tom gives up boxing", "we call it a day",
                                  "it is a bear", "a day", "we call"]]
    m = estimate_kn(corpus, order=order)
    vocab = [w for w in m.vocabulary if w != BOS]
    for ctx in [(), (BOS,), ("we",), (BOS, "we"), ("call", "it"), ("it",), ("zzz",), ("a", "day")]:
        assert sum(m.prob(w, ctx) for w in vocab) == pytest.approx(1.0)


def test_fixed_discounts_keep_mass_on_the_sentences() -> None:
    corpus = [s.split() for s in ["we call it bear", "tom gives up boxing"]]
    loose, tight = estimate_kn(corpus, 3), estimate_kn(corpus, 3, discounts=(0.1, 0.2, 0.3))
    assert tight.prob("it", ["we", "call"]) > loose.prob("it", ["we", "call"]) > 0.5
    with pytest.raises(ValueError):
        estimate_kn(corpus, 3, discounts=(1.5, 1.0, 1.0))
    with pytest.raises(ValueError):
        estimate_kn([[]], 3)


def test_interpolation_is_normalised_and_keeps_the_state_model_at_weight_zero() -> None:
    state = estimate_kn([s.split() for s in ["we call it bear", "it is a bear"]], 3)
    background = {"the": 0.5, "a": 0.2, "bear": 0.1, "dog": 0.2}
    mixed = interpolate(state, background, 0.3, ["the", "a", "dog"])
    vocab = [w for w in mixed.vocabulary if w != BOS]
    assert {"the", "dog", "we", "bear"} <= set(vocab)
    for ctx in [(), (BOS,), ("we",), ("we", "call"), ("it",), ("dog",)]:
        assert sum(mixed.prob(w, ctx) for w in vocab) == pytest.approx(1.0)
    assert mixed.prob("dog", ["we", "call"]) > 0.0
    same = interpolate(state, background, 0.0, [])
    assert same.prob("it", ["we", "call"]) == pytest.approx(state.prob("it", ["we", "call"]))


def test_pocketsphinx_reads_the_arpa_with_the_same_probabilities(tmp_path) -> None:
    ps = pytest.importorskip("pocketsphinx")
    m = estimate_kn([s.split() for s in ["we call it bear", "it is a bear"]], 3)
    path = tmp_path / "m.arpa"
    path.write_text(m.to_arpa())
    logmath = ps.LogMath(1.0001)
    lm = ps.NGramModel(ps.Config(lm=None, loglevel="FATAL"), logmath, str(path))
    grams = [["we"], ["we", "call"], ["we", "call", "it"], ["bear", "it"], ["a", "bear", "</s>"]]
    for gram in grams:
        ours = m.prob(gram[-1], gram[:-1])
        # NGramModel.prob takes the predicted word first, then the history most recent first
        theirs = math.exp(logmath.log_to_ln(lm.prob(gram[::-1])))
        assert theirs == pytest.approx(ours, rel=2e-3)

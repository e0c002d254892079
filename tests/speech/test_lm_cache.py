"""State LM specs, the content-hash cache, and pronunciations."""

from __future__ import annotations

import pytest

from speech.lm import StateLM, build_state_lm, default_lexicon, normalize
from speech.lm.g2p import PHONES, g2p

SENTENCES = ["I'd like a coffee, please.", "A tea, please", "Nothing for me, thanks"]


def test_spec_normalises_and_hashes_content() -> None:
    a = StateLM.from_sentences(SENTENCES)
    b = StateLM.from_sentences(list(reversed(SENTENCES)) + ["a TEA please"])
    assert a.sentences == b.sentences and a.key == b.key  # order and case do not matter
    assert "i'd like a coffee please" in a.sentences
    assert StateLM.from_sentences(SENTENCES[:2]).key != a.key
    assert StateLM.from_sentences(SENTENCES, background_weight=0.5).key != a.key
    assert StateLM.from_sentences(SENTENCES, order=2).key != a.key
    with pytest.raises(ValueError):
        StateLM.from_sentences(["", "  !! "])
    assert normalize("  Don\u2019t   STOP—now! ") == "don't stop now"


def test_cache_same_content_same_files_different_content_new_files(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PARLEY_MODEL_CACHE", str(tmp_path))
    spec = StateLM.from_sentences(SENTENCES)
    first = build_state_lm(spec)
    assert first.directory.parent == tmp_path / "speech-lm"
    assert first.arpa.is_file() and first.dictionary.is_file() and first.grammar.is_file()
    stamp = first.arpa.stat().st_mtime_ns
    again = build_state_lm(StateLM.from_sentences(list(reversed(SENTENCES))))
    assert again.directory == first.directory
    assert again.arpa.stat().st_mtime_ns == stamp  # reused, not rebuilt
    other = build_state_lm(StateLM.from_sentences(SENTENCES + ["Water"]))
    assert other.directory != first.directory
    assert other.arpa.read_text() != first.arpa.read_text()
    tuned = build_state_lm(StateLM.from_sentences(SENTENCES, background_weight=0.6))
    assert tuned.directory not in (first.directory, other.directory)
    assert sorted(p.name for p in (tmp_path / "speech-lm").iterdir()) == sorted(
        {first.directory.name, other.directory.name, tuned.directory.name})  # no temp leftovers


def test_built_dictionary_covers_every_word_and_background(tmp_path) -> None:
    built = build_state_lm(StateLM.from_sentences(["Steeven likes the jeep"],
                                                  background_vocab=50), tmp_path)
    entries = [line.split() for line in built.dictionary.read_text().splitlines()]
    words = {e[0].split("(")[0] for e in entries}
    assert {"steeven", "likes", "the", "jeep", "you"} <= words  # "you": a background word
    assert all(set(e[1:]) <= PHONES for e in entries)
    assert '"steeven"' in (built.directory / "meta.json").read_text()  # recorded as g2p


def test_lexicon_sources_and_g2p_fallback() -> None:
    lex = default_lexicon()
    assert lex.source("coffee") == "pocketsphinx"
    assert lex.lookup("coffee")[0].split()[0] == "K"
    assert lex.source("steeven") == "g2p"
    assert g2p("steeven") == "S T IY V EH N"
    assert g2p("safe") == "S EY F" and g2p("city") == "S IH T IY" and g2p("knight") == "N AY T"
    for word in ["balt", "liya", "hadi", "xyzzy", "42", "qu'est"]:
        assert set(g2p(word).split()) <= PHONES
    lines = lex.dictionary_lines({"read"})
    assert lines[0].startswith("read ") and lines[1].startswith("read(2) ")

"""Controlled errors: references whose phones the audio does not contain.

Without expert labels, mispronunciation detection is measured (and the learned
scorer trained) by corrupting the *reference* of a real recording: the audio
says "ship", the reference now asks for "sheep", so the replaced phone must
score low and the untouched ones high. The confusion set is the one learners of
English (Mandarin L1 in the shared data) are known for:

- vowel swaps: IY/IH, EH/AE, UW/UH, AA/AH, AO/OW, EY/EH;
- liquids /l/–/r/, /θ/–/s/, /ð/–/z/ and /ð/–/d/, /v/–/w/, /n/–/ŋ/;
- voicing swaps: P/B, T/D, K/G, F/V, S/Z, CH/JH;
- dropped final consonants: the reference ends a word in a consonant (T, D, S,
  Z, K) the speaker did not say.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["SUBSTITUTIONS", "Corruption", "corrupt"]

_PAIRS = [
    ("IY", "IH"), ("EH", "AE"), ("UW", "UH"), ("AA", "AH"), ("AO", "OW"), ("EY", "EH"),
    ("L", "R"), ("TH", "S"), ("DH", "Z"), ("DH", "D"), ("V", "W"), ("N", "NG"),
    ("P", "B"), ("T", "D"), ("K", "G"), ("F", "V"), ("S", "Z"), ("CH", "JH"),
]
SUBSTITUTIONS: dict[str, tuple[str, ...]] = {}
for _a, _b in _PAIRS:
    SUBSTITUTIONS[_a] = (*SUBSTITUTIONS.get(_a, ()), _b)
    SUBSTITUTIONS[_b] = (*SUBSTITUTIONS.get(_b, ()), _a)
_FINALS = ("T", "D", "S", "Z", "K")
_VOWELS = frozenset(
    ["AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"]
)


@dataclass(frozen=True)
class Corruption:
    """The corrupted words (phones per word) and, per word, the indices of changed phones."""

    words: tuple[tuple[str, tuple[str, ...]], ...]
    changed: tuple[frozenset[int], ...]
    kinds: tuple[str, ...]


def corrupt(words: Sequence[tuple[str, Sequence[str]]], rng: random.Random,
            share: float = 0.25) -> Corruption:
    """Change one phone in each of ``max(1, round(share * len(words)))`` words.

    A word ending in a vowel may instead get a final consonant appended (a
    "dropped" consonant). Words with nothing to change are left alone.
    """
    out = [(w, tuple(p)) for w, p in words]
    changed: list[frozenset[int]] = [frozenset()] * len(out)
    kinds: list[str] = []
    order = list(range(len(out)))
    rng.shuffle(order)
    todo = max(1, round(share * len(out)))
    for i in order:
        if todo == 0:
            break
        word, phones = out[i]
        options = [(j, sub) for j, p in enumerate(phones) for sub in SUBSTITUTIONS.get(p, ())]
        if phones and phones[-1] in _VOWELS and rng.random() < 0.3:
            final = rng.choice(_FINALS)
            out[i] = (word, (*phones, final))
            changed[i] = frozenset({len(phones)})
            kinds.append("dropped_final")
        elif options:
            j, sub = rng.choice(options)
            out[i] = (word, (*phones[:j], sub, *phones[j + 1:]))
            changed[i] = frozenset({j})
            kinds.append(f"{phones[j]}->{sub}")
        else:
            continue
        todo -= 1
    return Corruption(tuple(out), tuple(changed), tuple(kinds))

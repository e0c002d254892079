"""A small rule-based English letter-to-sound fallback for words no dictionary knows.

Only names and made-up words reach it (the pocketsphinx and CMU dictionaries
cover ~135k words), so it aims at a plausible ARPAbet string, not at accuracy:
greedy longest match over a grapheme table (``tch``, ``igh``, ``ph``, ``ee``…),
soft ``c``/``g`` before e/i/y, a silent final ``e`` that lengthens the vowel
before it ("safe" → S EY F), final ``y``/``i`` as IY, doubled consonants merged.
A neural G2P would need model weights; a learner's unknown word is rare enough
that a rough pronunciation, scored by the same acoustic model, is acceptable.
"""

from __future__ import annotations

__all__ = ["PHONES", "g2p"]

_PHONE_LIST = "AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH"
PHONES = frozenset(f"{_PHONE_LIST} UH UW V W Y Z ZH".split(" "))

_MULTI = {
    "tch": "CH", "igh": "AY", "sch": "S K", "dge": "JH",
    "ph": "F", "sh": "SH", "ch": "CH", "th": "TH", "ck": "K", "ng": "NG", "qu": "K W",
    "wh": "W", "kn": "N", "wr": "R", "ee": "IY", "ea": "IY", "oo": "UW", "ou": "AW",
    "ow": "OW", "ai": "EY", "ay": "EY", "ei": "EY", "ey": "EY", "oa": "OW", "oi": "OY",
    "oy": "OY", "au": "AO", "aw": "AO", "ie": "IY", "er": "ER", "ir": "ER", "ur": "ER",
    "ar": "AA R", "or": "AO R", "gh": "G",
}
_SINGLE = {
    "a": "AE", "b": "B", "c": "K", "d": "D", "e": "EH", "f": "F", "g": "G", "h": "HH",
    "i": "IH", "j": "JH", "k": "K", "l": "L", "m": "M", "n": "N", "o": "AA", "p": "P",
    "q": "K", "r": "R", "s": "S", "t": "T", "u": "AH", "v": "V", "w": "W", "x": "K S",
    "y": "Y", "z": "Z",
}
_LONG = {"a": "EY", "e": "IY", "i": "AY", "o": "OW", "u": "UW", "y": "AY"}
_VOWELS = set("aeiouy")


def g2p(word: str) -> str:
    """Space-separated ARPAbet phones (no stress) for an English-looking spelling.

    Digits and other symbols are skipped; a word with no letters gets "AH".
    """
    w = "".join(c for c in word.lower() if "a" <= c <= "z")
    if not w:
        return "AH"
    magic = len(w) > 3 and w[-1] == "e" and w[-2] not in _VOWELS and w[-3] in _VOWELS
    if magic:
        w = w[:-1]
    phones: list[str] = []
    i = 0
    while i < len(w):
        if i > 0 and w[i] == w[i - 1] and w[i] not in _VOWELS:
            i += 1  # doubled consonant: one sound
            continue
        for size in (3, 2):
            chunk = w[i:i + size]
            silent_start = chunk in ("gh", "kn", "wr") and i > 0
            if len(chunk) == size and chunk in _MULTI and not silent_start:
                phones.append(_MULTI[chunk])
                i += size
                break
        else:
            c, nxt = w[i], w[i + 1:i + 2]
            last = i == len(w) - 1
            if magic and i == len(w) - 2 and c in _LONG:
                phones.append(_LONG[c])
            elif c in "cg" and nxt and nxt in "eiy":
                phones.append("S" if c == "c" else "JH")
            elif c in "yi" and last and i > 0:
                phones.append("IY")
            elif c == "y" and i > 0 and not (nxt and nxt in _VOWELS):
                phones.append("IH")
            elif c == "a" and last and i > 0:
                phones.append("AH")
            elif c == "e" and last and i > 0 and len(w) > 2:
                pass  # silent final e
            else:
                phones.append(_SINGLE[c])
            i += 1
    return " ".join(phones) or "AH"

"""Feedback a learner understands: an articulation tip per phone, minimal pairs for confusions.

``TIPS`` covers all 39 ARPAbet phones of US English (the dictionary's phone set).
``MINIMAL_PAIRS`` maps an ordered pair (expected phone, likely substitute) to
two real words that differ only there, so "you said /s/ where /θ/ belongs"
becomes "think / sink". :func:`minimal_pair` falls back to the phone's most
common confusion when the substitute is unknown.
"""

from __future__ import annotations

__all__ = ["MINIMAL_PAIRS", "TIPS", "minimal_pair", "tip"]

TIPS: dict[str, str] = {
    "AA": "Open your mouth wide and keep the tongue low and back, as in 'father'.",
    "AE": "Spread your lips, drop the jaw and push the tongue low and forward, as in 'cat'.",
    "AH": "Relax everything: a short, central 'uh', as in 'cup'.",
    "AO": "Round your lips a little, tongue low and back, as in 'thought'.",
    "AW": "Start open as in 'father' and glide to rounded lips, as in 'now'.",
    "AY": "Start open as in 'father' and glide up to 'ee', as in 'my'.",
    "B": "Close both lips, let your voice buzz, then release, as in 'bat'.",
    "CH": "Tongue tip behind the upper gums, then release with a puff: 'church'.",
    "D": "Tongue tip on the ridge behind the upper teeth with voice, as in 'dog'.",
    "DH": "Put the tongue tip between your teeth and let the voice buzz: 'this'.",
    "EH": "Mouth half open, tongue mid and forward, short: 'bed'.",
    "ER": "Curl the tongue back without touching the roof, lips slightly rounded: 'bird'.",
    "EY": "Start at 'e' in 'bed' and glide towards 'ee': 'day'.",
    "F": "Upper teeth on the lower lip, blow air without voice: 'fan'.",
    "G": "Back of the tongue against the soft palate with voice: 'go'.",
    "HH": "Just breathe out through an open mouth: 'hat'.",
    "IH": "Short and relaxed, tongue a bit lower than for 'ee': 'sit'.",
    "IY": "Spread the lips and hold a long, tense 'ee': 'see'.",
    "JH": "Like 'ch' but with voice: 'judge'.",
    "K": "Back of the tongue against the soft palate, release with a puff: 'cat'.",
    "L": "Tongue tip touches the ridge behind the upper teeth; air flows round the sides: 'light'.",
    "M": "Close the lips and hum: 'man'.",
    "N": "Tongue tip on the ridge behind the upper teeth, air through the nose: 'no'.",
    "NG": "Back of the tongue on the soft palate, air through the nose, no 'g' after: 'sing'.",
    "OW": "Start at 'o' and glide to rounded lips: 'go'.",
    "OY": "Start rounded as in 'thought' and glide to 'ee': 'boy'.",
    "P": "Close both lips and release with a puff of air, no voice: 'pen'.",
    "R": "Curl the tongue tip back without touching anything, round the lips: 'red'.",
    "S": "Tongue tip close to the ridge behind the teeth, a sharp hiss: 'see'.",
    "SH": "Round the lips, tongue further back than for 's', a soft hush: 'she'.",
    "T": "Tongue tip on the ridge behind the upper teeth, release with a puff: 'top'.",
    "TH": "Tongue tip between your teeth, blow air without voice: 'think'.",
    "UH": "Short, lips loosely rounded: 'book'.",
    "UW": "Round the lips tightly and hold a long 'oo': 'food'.",
    "V": "Upper teeth on the lower lip with voice: 'very' (not 'w': lips do not round).",
    "W": "Round the lips tightly, then open into the vowel: 'we' (teeth do not touch the lip).",
    "Y": "Tongue high and forward, glide into the vowel: 'yes'.",
    "Z": "Like 's' but let the voice buzz: 'zoo'.",
    "ZH": "Like 'sh' with voice: 'measure'.",
}

_PAIRS: list[tuple[str, str, str, str]] = [
    ("IY", "IH", "sheep", "ship"), ("EH", "AE", "bed", "bad"), ("UW", "UH", "pool", "pull"),
    ("AA", "AH", "cot", "cut"), ("AO", "OW", "caught", "coat"), ("EY", "EH", "late", "let"),
    ("L", "R", "light", "right"), ("TH", "S", "think", "sink"), ("DH", "Z", "breathe", "breeze"),
    ("DH", "D", "they", "day"), ("V", "W", "vest", "west"), ("N", "NG", "thin", "thing"),
    ("P", "B", "pat", "bat"), ("T", "D", "tie", "die"), ("K", "G", "coat", "goat"),
    ("F", "V", "fan", "van"), ("S", "Z", "sip", "zip"), ("CH", "JH", "cheap", "jeep"),
    ("S", "SH", "sip", "ship"), ("TH", "F", "three", "free"), ("ER", "AA", "hurt", "heart"),
    ("M", "N", "mail", "nail"), ("HH", "F", "hat", "fat"), ("Y", "JH", "yes", "jess"),
    ("AY", "EY", "bite", "bait"), ("AW", "AA", "down", "don"), ("OY", "AY", "toy", "tie"),
    ("ZH", "SH", "leisure", "leash"), ("SH", "CH", "share", "chair"), ("G", "NG", "rug", "rung"),
    ("B", "V", "berry", "very"), ("D", "T", "bed", "bet"), ("Z", "S", "rise", "rice"),
    ("W", "V", "wine", "vine"), ("R", "W", "red", "wed"), ("UH", "UW", "full", "fool"),
    ("AH", "AA", "hut", "hot"), ("AE", "AH", "cap", "cup"), ("IH", "IY", "fill", "feel"),
]
MINIMAL_PAIRS: dict[tuple[str, str], str] = {}
for _a, _b, _wa, _wb in _PAIRS:
    MINIMAL_PAIRS.setdefault((_a, _b), f"{_wa} / {_wb}")
    MINIMAL_PAIRS.setdefault((_b, _a), f"{_wb} / {_wa}")
_FIRST: dict[str, str] = {}
for (_a, _b), _pair in MINIMAL_PAIRS.items():
    _FIRST.setdefault(_a, _pair)


def tip(phone: str) -> str:
    return TIPS.get(phone, "")


def minimal_pair(phone: str, heard: str | None = None) -> str | None:
    """"ship / sheep"-style practice words for ``phone`` (against ``heard`` when known)."""
    if heard is not None and (phone, heard) in MINIMAL_PAIRS:
        return MINIMAL_PAIRS[(phone, heard)]
    return _FIRST.get(phone)

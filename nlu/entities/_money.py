"""Amounts of money: ``{"amount": float, "currency": ISO 4217 code}``.

"$20", "€5.50", "20€", "USD 15", "twenty pounds", "10 bucks", "fifty us dollars",
"five dollars and fifty cents", "twenty pounds fifty", "50p". A bare currency
name ("what is the euro worth") is not an amount and yields nothing, nor does
"a pound" (as often a weight as a coin). Unqualified "dollars" are USD, "pesos"
MXN, "cents" USD: the learner's lesson decides when that is wrong.
"""

from __future__ import annotations

import re
from typing import Any

from nlu.entities._numbers import (
    DIGITS,
    DIGITS_CORE,
    NUMBER_FIRST,
    NUMBER_WORDS,
    SMALL_NUMBER_WORDS,
    parse_number,
)
from nlu.entities._phrases import DIGIT, mentions, scan
from nlu.entities.base import Entity

__all__ = ["find_money"]

# currency phrase (regex, spaces mean \s+) -> code; longer phrases first in the alternation
_WORDS: dict[str, str] = {
    "us dollars?": "USD", "u\\.?\\s?s\\.? dollars?": "USD", "american dollars?": "USD",
    "dollars?": "USD", "bucks?": "USD", "usd": "USD", "u\\.\\s?s\\.\\s?d\\.?": "USD",
    "canadian dollars?": "CAD", "cad": "CAD", "australian dollars?": "AUD", "aud": "AUD",
    "new zealand dollars?": "NZD", "hong kong dollars?": "HKD", "singapore dollars?": "SGD",
    "british pounds?": "GBP", "pounds? sterling": "GBP", "pounds?": "GBP", "quid": "GBP",
    "sterling": "GBP", "gbp": "GBP", "euros?": "EUR", "eur": "EUR",
    "japanese yen": "JPY", "yen": "JPY", "jpy": "JPY",
    "indian rupees?": "INR", "rupees?": "INR", "inr": "INR", "chinese yuan": "CNY",
    "yuan": "CNY", "renminbi": "CNY", "rmb": "CNY", "cny": "CNY",
    "mexican pesos?": "MXN", "argentin(?:e|ian) pesos?": "ARS", "philippine pesos?": "PHP",
    "pesos?": "MXN", "swiss francs?": "CHF", "francs?": "CHF", "chf": "CHF",
    "roubles?": "RUB", "rubles?": "RUB", "reais": "BRL", "brazilian reals?": "BRL",
    "liras?": "TRY", "lira": "TRY", "dirhams?": "AED", "rand": "ZAR", "baht": "THB",
    "ringgit": "MYR", "zloty": "PLN", "shekels?": "ILS",
}
_CENTS = {"cent": "USD", "cents": "USD", "pence": "GBP", "penny": "GBP", "p": "GBP"}
_SYMBOLS = {"us$": "USD", "c$": "CAD", "a$": "AUD", "$": "USD", "£": "GBP", "€": "EUR",
            "¥": "JPY", "₹": "INR"}
# the first word of every currency phrase above, and the symbols
_TRIGGER_WORDS = (
    "$ £ € ¥ ₹ dollar dollars buck bucks usd u us american canadian cad australian aud new hong "
    "singapore british pound pounds quid sterling gbp euro euros eur japanese yen jpy indian "
    "rupee rupees inr chinese yuan renminbi rmb cny mexican argentine argentinian philippine "
    "peso pesos swiss franc francs chf rouble roubles ruble rubles reais brazilian lira liras "
    "dirham dirhams rand baht ringgit zloty shekel shekels cent cents pence penny p")
_CURRENCY_WORDS = frozenset(_TRIGGER_WORDS.split())
_TRIGGERS = _CURRENCY_WORDS | {DIGIT}  # "50p" is one token
_CODES = r"USD|EUR|GBP|JPY|INR|CNY|CAD|AUD|CHF"

_CURRENCY = "|".join(p.replace(" ", r"\s+") for p in sorted(_WORDS, key=len, reverse=True))
_SYMBOL = r"(?:US\$|C\$|A\$|[$£€¥₹])"
_DIGIT_AMOUNT = rf"(?:{DIGITS_CORE}\s?(?:k|m|bn)\b|{DIGITS}(?:\s+(?:thousand|million|billion)\b)?)"
_AMOUNT = rf"(?:{_DIGIT_AMOUNT}|{NUMBER_WORDS})"
_RULES: list[tuple[Any, ...]] = [  # kind, pattern, first tokens[, needed tokens]
    ("symbol", re.compile(rf"(?P<sym>{_SYMBOL})\s?(?P<amt>{_DIGIT_AMOUNT})", re.I),
     frozenset(["us", "c", "a", "$", "£", "€", "¥", "₹"])),
    ("symbol", re.compile(rf"(?<![\w.,])(?P<amt>{DIGITS})\s?(?P<sym>[$£€¥₹])"), frozenset([DIGIT])),
    ("code", re.compile(rf"\b(?P<cur>{_CODES})\s?(?P<amt>{DIGITS})", re.I),
     frozenset(_CODES.lower().split("|"))),
    ("word", re.compile(
        rf"(?:(?<![\w.,])(?P<amt>{_AMOUNT})|\b(?P<one>an?|one)\b)\s*(?P<cur>{_CURRENCY})(?!\w)"
        rf"(?:(?P<and>,?\s+and)?\s+(?P<sub>{DIGITS}|{SMALL_NUMBER_WORDS})(?:\s+(?P<subu>cents?|pence|p)\b)?)?",
        re.I), NUMBER_FIRST | {"one"}, _CURRENCY_WORDS),
    ("cents", re.compile(
        rf"(?<![\w.,])(?P<amt>{DIGITS_CORE}|{SMALL_NUMBER_WORDS})\s*(?P<cur>cents?|pence|penny|p)\b",
        re.I), NUMBER_FIRST, frozenset(["cent", "cents", "pence", "penny", "p"])),
    ("cents", re.compile(rf"(?<![\w.,])(?P<amt>{DIGITS_CORE})(?P<cur>p)\b", re.I),
     frozenset([DIGIT])),
]
_CUR_RES = [(re.compile("(?:" + p.replace(" ", r"\s+") + r")\Z", re.I), code)
            for p, code in _WORDS.items()]
_SCALE = {"k": 1e3, "m": 1e6, "bn": 1e9}


def _code(phrase: str) -> str | None:
    return next((code for pattern, code in _CUR_RES if pattern.match(phrase)), None)


def _amount(raw: str) -> float | None:
    raw = raw.strip()
    scale = re.search(r"\s?(k|m|bn)\Z", raw, re.I) if raw[:1].isdigit() else None
    if scale:
        raw = raw[:scale.start()]
    value = parse_number(raw)
    if value is None:
        return None
    return float(value) * (_SCALE[scale.group(1).lower()] if scale else 1.0)


def _uses_sub(m: re.Match[str]) -> bool:
    """"twenty pounds fifty" and "five dollars and fifty cents", not "ten dollars and two"."""
    return bool(m.groupdict().get("sub")) and bool(m.group("subu") or not m.group("and"))


def _value(kind: str, m: re.Match[str]) -> dict[str, object] | None:
    g = m.groupdict()
    if kind == "symbol":
        currency = _SYMBOLS[g["sym"].lower()]
    elif kind == "code":
        currency = g["cur"].upper()
    elif kind == "cents":
        amount = _amount(g["amt"])
        if amount is None or (g["cur"].lower() == "p" and not g["amt"][0].isdigit()):
            return None
        return {"amount": round(amount / 100, 2), "currency": _CENTS[g["cur"].lower()]}
    else:
        currency = _code(g["cur"])
        if currency is None or (g["one"] and g["one"].lower() in ("a", "an")
                                and currency == "GBP" and g["cur"].lower().startswith("pound")):
            return None
    amount = 1.0 if g.get("one") else _amount(g["amt"])
    if amount is None:
        return None
    if _uses_sub(m):
        sub = parse_number(g["sub"])
        if sub is None or not 0 < sub < 100:
            return None
        amount += sub / 100
    return {"amount": round(amount, 2), "currency": currency}


def find_money(text: str) -> list[Entity]:
    """Every amount of money in ``text`` (overlaps between rules are left to ``merge``)."""
    found: list[Entity] = []
    if not mentions(text, _TRIGGERS):
        return found
    for kind, pattern, *tokens in _RULES:
        for m in scan(pattern, text, *tokens):
            value = _value(kind, m)
            if value is not None:
                end = m.end() if kind != "word" or _uses_sub(m) else m.end("cur")
                found.append(Entity("money", text[m.start():end], m.start(), end, value))
    return found

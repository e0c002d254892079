"""Every algorithm's hyper-parameters: defaults, allowed ranges, which are integers.

Torch-free on purpose: the web tier checks a tenant's ``params`` when the
classifier is created or changed, so a typo is a 422 at once rather than a
training job that fails minutes later.
"""

from __future__ import annotations

from typing import Any

from nlu.embeddings import ENCODER_INT8, ENCODERS  # names only: no model is loaded
from nlu.errors import BadTrainingData

__all__ = ["CHOICES", "SPECS", "check_params"]

_SEED = (0, 2**31 - 1)

#: algorithm -> name -> (default, low, high, integer)
SPECS: dict[str, dict[str, tuple[float, float, float, bool]]] = {
    "fast": {
        "hidden_dim": (512, 0, 4096, True), "dropout": (0.1, 0.0, 0.9, False),
        "epochs": (30, 1, 1000, True), "batch_size": (128, 1, 4096, True),
        "lr": (2e-3, 1e-6, 1.0, False), "weight_decay": (1e-2, 0.0, 1.0, False),
        "label_smoothing": (0.1, 0.0, 0.5, False), "seed": (0, *_SEED, True),
    },
    "accurate": {
        "epochs": (3, 1, 100, True), "batch_size": (32, 2, 1024, True),
        "lr_encoder": (1e-4, 1e-7, 1e-2, False), "lr_head": (1e-3, 1e-6, 1.0, False),
        "train_layers": (3, 1, 64, True), "probe_steps": (300, 0, 10_000, True),
        "max_seq_length": (64, 8, 512, True), "warmup": (0.1, 0.0, 0.5, False),
        "weight_decay": (0.01, 0.0, 1.0, False), "min_steps": (100, 0, 1_000_000, True),
        "max_steps": (1000, 0, 1_000_000, True), "seed": (0, *_SEED, True),
    },
}

#: algorithm -> name -> (default, allowed values): the sentence encoder a ``fast`` head
#: learns on (``nlu.embeddings``); int8 by default, 2-3x faster to train and to answer
CHOICES: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    "fast": {"encoder": (ENCODER_INT8, ENCODERS)},
    "accurate": {},
}


def defaults(algorithm: str) -> dict[str, Any]:
    spec = SPECS[algorithm]
    values: dict[str, Any] = {name: int(d) if integer else d
                              for name, (d, _, _, integer) in spec.items()}
    return {**values, **{name: d for name, (d, _) in CHOICES[algorithm].items()}}


def check_params(algorithm: str, given: dict[str, Any] | None) -> dict[str, Any]:
    """The defaults updated by ``given``, every value checked; BadTrainingData if not."""
    if algorithm not in SPECS:
        raise BadTrainingData(f"unknown algorithm {algorithm!r} (known: {', '.join(SPECS)})")
    spec = SPECS[algorithm]
    if given is not None and not isinstance(given, dict):
        raise BadTrainingData("params must be an object")
    choices = CHOICES[algorithm]
    unknown = sorted(set(given or {}) - set(spec) - set(choices))
    if unknown:
        raise BadTrainingData(f"unknown hyper-parameters for {algorithm!r}: "
                              f"{', '.join(unknown)} (known: {', '.join([*spec, *choices])})")
    p = {**defaults(algorithm), **(given or {})}
    for name, (_, allowed) in choices.items():
        if p[name] not in allowed:
            raise BadTrainingData(f"{name} must be one of {', '.join(allowed)}, "
                                  f"got {p[name]!r}")
    for name, (_, low, high, integer) in spec.items():
        value = p[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or not (
                low <= value <= high):  # NaN fails the comparison too
            raise BadTrainingData(f"{name} must be a number in [{low:g}, {high:g}], "
                                  f"got {value!r}")
        if integer:
            if not float(value).is_integer():
                raise BadTrainingData(f"{name} must be an integer, got {value!r}")
            p[name] = int(value)
    return p

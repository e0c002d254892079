"""Request checks shared by both backends, so bad input fails the same way everywhere.

The clients run them before dispatching (cheap, and a Ray round trip is saved);
the model code runs them again, because a deployment can be called directly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nlu.model_ids import InvalidModelId, validate_model_id
from serving.base import BadInput

__all__ = ["check_images", "check_model_id", "check_pcm", "check_texts", "check_top_k"]

MAX_TEXTS = 1024
MAX_TEXT_CHARS = 20_000
MAX_IMAGES = 64
MAX_IMAGE_BYTES = 20 * 1024 * 1024


def check_texts(model: str, texts: Any) -> list[str]:
    if isinstance(texts, str) or not isinstance(texts, list | tuple):
        raise BadInput(model, "texts must be a list of strings")
    if len(texts) > MAX_TEXTS:
        raise BadInput(model, f"at most {MAX_TEXTS} texts per call, got {len(texts)}")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise BadInput(model, f"texts[{i}] is {type(text).__name__}, not str")
        if len(text) > MAX_TEXT_CHARS:
            raise BadInput(model, f"texts[{i}] is longer than {MAX_TEXT_CHARS} characters")
    return list(texts)


def check_top_k(model: str, top_k: Any) -> int:
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise BadInput(model, f"top_k must be a positive integer, got {top_k!r}")
    return top_k


def check_model_id(model: str, model_id: Any) -> str:
    try:
        return validate_model_id(model_id)
    except InvalidModelId as exc:
        raise BadInput(model, str(exc), code="bad_model_id") from None


def check_images(model: str, images: Any) -> list[bytes]:
    if isinstance(images, bytes | bytearray) or not isinstance(images, list | tuple):
        raise BadInput(model, "images must be a list of encoded images (bytes)")
    if len(images) > MAX_IMAGES:
        raise BadInput(model, f"at most {MAX_IMAGES} images per call, got {len(images)}")
    out: list[bytes] = []
    for i, data in enumerate(images):
        if not isinstance(data, bytes | bytearray | memoryview):
            raise BadInput(model, f"images[{i}] is {type(data).__name__}, not bytes", "bad_image")
        if len(data) > MAX_IMAGE_BYTES:
            raise BadInput(model, f"images[{i}] is larger than {MAX_IMAGE_BYTES} bytes",
                           "bad_image")
        out.append(bytes(data))
    return out


def check_pcm(model: str, pcm: Any, max_seconds: float) -> np.ndarray:
    """16-bit little-endian mono PCM bytes at 16 kHz → int16 samples."""
    if not isinstance(pcm, bytes | bytearray) or len(pcm) % 2:
        raise BadInput(model, "audio must be 16-bit PCM bytes (an even length)", "bad_audio")
    if len(pcm) > max_seconds * 32_000:
        raise BadInput(model, f"audio longer than {max_seconds:g} s", "audio_too_long")
    return np.frombuffer(bytes(pcm), dtype="<i2").astype(np.int16)

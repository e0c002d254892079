"""Serving errors carry status and code, and survive pickling (they cross Ray)."""

from __future__ import annotations

import pickle

import pytest

from serving.base import (
    BadInput,
    ModelError,
    ModelNotFound,
    ModelTimeout,
    ModelUnavailable,
    ServingError,
)
from serving.ray_cluster import RayUnavailable


@pytest.mark.parametrize(("error", "status", "code"), [
    (ModelUnavailable("embeddings", "replica died"), 503, "model_unavailable"),
    (ModelTimeout("embeddings", 2.5), 504, "model_timeout"),
    (ModelNotFound("text_classifier", "acme/x/v1"), 404, "model_not_found"),
    (BadInput("image_classifier", "images[0]: broken", "bad_image"), 400, "bad_image"),
    (BadInput("embeddings", "texts must be a list"), 400, "bad_input"),
    (ModelError("embeddings", "TypeError: boom"), 500, "model_error"),
    (RayUnavailable("ray-head:6379", "connection refused"), 503, "model_unavailable"),
])
def test_errors_pickle_with_their_fields(error: ServingError, status: int, code: str):
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and isinstance(copy, ServingError)
    assert (copy.status, copy.code, copy.model, str(copy)) == (status, code, error.model,
                                                               str(error))
    assert copy.detail == error.detail and copy.__dict__ == error.__dict__
    assert copy.args == (str(error),)  # args[0] is the message, as the server expects
    assert error.model in str(error) or isinstance(error, RayUnavailable)

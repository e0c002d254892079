"""Loading a tenant's head for a family, with artefact errors mapped to serving errors."""

from __future__ import annotations

from pathlib import Path

from nlu.heads import ClassifierHead, HeadError, HeadNotFound, artefact_dir, load_head
from serving.base import BadInput, ModelNotFound, ModelUnavailable
from serving.validation import check_model_id

__all__ = ["load_tenant_head"]


def load_tenant_head(family: str, root: str | Path, model_id: str, input_dim: int,
                     device: str = "cpu") -> ClassifierHead:
    """The head ``model_id`` under ``root``; it must take ``input_dim`` features."""
    check_model_id(family, model_id)
    folder = artefact_dir(root, model_id)
    try:
        head = load_head(folder, device=device)
    except HeadNotFound:
        raise ModelNotFound(family, model_id) from None
    except (HeadError, OSError, ValueError, RuntimeError, KeyError) as exc:
        raise ModelUnavailable(family, f"cannot load {model_id!r}: {exc}") from None
    if head.input_dim != input_dim:
        raise BadInput(family, f"model {model_id!r} takes {head.input_dim}-d features, "
                       f"this family gives {input_dim}-d", code="model_mismatch")
    return head

"""Small classifier heads over fixed embeddings, stored as versioned artefacts.

A head is a linear layer (or a one-hidden-layer MLP) that maps an embedding
(384-d MiniLM sentence vectors, or any other fixed-size features) to a label.
Tenants train many of them; each is tiny, so they are cheap to load per request
and to keep a few per replica. One artefact is one folder::

    <artefact_root>/<tenant>/<classifier>/<version>/
        head.json      format, labels, dims, embedding name, training metadata
        weights.pt     the torch state dict (loaded with weights_only=True)

The model id (``acme/intents/v3``) names the folder; :func:`artefact_dir`
refuses anything that could leave the root (``..``, absolute paths, odd
characters). ``train_head`` is deliberately simple: full-batch Adam over
normalised embeddings, a fixed seed, a few hundred steps.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from nlu.model_ids import HeadError, InvalidModelId, validate_model_id

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "ClassifierHead",
    "HeadError",
    "HeadNotFound",
    "InvalidModelId",
    "artefact_dir",
    "load_head",
    "save_head",
    "train_head",
    "validate_model_id",
]

FORMAT = "parley-head"
FORMAT_VERSION = 1
_META, _WEIGHTS = "head.json", "weights.pt"
class HeadNotFound(HeadError, FileNotFoundError):
    """No complete artefact at the given place."""

    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where

    def __str__(self) -> str:
        return f"no classifier head at {self.where}"


def artefact_dir(root: str | Path, model_id: str) -> Path:
    """The folder of ``model_id`` under ``root``; never outside it."""
    root_path = Path(root).resolve()
    path = (root_path / validate_model_id(model_id)).resolve()
    if root_path != path and root_path not in path.parents:
        raise InvalidModelId(model_id)
    return path


class ClassifierHead(nn.Module):
    """Logits over ``labels`` from ``input_dim`` features; ``hidden_dim=0`` means linear."""

    def __init__(self, input_dim: int, labels: Sequence[str], hidden_dim: int = 0,
                 metadata: dict[str, Any] | None = None) -> None:
        super().__init__()
        if len(labels) < 2 or len(set(labels)) != len(labels):
            raise ValueError("a head needs at least two distinct labels")
        self.input_dim, self.hidden_dim = int(input_dim), int(hidden_dim)
        self.labels = [str(label) for label in labels]
        self.metadata: dict[str, Any] = dict(metadata or {})
        n = len(self.labels)
        if hidden_dim:
            self.net: nn.Module = nn.Sequential(
                nn.Linear(input_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, n))
        else:
            self.net = nn.Linear(input_dim, n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def predict_proba(self, features: np.ndarray | torch.Tensor) -> np.ndarray:
        """Softmax probabilities, one row per feature row (float32)."""
        x = torch.as_tensor(np.asarray(features, dtype=np.float32) if not isinstance(
            features, torch.Tensor) else features)
        param = next(self.parameters())
        if x.ndim != 2 or x.shape[1] != self.input_dim:
            raise ValueError(f"expected features of shape (n, {self.input_dim}), "
                             f"got {tuple(x.shape)}")
        with torch.inference_mode():
            probs = self(x.to(param.device, param.dtype)).softmax(dim=-1)
        return probs.float().cpu().numpy()

    def top_k(self, features: np.ndarray | torch.Tensor,
              k: int = 3) -> list[list[tuple[str, float]]]:
        """``k`` (label, probability) pairs per row, best first."""
        probs = self.predict_proba(features)
        k = max(1, min(int(k), len(self.labels)))
        order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
        return [[(self.labels[j], float(row[j])) for j in idx] for row, idx in zip(
            probs, order, strict=True)]


def train_head(embeddings: np.ndarray, labels: Sequence[str], *, epochs: int = 300,
               lr: float = 0.01, hidden_dim: int = 0, weight_decay: float = 1e-4,
               seed: int = 0, metadata: dict[str, Any] | None = None) -> ClassifierHead:
    """Fit a head by full-batch Adam on ``embeddings`` (n, d) and their ``labels``."""
    x = torch.as_tensor(np.asarray(embeddings, dtype=np.float32))
    if x.ndim != 2 or x.shape[0] != len(labels) or x.shape[0] == 0:
        raise ValueError("embeddings must be (n, d) with one label per row")
    names = sorted(set(map(str, labels)))
    index = {name: i for i, name in enumerate(names)}
    y = torch.tensor([index[str(label)] for label in labels])
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        head = ClassifierHead(x.shape[1], names, hidden_dim)
    finally:
        torch.random.set_rng_state(generator_state)
    optimiser = torch.optim.Adam(head.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    head.train()
    loss = torch.tensor(0.0)
    with torch.enable_grad():
        for _ in range(epochs):
            optimiser.zero_grad()
            loss = loss_fn(head(x), y)
            loss.backward()
            optimiser.step()
    head.eval()
    with torch.inference_mode():
        accuracy = float((head(x).argmax(-1) == y).float().mean())
    head.metadata = {
        **(metadata or {}),
        "train": {"n": int(x.shape[0]), "epochs": epochs, "lr": lr, "seed": seed,
                  "weight_decay": weight_decay, "final_loss": float(loss.detach()),
                  "train_accuracy": accuracy},
    }
    return head


def save_head(head: ClassifierHead, root: str | Path, model_id: str,
              metadata: dict[str, Any] | None = None, overwrite: bool = False) -> Path:
    """Write ``head`` as ``<root>/<model_id>/`` atomically; returns that folder."""
    target = artefact_dir(root, model_id)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists (model ids are versioned: use a new version)")
    meta = {
        **head.metadata, **(metadata or {}),
        "format": FORMAT, "format_version": FORMAT_VERSION, "model_id": model_id,
        "input_dim": head.input_dim, "hidden_dim": head.hidden_dim, "labels": head.labels,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
    try:
        torch.save({k: v.detach().cpu() for k, v in head.state_dict().items()},
                   staging / _WEIGHTS)
        (staging / _META).write_text(json.dumps(meta, indent=2, sort_keys=True))
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def load_head(path: str | Path, device: str | torch.device = "cpu") -> ClassifierHead:
    """Load the artefact folder ``path`` (as written by :func:`save_head`)."""
    folder = Path(path)
    meta_path, weights_path = folder / _META, folder / _WEIGHTS
    if not meta_path.is_file() or not weights_path.is_file():
        raise HeadNotFound(str(folder))
    meta = json.loads(meta_path.read_text())
    if meta.get("format") != FORMAT or int(meta.get("format_version", 0)) > FORMAT_VERSION:
        raise HeadError(f"{folder}: unsupported artefact format {meta.get('format')!r} "
                        f"v{meta.get('format_version')}")
    known = {"format", "format_version", "input_dim", "hidden_dim", "labels"}
    head = ClassifierHead(meta["input_dim"], meta["labels"], meta.get("hidden_dim", 0),
                          {k: v for k, v in meta.items() if k not in known})
    state = torch.load(weights_path, map_location="cpu", weights_only=True)
    head.load_state_dict(state)
    return head.to(device).eval()

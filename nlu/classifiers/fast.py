"""``fast``: the shared MiniLM stays frozen; a small torch head learns its embeddings.

Training cost is one embedding pass over the samples (the replica's own ONNX
MiniLM, batched; int8 unless the ``encoder`` parameter says ``minilm``) plus a
few seconds of head training. The encoder is part of the version: a head only
answers through the encoder it learned on (a version from before the choice
existed learned on fp32). The head is a one-hidden-layer MLP with
dropout (``hidden_dim: 0`` gives a linear layer), trained with AdamW in
mini-batches and label smoothing, from a fixed seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from nlu.classifiers.base import Algorithm, Embed, EmbedFor, FittedModel, Progress
from nlu.embeddings import ENCODER_FP32

__all__ = ["FastAlgorithm", "FastModel"]

_WEIGHTS = "head.pt"


def _head(input_dim: int, n_labels: int, hidden_dim: int, dropout: float) -> nn.Module:
    if hidden_dim <= 0:
        return nn.Linear(input_dim, n_labels)
    return nn.Sequential(nn.Dropout(dropout), nn.Linear(input_dim, hidden_dim), nn.GELU(),
                         nn.Dropout(dropout), nn.Linear(hidden_dim, n_labels))


class FastModel(FittedModel):
    def __init__(self, head: nn.Module, labels: list[str], embed: Embed,
                 config: dict[str, Any]) -> None:
        self.head, self.labels, self.embed, self.config = head.eval(), labels, embed, config

    def logits(self, texts: list[str]) -> np.ndarray:
        return self.logits_of(self.embed(list(texts)))

    def features(self, texts: list[str]) -> np.ndarray:
        return self.embed(list(texts))

    def encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        features = self.embed(list(texts))
        return self.logits_of(features), features

    def logits_of(self, features: np.ndarray) -> np.ndarray:
        """Logits for precomputed embeddings (training reuses its embedding pass)."""
        x = torch.as_tensor(np.asarray(features, dtype=np.float32))
        with torch.inference_mode():
            return self.head(x).float().numpy()

    def save(self, folder: Path) -> dict[str, Any]:
        torch.save({k: v.detach().cpu() for k, v in self.head.state_dict().items()},
                   folder / _WEIGHTS)
        return {"head": dict(self.config)}


class FastAlgorithm(Algorithm):
    name = "fast"
    refit = True

    def __init__(self, embed_for: EmbedFor, device: str = "cpu") -> None:
        super().__init__(embed_for, device)
        self._cache: dict[tuple[str, str], np.ndarray] = {}

    def features(self, texts: Sequence[str], encoder: str) -> np.ndarray:
        """Embeddings of ``texts``, each text embedded once per algorithm instance."""
        embed = self.embed_for(encoder)
        if not texts:
            return embed([])
        missing = list(dict.fromkeys(t for t in texts if (encoder, t) not in self._cache))
        if missing:
            for text, row in zip(missing, embed(missing), strict=True):
                self._cache[encoder, text] = row
        return np.stack([self._cache[encoder, t] for t in texts]).astype(np.float32,
                                                                          copy=False)

    def fit(self, texts: Sequence[str], labels: Sequence[str], params: dict[str, Any],
            progress: Progress) -> FastModel:
        progress("embedding", 0.0)
        encoder = params["encoder"]
        x = torch.as_tensor(self.features(texts, encoder))
        progress("embedding", 0.2)  # a fit's fraction: embedding first, then the epochs
        names = sorted(set(labels))
        index = {name: i for i, name in enumerate(names)}
        y = torch.tensor([index[label] for label in labels])
        generator = torch.Generator().manual_seed(params["seed"])
        rng_state = torch.random.get_rng_state()
        torch.manual_seed(params["seed"])
        try:
            head = _head(x.shape[1], len(names), params["hidden_dim"], params["dropout"])
            optimiser = torch.optim.AdamW(head.parameters(), lr=params["lr"],
                                          weight_decay=params["weight_decay"])
            loss_fn = nn.CrossEntropyLoss(label_smoothing=params["label_smoothing"])
            epochs, batch = params["epochs"], params["batch_size"]
            steps = epochs * max(1, -(-len(y) // batch))
            schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, params["lr"],
                                                           total_steps=steps)
            head.train()
            with torch.enable_grad():
                for epoch in range(epochs):
                    order = torch.randperm(len(y), generator=generator)
                    for start in range(0, len(y), batch):
                        rows = order[start:start + batch]
                        optimiser.zero_grad()
                        loss_fn(head(x[rows]), y[rows]).backward()
                        optimiser.step()
                        schedule.step()
                    progress("training", 0.2 + 0.8 * (epoch + 1) / epochs)
        finally:
            torch.random.set_rng_state(rng_state)
        config = {"input_dim": int(x.shape[1]), "hidden_dim": params["hidden_dim"],
                  "dropout": params["dropout"]}
        # the cached embedding pass: calibration and the similarity bank reuse it
        return FastModel(head, names, lambda batch: self.features(batch, encoder), config)

    @classmethod
    def load(cls, folder: Path, meta: dict[str, Any], embed_for: EmbedFor,
             device: str = "cpu") -> FastModel:
        config = meta["model"]["head"]
        labels = list(meta["labels"])
        head = _head(config["input_dim"], len(labels), config["hidden_dim"], config["dropout"])
        state = torch.load(folder / _WEIGHTS, map_location="cpu", weights_only=True)
        head.load_state_dict(state)
        encoder = meta.get("params", {}).get("encoder", ENCODER_FP32)
        return FastModel(head, labels, embed_for(encoder), config)


"""Serving fixtures: no Ray in unit tests, one real local Ray Serve cluster per session.

Tests marked ``@pytest.mark.ray`` (or parametrised with the "ray" backend) share a
single local cluster (``ray.init(num_cpus=2, include_dashboard=False,
object_store_memory=200 MiB)``, token auth off) with the ``parley`` application
deployed from a small test config. Every other test runs with ``ray.init``
patched to fail, so a unit test that would start Ray by accident fails loudly.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from nlu.heads import save_head, train_head
from tests.helpers import SHARED_DATA

HWU64 = SHARED_DATA / "hwu64"
CLOTHING = SHARED_DATA / "clothing-small-dev"

INTENTS = ["alarm_set", "cooking_recipe", "play_music", "transport_ticket", "weather_query"]
TEXT_MODEL = "acme/intents/v1"
LRU_MODELS = ["t1/intents/v1", "t2/intents/v1", "t3/intents/v1"]
IMAGE_CLASSES = ["hat", "pants", "shoes", "t-shirt"]
IMAGE_MODEL = "acme/clothes/v1"


def require(path: Path, what: str) -> Path:
    if not path.exists():
        pytest.skip(f"{path} not found: {what} (shared data lives in ../shared/data)")
    return path


@pytest.fixture(autouse=True)
def _no_ray_unless_marked(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """Unit tests must not start a cluster: ``ray.init`` raises outside ray tests."""
    if request.node.get_closest_marker("ray") is not None:
        yield
        return
    import ray
    import ray._private.worker as worker

    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError("ray.init called from a unit test (mark it @pytest.mark.ray)")

    monkeypatch.setattr(ray, "init", refuse)
    monkeypatch.setattr(worker, "init", refuse)
    yield


@pytest.fixture(scope="session")
def hwu_split() -> dict[str, list[tuple[str, str]]]:
    """5 intents: 40 training utterances each (folds 1-9), 20 held out each (fold 10)."""
    path = require(HWU64 / "hwu64.jsonl", "HWU64 intents are needed for the classifier tests")
    train: dict[str, list[str]] = {i: [] for i in INTENTS}
    test: dict[str, list[str]] = {i: [] for i in INTENTS}
    for line in path.read_text().splitlines():
        row = json.loads(line)
        if row["intent"] not in train:
            continue
        bucket = test if row["fold"] == 10 else train
        if len(bucket[row["intent"]]) < (20 if bucket is test else 40):
            bucket[row["intent"]].append(row["text"])
    return {"train": [(t, i) for i in INTENTS for t in train[i]],
            "test": [(t, i) for i in INTENTS for t in test[i]]}


@pytest.fixture(scope="session")
def photos() -> dict[str, list[tuple[bytes, str]]]:
    """Clothing photos: 6 training and 4 validation photos per class of IMAGE_CLASSES."""
    root = require(CLOTHING, "clothing photos are needed for the image tests")
    out: dict[str, list[tuple[bytes, str]]] = {"train": [], "validation": []}
    for split, n in (("train", 6), ("validation", 4)):
        for cls in IMAGE_CLASSES:
            files = sorted((root / split / cls).glob("*.jpg"))[:n]
            out[split] += [(f.read_bytes(), cls) for f in files]
    return out


@pytest.fixture(scope="session")
def artefact_root(tmp_path_factory: pytest.TempPathFactory, hwu_split, photos) -> Path:
    """Tenant heads both backends load: an intent head (+3 copies for LRU tests), a clothes head."""
    from nlu.embeddings import SentenceEncoder
    from vision.backbone import ImageBackbone

    root = tmp_path_factory.mktemp("artefacts")
    texts, labels = zip(*hwu_split["train"], strict=True)
    vectors = SentenceEncoder().encode(list(texts))
    head = train_head(vectors, list(labels), epochs=300, seed=0,
                      metadata={"embedding": "all-MiniLM-L6-v2"})
    for model_id in [TEXT_MODEL, *LRU_MODELS]:
        save_head(head, root, model_id)
    import torch

    backbone = ImageBackbone(device="cpu").load()
    images = torch.stack([backbone.preprocess(data) for data, _ in photos["train"]])
    features = backbone.features(images).numpy()
    image_head = train_head(features, [c for _, c in photos["train"]], epochs=300, seed=0,
                            metadata={"embedding": "efficientnet-lite0"})
    save_head(image_head, root, IMAGE_MODEL)
    return root


def test_overrides(root: Path) -> dict:
    """The serving config of the test suite: lean replicas, LRU of 2, a GPU request."""
    one = {"min_replicas": 1, "max_replicas": 1}
    return {
        "artefact_root": str(root),
        "ray": {"num_cpus": 2, "deploy_timeout_s": 240},
        "families": {
            # client_batch_size 0: concurrent calls reach the replica one by one, so
            # the batching test sees @serve.batch at work (client merging: test_ray_client)
            "embeddings": {"num_cpus": 0.5, "timeout_s": 60, "max_batch_size": 16,
                           "batch_wait_timeout_s": 0.02, "health_check_period_s": 1,
                           "client_batch_size": 0, "autoscaling": one},
            "text_classifier": {"num_cpus": 0.5, "timeout_s": 60, "max_models_per_replica": 2,
                                "autoscaling": one},
            # a GPU request on a CPU-only cluster must still deploy (forced to 0 GPUs)
            "image_classifier": {"num_cpus": 0.5, "num_gpus": 1, "timeout_s": 60,
                                 "max_batch_size": 4, "batch_wait_timeout_s": 0.02,
                                 "autoscaling": one},
            "tts": {"num_cpus": 0.1, "autoscaling": one},
            "asr": {"num_cpus": 0.3, "timeout_s": 60, "autoscaling": one},
            "pronunciation": {"num_cpus": 0.1, "timeout_s": 60, "autoscaling": one},
        },
    }


test_overrides.__test__ = False  # a helper, not a test


@pytest.fixture(scope="session")
def serving_config(artefact_root: Path):
    from serving.config import load_config

    return load_config(overrides=test_overrides(artefact_root), environ={})


@pytest.fixture(scope="session")
def local_models(serving_config) -> Iterator[object]:
    from serving.local import LocalModels

    models = LocalModels(serving_config)
    asyncio.run(models.start())
    yield models
    asyncio.run(models.close())


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[None]:
    """One real local Ray for the session (started here, so RayModels only attaches)."""
    os.environ["RAY_AUTH_MODE"] = "disabled"
    import ray
    from ray import serve

    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=200 * 2**20,
             log_to_driver=False)
    yield
    try:
        serve.shutdown()
    finally:
        ray.shutdown()


@pytest.fixture(scope="session")
def ray_models(ray_cluster, serving_config) -> Iterator[object]:
    from serving.ray_backend import RayModels

    models = RayModels(serving_config)
    asyncio.run(models.start())
    yield models
    asyncio.run(models.close())


@pytest.fixture(params=["local", pytest.param("ray", marks=pytest.mark.ray)])
def backend(request: pytest.FixtureRequest):
    """The same test against both backends."""
    return request.getfixturevalue(f"{request.param}_models")


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))

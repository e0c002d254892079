"""Ray-only behaviour: agreement with the local backend, GPU fallback, replica death."""

from __future__ import annotations

import numpy as np
import pytest

from tests.serving.conftest import cosine

pytestmark = pytest.mark.ray


async def test_embeddings_agree_across_backends(local_models, ray_models, hwu_split):
    texts = [t for t, _ in hwu_split["test"][::5]]
    local, remote = await local_models.embed(texts), await ray_models.embed(texts)
    assert cosine(local, remote).min() >= 0.999


async def test_image_top1_agrees_across_backends(local_models, ray_models, photos):
    images = [data for data, _ in photos["validation"][::3]]
    local = await local_models.classify_image(images, top_k=3)
    remote = await ray_models.classify_image(images, top_k=3)
    assert [r[0][0] for r in local] == [r[0][0] for r in remote]
    assert np.allclose([r[0][1] for r in local], [r[0][1] for r in remote], atol=1e-3)


async def test_gpu_request_on_cpu_cluster_still_deploys(ray_models):
    """The test config asks image_classifier for a GPU; this cluster has none."""
    import ray

    assert ray.cluster_resources().get("GPU", 0) == 0
    stats = (await ray_models.stats())["image_classifier"]
    assert stats["device"] == "cpu"
    assert (await ray_models.health())["image_classifier"] == "ok"


async def test_the_assessment_yields_the_cpus_to_the_recognisers(ray_models):
    """serving.yaml adds 10 to the pronunciation replica's niceness (Ray starts its
    workers at 15, and 19 is the floor) and nothing to the others'."""
    stats = await ray_models.stats()
    base = stats["embeddings"]["nice"]
    assert stats["asr"]["nice"] == base
    assert stats["pronunciation"]["nice"] == min(19, base + 10) > base


async def test_ping_round_trip(ray_models):
    assert await ray_models.ping("embeddings") == "ok"
    assert await ray_models.ping("image_classifier") == "ok"


async def test_replica_killed_mid_request_is_retried(ray_models, caplog):
    """Runs last in this module: the embeddings replica dies under a long call, the call
    is retried once on its replacement, and later calls work."""
    import asyncio
    import logging

    import ray

    name = (await ray_models.stats())["embeddings"]["replica"]
    texts = [f"sentence number {i} of a long request" for i in range(512)]
    with caplog.at_level(logging.WARNING, logger="parley.serving"):
        call = asyncio.ensure_future(ray_models.embed(texts))
        await asyncio.sleep(0.5)  # the request is now running on the replica
        assert not call.done()
        ray.kill(ray.get_actor(name, namespace="serve"), no_restart=True)
        vectors = await call
    assert vectors.shape == (512, 384)
    assert any("retrying once" in r.getMessage() for r in caplog.records)
    assert (await ray_models.embed(["are you still there?"])).shape == (1, 384)
    assert (await ray_models.stats())["embeddings"]["replica"] != name

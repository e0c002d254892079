"""RayModels without a cluster: retries, deadlines, error mapping, start-up failure."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest
from ray.exceptions import ActorDiedError, RayTaskError
from ray.serve.exceptions import BackPressureError

from serving.base import ModelError, ModelNotFound, ModelTimeout, ModelUnavailable
from serving.config import load_config
from serving.ray_backend import RayModels, connect_or_start
from serving.ray_cluster import RayUnavailable


class FakeResponse:
    def __init__(self, outcome: Any) -> None:
        self.outcome, self.cancelled = outcome, False

    def __await__(self):
        return self._run().__await__()

    async def _run(self) -> Any:
        if isinstance(self.outcome, float):
            await asyncio.sleep(self.outcome)
            return "late"
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome

    def cancel(self) -> None:
        self.cancelled = True


class FakeHandle:
    """Stands in for a DeploymentHandle: each .remote() takes the next outcome."""

    def __init__(self, *outcomes: Any) -> None:
        self.outcomes, self.responses, self.options_seen = list(outcomes), [], []

    def options(self, **kwargs: Any) -> FakeHandle:
        self.options_seen.append(kwargs)
        return self

    def remote(self, *args: Any) -> FakeResponse:
        response = FakeResponse(self.outcomes.pop(0))
        self.responses.append(response)
        return response


def client(timeout_s: float = 5.0, merge: int = 0, **handles: FakeHandle) -> RayModels:
    families = {f: {"timeout_s": timeout_s} for f in ("embeddings", "text_classifier")}
    families["embeddings"]["client_batch_size"] = merge
    config = load_config(overrides={"families": families}, environ={})
    models = RayModels(config)
    models._handles.update(handles)
    return models


def task_error(cause: BaseException) -> RayTaskError:
    return RayTaskError("classify", "Traceback: ...", cause).as_instanceof_cause()


async def test_a_dead_replica_costs_one_retry():
    handle = FakeHandle(ActorDiedError(), np.ones((1, 384), dtype=np.float32))
    vectors = await client(embeddings=handle).embed(["hi"])
    assert vectors.shape == (1, 384) and len(handle.responses) == 2


async def test_two_dead_replicas_make_the_model_unavailable():
    handle = FakeHandle(ActorDiedError(), ActorDiedError())
    with pytest.raises(ModelUnavailable) as info:
        await client(embeddings=handle).embed(["hi"])
    assert info.value.status == 503 and info.value.model == "embeddings"


async def test_deadline_cancels_the_request():
    handle = FakeHandle(5.0)
    with pytest.raises(ModelTimeout) as info:
        await client(timeout_s=0.05, embeddings=handle).embed(["hi"])
    assert info.value.status == 504 and handle.responses[0].cancelled


async def test_replica_errors_arrive_as_serving_errors():
    handle = FakeHandle(task_error(ModelNotFound("text_classifier", "acme/x/v1")))
    with pytest.raises(ModelNotFound) as info:
        await client(text_classifier=handle).classify_text("acme/x/v1", ["hi"])
    assert info.value.model_id == "acme/x/v1"
    assert handle.options_seen[-1]["multiplexed_model_id"] == "acme/x/v1"


@pytest.mark.parametrize(("raised", "expected"), [
    (task_error(ValueError("shape mismatch")), ModelError),
    (BackPressureError(num_queued_requests=10, max_queued_requests=10), ModelUnavailable),
])
async def test_other_failures_are_mapped(raised, expected):
    observed: list[tuple[str, str, float]] = []
    models = client(embeddings=FakeHandle(raised))
    models._observe = lambda *args: observed.append(args)
    with pytest.raises(expected):
        await models.embed(["hi"])
    assert observed[0][:2] == ("embeddings", expected.code)


async def test_unreachable_ray_is_a_clear_start_error(monkeypatch):
    import ray

    monkeypatch.setattr(ray, "is_initialized", lambda: False)  # ray.init fails (conftest)
    config = load_config(overrides={"ray": {"address": "10.255.255.1:6379"}}, environ={})
    with pytest.raises(RayUnavailable, match="10.255.255.1:6379"):
        await RayModels(config).start()


async def test_fallback_to_local_when_configured(monkeypatch):
    import ray

    from serving.local import LocalModels

    async def no_load(self) -> None:
        return None

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(LocalModels, "start", no_load)
    config = load_config(overrides={"fallback_to_local": True}, environ={})
    models = await connect_or_start(config)
    assert models.backend == "local"
    await models.close()
    with pytest.raises(RayUnavailable):
        await connect_or_start(config, fallback_to_local=False)


async def test_calls_before_start_are_unavailable():
    with pytest.raises(ModelUnavailable, match="not deployed"):
        await RayModels(load_config(environ={})).embed(["hi"])


async def test_concurrent_small_embeds_share_one_handle_call():
    class Echo(FakeHandle):
        def remote(self, texts: list[str]) -> FakeResponse:
            response = FakeResponse(np.array([[float(t)] * 384 for t in texts], np.float32))
            self.responses.append((texts, response))
            return response

    handle = Echo()
    models = client(merge=64, embeddings=handle)
    rows = await asyncio.gather(*(models.embed([str(i)]) for i in range(8)))
    assert [float(r[0, 0]) for r in rows] == list(range(8))  # each caller gets its own row
    assert len(handle.responses) == 1 and handle.responses[0][0] == [str(i) for i in range(8)]

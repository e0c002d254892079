"""Model-serving benchmark: handle overhead, local vs Ray throughput, 2-replica scaling.

    python -m loadtests.serving_bench [--address ray-head:6379] [--duration 10]

Without ``--address`` it starts its own local single-node Ray and stops it after.
It deploys its own application (``parley-bench``: the real ``embeddings``
deployment plus a CPU-bound numpy ``burn`` deployment) and measures:

- ``handle_p50_ms``/``handle_p95_ms``: one ``ping`` through a ``DeploymentHandle``
  (a trivial method on the embeddings replica), sequential calls after warm-up;
  ``client_p50_ms``/``client_p95_ms`` the same through ``RayModels`` (deadline,
  retry and observer wrapping included);
- ``local_rps``/``ray_rps``: single-sentence ``embed`` calls per second at
  ``--concurrency`` concurrent callers for ``--duration`` seconds, on each backend
  (Ray: one embeddings replica, ``@serve.batch``, concurrent calls merged in the
  client as configured); ``ray_rps_unmerged``: the same with one handle call per
  ``embed`` call (only ``@serve.batch`` in the replica);
- ``scale_2v1``: calls per second of ``burn`` (pure numpy ufuncs, one core per
  replica, ~``--burn-ms`` of work per call) with 2 replicas over 1 replica.

Last line: {"handle_p50_ms", "handle_p95_ms", "local_rps", "ray_rps", "scale_2v1", ...}
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
from ray import serve

from loadtests.harness import percentile, report
from serving.config import load_config
from serving.local import LocalModels
from serving.ray_backend import RayModels

SENTENCES = ["Could you tell me where the boarding gate is?", "I'd like a flat white, please.",
             "How long are you staying in the country?", "Is breakfast included in the price?"]


def burn_rounds(work_ms: float) -> int:
    """How many rounds of the burn loop take ``work_ms`` on one core here (measured once,
    in this process, so that both replica counts do the same work per call)."""
    x = np.random.default_rng(0).random(200_000)
    start, rounds = time.perf_counter(), 0
    while time.perf_counter() - start < 0.5:
        np.sin(x).sum()
        rounds += 1
    return max(1, round(rounds * work_ms / 500))


@serve.deployment(name="burn", ray_actor_options={"num_cpus": 1})
class Burn:
    """A deliberately CPU-bound deployment: numpy ufuncs, single-threaded, fixed work."""

    def __init__(self, rounds: int) -> None:
        self._x = np.random.default_rng(0).random(200_000)
        self._rounds = rounds

    def __call__(self) -> float:
        total = 0.0
        for _ in range(self._rounds):
            total += float(np.sin(self._x).sum())
        return total


async def closed_loop(call: Callable[[int], Awaitable[Any]], concurrency: int,
                      duration_s: float) -> float:
    """Calls per second with ``concurrency`` callers each issuing calls back to back."""
    done = 0
    stop = time.perf_counter() + duration_s

    async def worker(i: int) -> None:
        nonlocal done
        n = i
        while time.perf_counter() < stop:
            await call(n)
            done += 1
            n += concurrency

    start = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return done / (time.perf_counter() - start)


def bench_config(address: str | None, client_batch_size: int = 64) -> Any:
    one = {"min_replicas": 1, "max_replicas": 1}
    return load_config(overrides={
        "app_name": "parley-bench",
        "ray": {"address": address},
        "families": {
            "embeddings": {"num_cpus": 1, "torch_threads": min(2, os.cpu_count() or 1),
                           "max_batch_size": 32, "batch_wait_timeout_s": 0.005,
                           "max_ongoing_requests": 128, "timeout_s": 60, "autoscaling": one,
                           "client_batch_size": client_batch_size},
            "text_classifier": {"enabled": False},
            "image_classifier": {"enabled": False},
        }})


async def ping_latency(models: RayModels, n: int) -> dict[str, float]:
    handle = serve.get_deployment_handle("embeddings", models.config.app_name).options(
        method_name="ping")
    for _ in range(50):
        await handle.remote()
    raw, client = [], []
    for _ in range(n):
        t = time.perf_counter()
        await handle.remote()
        raw.append((time.perf_counter() - t) * 1000)
    for _ in range(n):
        t = time.perf_counter()
        await models.ping("embeddings")
        client.append((time.perf_counter() - t) * 1000)
    return {"handle_p50_ms": round(percentile(raw, 50), 3),
            "handle_p95_ms": round(percentile(raw, 95), 3),
            "client_p50_ms": round(percentile(client, 50), 3),
            "client_p95_ms": round(percentile(client, 95), 3)}


async def burn_rps(app: str, replicas: int, rounds: int, duration_s: float) -> float:
    await asyncio.to_thread(
        serve.run, Burn.options(num_replicas=replicas, max_ongoing_requests=2).bind(rounds),
        name=f"{app}-burn", route_prefix=None)
    handle = serve.get_deployment_handle("burn", f"{app}-burn")
    await closed_loop(lambda _: handle.remote(), 2 * replicas, 1.0)  # warm up
    rps = await closed_loop(lambda _: handle.remote(), 2 * replicas, duration_s)
    await asyncio.to_thread(serve.delete, f"{app}-burn")
    return rps


async def main(args: argparse.Namespace) -> dict[str, Any]:
    config = bench_config(args.address)
    result: dict[str, Any] = {"machine": f"{os.cpu_count()} cores", "duration_s": args.duration,
                              "concurrency": args.concurrency}

    local = LocalModels(config)
    await local.start()
    await local.embed(SENTENCES)
    result["local_rps"] = round(await closed_loop(
        lambda n: local.embed([SENTENCES[n % len(SENTENCES)]]), args.concurrency,
        args.duration), 1)
    await local.close()

    models = RayModels(config)
    t = time.perf_counter()
    await models.start()
    result["ray_start_s"] = round(time.perf_counter() - t, 1)
    try:
        result.update(await ping_latency(models, args.pings))
        await models.embed(SENTENCES)
        result["ray_rps"] = round(await closed_loop(
            lambda n: models.embed([SENTENCES[n % len(SENTENCES)]]), args.concurrency,
            args.duration), 1)
        # the same without merging concurrent calls in the client: one handle call each
        unmerged = RayModels(bench_config(args.address, client_batch_size=0))
        await unmerged.start()  # attaches to the running application
        result["ray_rps_unmerged"] = round(await closed_loop(
            lambda n: unmerged.embed([SENTENCES[n % len(SENTENCES)]]), args.concurrency,
            args.duration), 1)
        batches = (await models.stats())["embeddings"]["batch_sizes"]
        result["ray_unmerged_mean_batch"] = round(float(np.mean(batches[-100:])), 1)
        await asyncio.to_thread(serve.delete, config.app_name)  # free its core for scaling
        if not args.skip_scale:
            rounds = burn_rounds(args.burn_ms)
            one = await burn_rps(config.app_name, 1, rounds, args.duration)
            two = await burn_rps(config.app_name, 2, rounds, args.duration)
            result.update({"burn_1_rps": round(one, 1), "burn_2_rps": round(two, 1),
                           "scale_2v1": round(two / one, 2),
                           "scale_workload": f"numpy ufuncs, ~{args.burn_ms:g} ms per call, "
                                             "1 core per replica"})
    finally:
        await models.close()
    return result


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--address", default=None, help="existing Ray cluster (else start one)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per throughput run")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--pings", type=int, default=500)
    parser.add_argument("--burn-ms", type=float, default=100.0)
    parser.add_argument("--skip-scale", action="store_true")
    return parser.parse_args()


if __name__ == "__main__":
    report(asyncio.run(main(parse_args())))

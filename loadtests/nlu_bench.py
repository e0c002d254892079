"""Training time for 10,000 samples and retrieve latency at a fixed request rate, via HTTP.

A tenant classifier is created and 10,000 HWU64 utterances imported through the
public API; ``train`` is timed from the POST to the job's success (embedding
included). Then ``retrieve`` is called open-loop at ``--rps`` (requests are sent
on schedule whether or not earlier ones answered, as independent clients do)
for ``--seconds``, one fold-10 utterance per request; latency is measured at
the client. The load comes from aiohttp: httpx's client took 9.9 ms of CPU a
request at 200/s (aiohttp 0.8 ms) on the cores the server shares, and capped
the server near 50 requests a second. Our own server seeds no built-in lessons,
so no lesson classifier trains beside the measurement.

    python -m loadtests.nlu_bench [--host URL --api-key KEY] [--rps 200,100] [--seconds 20]

Last line: {"train_samples", "train_s", "retrieve_rps", "retrieve_p50_ms",
"retrieve_p95_ms", "errors", ...}
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from pathlib import Path

import aiohttp
import httpx

from loadtests import nlu_client as nlu
from loadtests.harness import percentile, report, server


async def run(base: str, args: argparse.Namespace) -> dict:
    rows = nlu.read_hwu(args.data)
    rng = random.Random(args.seed)
    train = [{"text": r["text"], "label": r["intent"]} for r in rows]
    rng.shuffle(train)
    train = train[:args.samples]
    queries = [r["text"] for r in rows if r["fold"] == 10]
    limits = httpx.Limits(max_connections=args.connections,
                          max_keepalive_connections=args.connections)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        headers = await nlu.tenant_headers(http, base, args.api_key, args.admin_key,
                                           f"bench-{int(time.time())}")
        cid = await nlu.classifier(http, base, headers, "bench", args.algorithm, train)
        job, train_s = await nlu.train(http, base, headers, cid)
    url = f"{base}{nlu.BASE}/{cid}/retrieve"
    connector = aiohttp.TCPConnector(limit=args.connections)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(headers=headers, connector=connector,
                                     timeout=timeout) as session:
        for text in queries[:20]:  # warm the version into the replica's cache
            async with session.post(url, json={"text": text}) as resp:
                resp.raise_for_status()
        phases = [await _phase(session, url, queries, rps, args.seconds)
                  for rps in args.rps]
    first = phases[0]
    return {"train_samples": len(train), "train_s": round(train_s, 2),
            "retrieve_rps": first["achieved_rps"], "retrieve_p50_ms": first["p50_ms"],
            "retrieve_p95_ms": first["p95_ms"], "retrieve_p99_ms": first["p99_ms"],
            "errors": first["errors"], "offered_rps": first["offered_rps"],
            "by_rate": phases, "algorithm": args.algorithm, "version": job["version"]}


async def _phase(session: aiohttp.ClientSession, url: str, queries: list[str], rps: float,
                 seconds: float) -> dict:
    """Open-loop requests at ``rps`` for ``seconds``: latency percentiles and errors."""
    latencies: list[float] = []
    errors: list[str] = []

    async def one(text: str) -> None:
        started = time.perf_counter()
        try:
            async with session.post(url, json={"text": text}) as resp:
                await resp.read()
                if resp.status != 200:
                    errors.append(str(resp.status))
                    return
            latencies.append((time.perf_counter() - started) * 1000)
        except (aiohttp.ClientError, TimeoutError) as exc:
            errors.append(type(exc).__name__)

    total = int(rps * seconds)
    tasks = []
    started = time.perf_counter()
    for i in range(total):
        delay = started + i / rps - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(queries[i % len(queries)])))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    return {"offered_rps": rps, "requests": total,
            "achieved_rps": round(len(latencies) / elapsed, 1),
            "p50_ms": round(percentile(latencies, 50), 2),
            "p95_ms": round(percentile(latencies, 95), 2),
            "p99_ms": round(percentile(latencies, 99), 2), "errors": len(errors)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", help="a running server (default: start our own)")
    parser.add_argument("--api-key", help="a tenant key on --host (else --admin-key)")
    parser.add_argument("--admin-key", default="bench-admin-key")
    parser.add_argument("--data", type=Path, default=nlu.default_hwu(), help="HWU64 folder")
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--algorithm", default="fast", choices=["fast", "accurate"])
    parser.add_argument("--rps", type=lambda v: [float(x) for x in v.split(",")],
                        default=[200.0], help="request rates, comma-separated (first: the "
                        "headline keys)")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--serving", choices=["ray", "local"], default="ray",
                        help="backend of our own server")
    args = parser.parse_args()
    env = {**nlu.own_server_env(), "PARLEY_SERVING": args.serving,
           "PARLEY_SEED_BUILTIN": "false"}
    with server(args.host, env) as (base, _pid):
        result = asyncio.run(run(base, args))
    result["serving"] = "remote" if args.host else args.serving
    report(result)


if __name__ == "__main__":
    main()

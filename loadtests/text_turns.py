"""N concurrent learners play the Immigration lesson by text over the WebSocket.

Each session creates itself over HTTP, opens the stream, and sends the turns of
a recorded conversation that reaches the goal, pausing a random "think time"
between turns as a person would (``--think-ms``, mean; 0 = back-to-back).
Latency is measured at the client from sending a turn to receiving its reply.

    python -m loadtests.text_turns --sessions 200 [--host URL] [--think-ms 1000]

Last line: {"sessions", "turns", "p50_ms", "p95_ms", "p99_ms", "errors", ...}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time

import httpx
from websockets.asyncio.client import connect

from loadtests.harness import ROOT, percentile, report, server, ws_url

SCRIPT = ROOT / "tests" / "dialog" / "data" / "immigration_recorded.json"


def learner_lines() -> list[str]:
    data = json.loads(SCRIPT.read_text())
    return [t["text"] for t in (data["turns"] if isinstance(data, dict) else data)]


async def one_session(http: httpx.AsyncClient, base: str, lines: list[str], think_s: float,
                      rng: random.Random, latencies: list[float], errors: list[str]) -> bool:
    await asyncio.sleep(rng.uniform(0, max(think_s, 0.05) * 2))  # stagger the arrivals
    resp = await http.post(f"{base}/v1/sessions", json={"lesson_id": "immigration"})
    if resp.status_code != 201:
        errors.append(f"create {resp.status_code}")
        return False
    session = resp.json()
    url = f"{ws_url(base)}/v1/sessions/{session['id']}/stream?token={session['token']}"
    async with connect(url, max_size=2**20, open_timeout=60) as ws:
        json.loads(await ws.recv())  # the session snapshot
        reply: dict = {}
        for i, text in enumerate(lines):
            if think_s:
                await asyncio.sleep(rng.uniform(0.5 * think_s, 1.5 * think_s))
            started = time.perf_counter()
            await ws.send(json.dumps({"type": "text", "text": text, "id": i}))
            reply = json.loads(await ws.recv())
            latencies.append((time.perf_counter() - started) * 1000)
            if reply.get("type") != "turn":
                errors.append(reply.get("error", {}).get("code", "unexpected"))
        return reply.get("turn", {}).get("status") == "completed"


async def run(base: str, sessions: int, think_s: float, seed: int) -> dict:
    lines = learner_lines()
    latencies: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=100)
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        tasks = [one_session(http, base, lines, think_s, random.Random(seed + i), latencies,
                             errors) for i in range(sessions)]
        results = await asyncio.gather(*tasks, return_exceptions=True)
    elapsed = time.perf_counter() - started
    failures = [r for r in results if isinstance(r, BaseException)]
    errors += [type(r).__name__ for r in failures]
    return {
        "sessions": sessions,
        "turns": len(latencies),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "errors": len(errors),
        "completed": sum(1 for r in results if r is True),
        "think_ms": round(think_s * 1000),
        "turns_per_s": round(len(latencies) / elapsed, 1),
        "error_kinds": sorted(set(errors))[:5],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--host", default=None, help="a running server; default: start one")
    parser.add_argument("--think-ms", type=float, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with server(args.host) as (base, _pid):
        print(f"driving {args.sessions} sessions against {base}", flush=True)
        result = asyncio.run(run(base, args.sessions, args.think_ms / 1000, args.seed))
    report(result)


if __name__ == "__main__":
    main()

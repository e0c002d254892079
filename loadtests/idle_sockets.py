"""Open N play sessions with an idle WebSocket each, then read the server's memory.

    python -m loadtests.idle_sockets --sockets 2000 [--host URL]

``rss_mb`` covers the server process and all its children (the whole local Ray
cluster too, with ``PARLEY_SERVING=ray``) when this script started the server;
``web_rss_mb`` is the web process alone, read from its ``/metrics``
(``process_resident_memory_bytes``), which is all there is against ``--host``.
Last line: {"sockets", "rss_mb", "web_rss_mb", ...}
"""

from __future__ import annotations

import argparse
import asyncio
import json

import httpx
from websockets.asyncio.client import connect

from loadtests.harness import report, rss_mb, server, ws_url


async def open_sockets(base: str, count: int) -> tuple[list, int]:
    sockets, errors = [], 0
    sem = asyncio.Semaphore(50)
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=50)) as http:

        async def one() -> None:
            nonlocal errors
            async with sem:
                try:
                    resp = await http.post(f"{base}/v1/sessions", json={"lesson_id": "cafe"})
                    s = resp.json()
                    ws = await connect(f"{ws_url(base)}/v1/sessions/{s['id']}/stream"
                                       f"?token={s['token']}", open_timeout=60)
                    json.loads(await ws.recv())
                    sockets.append(ws)
                except Exception:
                    errors += 1

        await asyncio.gather(*(one() for _ in range(count)))
    return sockets, errors


async def metrics_rss(base: str) -> float:
    async with httpx.AsyncClient() as http:
        text = (await http.get(f"{base}/metrics")).text
    for line in text.splitlines():
        if line.startswith("process_resident_memory_bytes"):
            return round(float(line.split()[-1]) / 2**20, 1)
    return -1.0


async def run(base: str, pid: int | None, count: int) -> dict:
    before = rss_mb(pid) if pid else await metrics_rss(base)
    web_before = await metrics_rss(base)
    sockets, errors = await open_sockets(base, count)
    await asyncio.sleep(2)
    after = rss_mb(pid) if pid else await metrics_rss(base)
    web_after = await metrics_rss(base)
    async with httpx.AsyncClient() as http:
        open_gauge = next((float(x.split()[-1]) for x in (await http.get(f"{base}/metrics"))
                           .text.splitlines() if x.startswith("parley_websockets_open ")), -1)
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return {"sockets": len(sockets), "rss_mb": after, "web_rss_mb": web_after,
            "rss_before_mb": before, "web_rss_before_mb": web_before,
            "per_socket_kb": round((web_after - web_before) * 1024 / max(len(sockets), 1), 1),
            "server_open_gauge": open_gauge, "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sockets", type=int, default=2000)
    parser.add_argument("--host", default=None)
    args = parser.parse_args()
    with server(args.host) as (base, pid):
        result = asyncio.run(run(base, pid, args.sockets))
    report(result)


if __name__ == "__main__":
    main()

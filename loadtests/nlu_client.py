"""The public-API calls the NLU benchmarks share: a tenant, a classifier, samples, training."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import httpx

from loadtests.harness import ROOT

BASE = "/v1/nlu/classifiers"


def default_hwu() -> Path:
    for candidate in (ROOT.parent / "shared" / "data" / "hwu64",
                      Path("/work/shared/data/hwu64")):
        if candidate.is_dir():
            return candidate
    return ROOT.parent / "shared" / "data" / "hwu64"


def read_hwu(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "hwu64.jsonl").read_text().splitlines()
            if line.strip()]


async def tenant_headers(http: httpx.AsyncClient, base: str, api_key: str | None,
                         admin_key: str | None, name: str) -> dict[str, str]:
    """A tenant's auth header: the given key, or a new tenant made with the admin key."""
    if api_key:
        return {"Authorization": f"Bearer {api_key}"}
    resp = await http.post(f"{base}/v1/admin/tenants", json={"name": name},
                           headers={"Authorization": f"Bearer {admin_key}"})
    resp.raise_for_status()
    return {"Authorization": f"Bearer {resp.json()['key']['key']}"}


async def classifier(http: httpx.AsyncClient, base: str, headers: dict[str, str], name: str,
                     algorithm: str, train: list[dict], test: list[dict] | None = None,
                     params: dict | None = None) -> str:
    """Create a classifier and import its samples as JSON lines; returns its id."""
    resp = await http.post(f"{base}{BASE}", json={"name": name, "algorithm": algorithm,
                                                  "params": params or {}},
                           headers=headers)
    resp.raise_for_status()
    cid = resp.json()["id"]
    for kind, rows in (("samples", train), ("test-samples", test or [])):
        if not rows:
            continue
        body = "".join(json.dumps({"text": r["text"], "label": r["label"]}) + "\n"
                       for r in rows).encode()
        resp = await http.post(f"{base}{BASE}/{cid}/{kind}/import", content=body,
                               headers={**headers, "content-type": "application/x-ndjson"})
        resp.raise_for_status()
    return cid


async def train(http: httpx.AsyncClient, base: str, headers: dict[str, str], cid: str,
                timeout_s: float = 3600) -> tuple[dict, float]:
    """Train through the API and wait; returns (the finished job, seconds from POST)."""
    started = time.perf_counter()
    resp = await http.post(f"{base}{BASE}/{cid}/train", json={}, headers=headers)
    resp.raise_for_status()
    job = resp.json()
    while job["status"] not in ("succeeded", "failed"):
        if time.perf_counter() - started > timeout_s:
            raise TimeoutError(f"training did not finish in {timeout_s} s")
        await asyncio.sleep(0.5)
        job = (await http.get(f"{base}/v1/nlu/jobs/{job['id']}", headers=headers)).json()
    if job["status"] != "succeeded":
        raise RuntimeError(f"training failed: {job['error']}")
    return job, time.perf_counter() - started


def own_server_env() -> dict[str, str]:
    """What a benchmark's own server needs: an admin key and a private artefact root."""
    import tempfile

    return {"PARLEY_ADMIN_KEY": "bench-admin-key",
            "PARLEY_ARTEFACTS": tempfile.mkdtemp(prefix="parley-bench-artefacts-"),
            "PARLEY_SEED_BUILTIN": os.environ.get("PARLEY_SEED_BUILTIN", "true")}

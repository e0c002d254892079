"""N concurrent learners speak real recordings into the WebSocket at real-time pace.

The streams play one lesson made from recordings of DIR (a Kaldi-style folder:
``text``, ``wav.scp``), as a class of learners does: one state per turn, each
expecting the sentences its turn's recordings read (one per stream) among others
from DIR, ``--candidates`` (K) in all, a lesson state with K expected answers. The
lesson is published (which starts building its state models) and the streams
start after ``--warmup-s``. The stream sends 100 ms frames of 16-bit PCM paced at real time, then
ends the utterance the way the learner's client would:

- ``--mode ptt`` (push-to-talk, default): the ``push_to_talk`` endpointing mode
  (a pause inside a recording ends nothing) and an ``audio_end`` message right away;
- ``--mode vad``: silence frames until the server's endpointer hears the end
  (its trailing-silence setting, 900 ms by default, is part of the latency).

End of speech (EOS) is when the last frame of the recording was sent. Measured at
the client: EOS → ``transcript`` (final), EOS → ``turn`` (the dialog's reply) and
EOS → ``pronunciation`` (the turn's assessment; ``--no-pronunciation`` when the
server runs with ``PARLEY_PRONUNCIATION=false``).

    python -m loadtests.spoken_turns --streams 8 --data DIR [--host URL] [--mode vad]

Last line: {"streams", "turns", "eos_to_final_p50_ms", "eos_to_final_p95_ms",
"eos_to_reply_p50_ms", "eos_to_reply_p95_ms", "eos_to_reply_p99_ms",
"eos_to_assessment_p50_ms", "eos_to_assessment_p95_ms", "errors", ...}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
import uuid
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from loadtests.harness import percentile, report, server, ws_url
from speech.eval.data import DataDir, Utterance, read_wav
from speech.lm import normalize

FRAME = 1600  # 100 ms at 16 kHz
ADMIN_KEY = os.environ.get("PARLEY_ADMIN_KEY") or "bench-admin-" + uuid.uuid4().hex[:8]


def lesson_for(turns: list[list[Utterance]], pool: list[str], k: int,
               rng: random.Random) -> dict:
    """State i expects what turn i's recordings read, plus others up to k; then moves on."""
    ids = [str(uuid.uuid4()) for _ in range(len(turns) + 1)]
    states = []
    for i, utts in enumerate(turns):
        truths = sorted({normalize(u.text) for u in utts})
        others = rng.sample([s for s in pool if s not in truths], max(0, k - len(truths)))
        states.append({"id": ids[i], "name": f"read{i}", "lines": [f"Sentence {i + 1}, please."],
                       "fallback": ids[i + 1], "max_attempts": 1,
                       "expects": [{"id": str(uuid.uuid4()), "target": ids[i + 1],
                                    "intent": "read", "examples": truths + others}]})
    states.append({"id": ids[-1], "name": "done", "lines": ["Thank you!"], "kind": "goal"})
    return {"id": f"bench-{uuid.uuid4().hex[:8]}", "title": "Read aloud",
            "mission": "Read sentences aloud", "initial": ids[0], "states": states}


async def one_stream(http: httpx.AsyncClient, base: str, headers: dict, lesson_id: str,
                     utts: list[Utterance], args: argparse.Namespace, rng: random.Random,
                     out: dict[str, list]) -> None:
    await asyncio.sleep(rng.uniform(0, 2.0))  # stagger the learners
    resp = await http.post(f"{base}/v1/sessions", json={"lesson_id": lesson_id},
                           headers=headers)
    resp.raise_for_status()
    session = resp.json()
    url = f"{ws_url(base)}/v1/sessions/{session['id']}/stream?token={session['token']}"
    if args.mode == "ptt":  # as the browser's push-to-talk: only audio_end ends a turn
        url += "&endpointing=push_to_talk"
    async with connect(url, max_size=2**22, open_timeout=60) as ws:
        json.loads(await ws.recv())
        for utt in utts:
            pcm = read_wav(utt.wav)
            pcm = pcm[: len(pcm) // FRAME * FRAME]
            start = time.perf_counter()
            for i in range(0, len(pcm), FRAME):
                await ws.send(pcm[i:i + FRAME].tobytes())
                await asyncio.sleep(max(0.0, start + (i + FRAME) / 16000 - time.perf_counter()))
            eos = time.perf_counter()
            silence = bytes(FRAME * 2)
            if args.mode == "ptt":
                await ws.send(json.dumps({"type": "audio_end"}))
            final = await _until_reply(ws, eos, silence if args.mode == "vad" else None, out,
                                       args.pronunciation)
            if final:
                out["final"].append(final[0])
                out["reply"].append(final[1])
                if final[2] is not None:
                    out["assessment"].append(final[2])
            await asyncio.sleep(rng.uniform(0.5, 1.5))  # the learner reads the reply


async def _until_reply(ws, eos: float, silence: bytes | None, out: dict[str, list],
                       assessed: bool) -> tuple[float, float, float | None] | None:
    """Read messages (sending silence frames in vad mode) until the turn and the
    pronunciation assessment arrived: (EOS→final, EOS→reply, EOS→assessment) in ms."""
    final_ms = reply_ms = None
    next_frame = eos
    while True:
        timeout = 0.1 if silence is not None else 30.0
        try:
            raw = await asyncio.wait_for(ws.recv(), max(0.001, next_frame + timeout
                                                        - time.perf_counter()))
        except TimeoutError:
            if silence is None:
                out["errors"].append("timeout")
                return None
            await ws.send(silence)
            next_frame += 0.1
            if next_frame - eos > 30:
                out["errors"].append("timeout")
                return None
            continue
        if isinstance(raw, bytes):
            continue
        msg = json.loads(raw)
        if msg["type"] == "transcript":
            final_ms = (time.perf_counter() - eos) * 1000
        elif msg["type"] == "turn":
            reply_ms = (time.perf_counter() - eos) * 1000
            if final_ms is None:
                final_ms = reply_ms
            if not assessed:
                return final_ms, reply_ms, None
        elif msg["type"] == "pronunciation" and reply_ms is not None:
            if msg["assessment"] is None:
                out["errors"].append("not_assessed")
            return final_ms, reply_ms, (time.perf_counter() - eos) * 1000
        elif msg["type"] == "error":
            out["errors"].append(msg["error"]["code"])
            if msg.get("utterance") is not None:
                return None


async def run(base: str, args: argparse.Namespace) -> dict:
    data = DataDir.load(args.data)
    pool = sorted({normalize(u.text) for u in data.utterances} - {""})
    rng = random.Random(args.seed)
    picked = rng.sample(list(data.utterances), args.streams * args.turns)
    out: dict[str, list] = {"final": [], "reply": [], "assessment": [], "errors": []}
    async with httpx.AsyncClient(timeout=120) as http:
        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        tenant = await http.post(f"{base}/v1/admin/tenants", json={"name": "bench"},
                                 headers=admin)
        tenant.raise_for_status()
        headers = {"Authorization": f"Bearer {tenant.json()['key']['key']}"}
        streams = [picked[i * args.turns:(i + 1) * args.turns] for i in range(args.streams)]
        turns = [[s[t] for s in streams] for t in range(args.turns)]
        doc = lesson_for(turns, pool, args.candidates, rng)
        created = await http.post(f"{base}/v1/lessons", json={"document": doc}, headers=headers)
        created.raise_for_status()
        await asyncio.sleep(args.warmup_s)  # the published lesson's state models build
        started = time.perf_counter()
        tasks = [one_stream(http, base, headers, created.json()["id"], streams[i], args,
                            random.Random(args.seed + i), out) for i in range(args.streams)]
        results = await asyncio.gather(*tasks, return_exceptions=True)
    elapsed = time.perf_counter() - started
    out["errors"] += [type(r).__name__ for r in results if isinstance(r, BaseException)]
    return {
        "streams": args.streams,
        "turns": len(out["reply"]),
        "eos_to_final_p50_ms": round(percentile(out["final"], 50), 1),
        "eos_to_final_p95_ms": round(percentile(out["final"], 95), 1),
        "eos_to_reply_p50_ms": round(percentile(out["reply"], 50), 1),
        "eos_to_reply_p95_ms": round(percentile(out["reply"], 95), 1),
        "eos_to_reply_p99_ms": round(percentile(out["reply"], 99), 1),
        "eos_to_assessment_p50_ms": round(percentile(out["assessment"], 50), 1),
        "eos_to_assessment_p95_ms": round(percentile(out["assessment"], 95), 1),
        "errors": len(out["errors"]),
        "error_kinds": sorted(set(out["errors"]))[:5],
        "mode": args.mode,
        "candidates": args.candidates,
        "elapsed_s": round(elapsed, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--data", type=Path, required=True, help="Kaldi-style folder")
    parser.add_argument("--host", default=None, help="a running server (set PARLEY_ADMIN_KEY "
                        "to its admin key); default: start one")
    parser.add_argument("--turns", type=int, default=5, help="recordings per stream")
    parser.add_argument("--candidates", type=int, default=20, help="expected answers per state")
    parser.add_argument("--mode", choices=("ptt", "vad"), default="ptt")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--warmup-s", type=float, default=10.0,
                        help="wait after publishing the lesson")
    parser.add_argument("--no-pronunciation", dest="pronunciation", action="store_false",
                        help="do not wait for the assessment (a server that does not assess)")
    args = parser.parse_args()
    with server(args.host, {"PARLEY_ADMIN_KEY": ADMIN_KEY}) as (base, _pid):
        print(f"{args.streams} streams x {args.turns} recordings ({args.mode}) against {base}",
              flush=True)
        result = asyncio.run(run(base, args))
    report(result)


if __name__ == "__main__":
    main()

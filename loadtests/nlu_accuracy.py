"""HWU64 through the public API: train on folds 1-9, test on fold 10, out-of-scope too.

Two classifiers per run: one trained on all 64 intents (accuracy and macro F1 on
fold 10), and one trained without ``--holdout`` intents chosen with a fixed
seed, whose fold-10 utterances join the test set as out-of-scope examples (OOS
recall: how many come back out of scope; false-OOS rate: in-scope utterances
wrongly rejected). Everything goes through ``POST .../test``.

    python -m loadtests.nlu_accuracy [--algorithm fast|accurate] [--params JSON]
        [--holdout 8] [--host URL]

Last line: {"algorithm", "accuracy", "top1_accuracy", "macro_f1", "in_scope_accuracy",
"oos_recall", "false_oos_rate", "train_s", ...} (``accuracy`` counts an in-scope text
answered out of scope as wrong; ``top1_accuracy`` ignores the threshold)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from pathlib import Path

import httpx

from loadtests import nlu_client as nlu
from loadtests.harness import report, server


async def run(base: str, args: argparse.Namespace) -> dict:
    rows = nlu.read_hwu(args.data)
    intents = sorted({r["intent"] for r in rows})
    held = set(random.Random(args.seed).sample(intents, args.holdout)) if args.holdout else set()
    sample = [{"text": r["text"], "label": r["intent"], "fold": r["fold"]} for r in rows]
    train = [r for r in sample if r["fold"] != 10]
    test = [r for r in sample if r["fold"] == 10]
    out: dict = {"algorithm": args.algorithm, "params": args.params, "train_samples": len(train),
                 "test_samples": len(test), "holdout_intents": sorted(held)}
    async with httpx.AsyncClient(timeout=600) as http:
        headers = await nlu.tenant_headers(http, base, args.api_key, args.admin_key,
                                           f"hwu-{int(time.time())}")
        cid = await nlu.classifier(http, base, headers, "hwu64-all", args.algorithm, train,
                                   test, args.params)
        _, out["train_s"] = await nlu.train(http, base, headers, cid)
        all_report = (await http.post(f"{base}{nlu.BASE}/{cid}/test", json={},
                                      headers=headers)).json()
        out.update(accuracy=all_report["accuracy"], macro_f1=all_report["macro_f1"],
                   top1_accuracy=all_report["top1_accuracy"],
                   all_intents_false_oos=all_report["false_oos_rate"])
        if held:
            cid = await nlu.classifier(
                http, base, headers, "hwu64-holdout", args.algorithm,
                [r for r in train if r["label"] not in held], test, args.params)
            _, out["holdout_train_s"] = await nlu.train(http, base, headers, cid)
            oos = (await http.post(f"{base}{nlu.BASE}/{cid}/test", json={},
                                   headers=headers)).json()
            out.update(in_scope_accuracy=oos["in_scope_accuracy"],
                       oos_recall=oos["oos_recall"], false_oos_rate=oos["false_oos_rate"],
                       oos_samples=oos["oos_samples"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host")
    parser.add_argument("--api-key")
    parser.add_argument("--admin-key", default="bench-admin-key")
    parser.add_argument("--data", type=Path, default=nlu.default_hwu())
    parser.add_argument("--algorithm", default="fast", choices=["fast", "accurate"])
    parser.add_argument("--holdout", type=int, default=8, help="intents left out of training")
    parser.add_argument("--params", type=json.loads, default={},
                        help='hyper-parameters as JSON, e.g. \'{"encoder": "minilm"}\'')
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--serving", choices=["ray", "local"], default="local",
                        help="backend of our own server (local: one process, less memory)")
    args = parser.parse_args()
    env = {**nlu.own_server_env(), "PARLEY_SERVING": args.serving}
    with server(args.host, env) as (base, _pid):
        result = asyncio.run(run(base, args))
    report(result)


if __name__ == "__main__":
    main()

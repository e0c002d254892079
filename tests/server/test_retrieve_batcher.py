"""How concurrent single-text retrieves become model calls: how many at once, who waits.

The model tier is a gated recorder here (the batcher's only dependency is
``retrieve_text``): each call blocks until the test lets it finish, so the
order of arrivals and completions is exact. The real-model path is covered by
tests/server/test_lesson_classifier.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from server.retrieve_batcher import RetrieveBatcher
from serving.base import ModelNotFound


class GatedModels:
    """Answers each ``retrieve_text`` call when its gate opens; records what was asked."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.gates: list[asyncio.Event] = []
        self.fail: set[int] = set()  # call numbers that raise

    async def retrieve_text(self, model_id: str, texts: list[str],
                            top_k: int = 3) -> list[dict[str, Any]]:
        number = len(self.calls)
        self.calls.append(list(texts))
        gate = asyncio.Event()
        self.gates.append(gate)
        await gate.wait()
        if number in self.fail:
            raise ModelNotFound("text_classifier", model_id)
        return [{"text": t, "call": number, "top_k": top_k} for t in texts]

    def open(self, number: int) -> None:
        self.gates[number].set()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_lone_text_is_sent_at_once() -> None:
    models = GatedModels()
    batcher = RetrieveBatcher(models)
    task = asyncio.create_task(batcher.retrieve("m", "hello", 3))
    await settle()
    assert models.calls == [["hello"]]
    models.open(0)
    assert await task == {"text": "hello", "call": 0, "top_k": 3}
    await settle()
    assert not batcher._lanes  # an idle model id leaves nothing behind
    await batcher.close()


async def test_two_calls_in_flight_then_the_waiting_texts_share_the_next() -> None:
    models = GatedModels()
    batcher = RetrieveBatcher(models, in_flight=2)
    first = asyncio.create_task(batcher.retrieve("m", "a", 3))
    await settle()
    second = asyncio.create_task(batcher.retrieve("m", "b", 3))
    await settle()
    assert models.calls == [["a"], ["b"]]  # the second did not wait for the first
    later = [asyncio.create_task(batcher.retrieve("m", t, 3)) for t in ("c", "d", "e")]
    await settle()
    assert len(models.calls) == 2  # both busy: c, d, e queue
    models.open(1)
    assert (await second)["call"] == 1
    await settle()
    assert models.calls[2] == ["c", "d", "e"]  # one call for everything that queued
    models.open(0)
    models.open(2)
    assert [(await t)["call"] for t in later] == [2, 2, 2]
    assert (await first)["call"] == 0
    assert batcher.sizes == [1, 1, 3]
    await batcher.close()


async def test_one_in_flight_makes_everyone_else_wait() -> None:
    models = GatedModels()
    batcher = RetrieveBatcher(models, in_flight=1)
    first = asyncio.create_task(batcher.retrieve("m", "a", 3))
    await settle()
    rest = [asyncio.create_task(batcher.retrieve("m", t, 3)) for t in ("b", "c")]
    await settle()
    assert models.calls == [["a"]]
    models.open(0)
    await first
    await settle()
    assert models.calls == [["a"], ["b", "c"]]
    models.open(1)
    assert [(await t)["text"] for t in rest] == ["b", "c"]
    await batcher.close()


async def test_models_and_top_k_never_share_a_call() -> None:
    models = GatedModels()
    batcher = RetrieveBatcher(models, in_flight=1)
    tasks = [asyncio.create_task(batcher.retrieve(m, "x", k))
             for m, k in (("m1", 3), ("m2", 3), ("m1", 5))]
    await settle()
    assert len(models.calls) == 3
    for number in range(3):
        models.open(number)
    assert [(await t)["top_k"] for t in tasks] == [3, 3, 5]
    await batcher.close()


async def test_a_failed_call_fails_only_its_own_texts() -> None:
    models = GatedModels()
    models.fail = {0}
    batcher = RetrieveBatcher(models, in_flight=2)
    doomed = asyncio.create_task(batcher.retrieve("m", "a", 3))
    await settle()
    fine = asyncio.create_task(batcher.retrieve("m", "b", 3))
    await settle()
    models.open(0)
    models.open(1)
    with pytest.raises(ModelNotFound):
        await doomed
    assert (await fine)["text"] == "b"
    await batcher.close()


async def test_more_than_a_batch_goes_out_as_several_calls() -> None:
    models = GatedModels()
    batcher = RetrieveBatcher(models, max_batch=2, in_flight=2)
    tasks = [asyncio.create_task(batcher.retrieve("m", str(i), 3)) for i in range(5)]
    await settle()
    assert models.calls == [["0", "1"], ["2", "3"]]  # two at once, the fifth waits
    models.open(0)
    await settle()
    assert models.calls[2] == ["4"]
    models.open(1)
    models.open(2)
    assert [(await t)["text"] for t in tasks] == [str(i) for i in range(5)]
    await batcher.close()


async def test_cancelled_turns_are_not_sent_and_close_cancels_the_queue() -> None:
    models = GatedModels()
    batcher = RetrieveBatcher(models, in_flight=1)
    first = asyncio.create_task(batcher.retrieve("m", "a", 3))
    await settle()
    gone = asyncio.create_task(batcher.retrieve("m", "gone", 3))
    kept = asyncio.create_task(batcher.retrieve("m", "kept", 3))
    await settle()
    gone.cancel()
    models.open(0)
    await first
    await settle()
    assert models.calls[1] == ["kept"]
    stuck = asyncio.create_task(batcher.retrieve("m", "stuck", 3))
    await settle()
    await batcher.close()
    for task in (kept, stuck):
        with pytest.raises(asyncio.CancelledError):
            await task


def test_in_flight_must_be_positive() -> None:
    with pytest.raises(ValueError, match="in_flight"):
        RetrieveBatcher(GatedModels(), in_flight=0)

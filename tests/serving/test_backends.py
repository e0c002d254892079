"""The same cases against both backends: same inputs, same outputs, same errors.

Each test takes the ``backend`` fixture, parametrised over "local" (threads in
this process) and "ray" (a real local Ray Serve cluster, marked ``ray``).
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from serving.base import BadInput, ModelNotFound, ModelTimeout
from tests.serving.conftest import IMAGE_MODEL, LRU_MODELS, TEXT_MODEL, test_overrides


async def test_embed_rows_are_normalised_float32(backend):
    texts = ["Where is the gate?", "I would like a coffee, please.", ""]
    vectors = await backend.embed(texts)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    empty = await backend.embed([])
    assert empty.shape == (0, 384)


async def test_classify_text_generalises_to_held_out_utterances(backend, hwu_split):
    texts, labels = zip(*hwu_split["test"], strict=True)
    results = await backend.classify_text(TEXT_MODEL, list(texts), top_k=3)
    assert len(results) == len(texts)
    accuracy = np.mean([r[0][0] == y for r, y in zip(results, labels, strict=True)])
    assert accuracy >= 0.8, f"held-out accuracy {accuracy:.2f} on {len(texts)} utterances"


async def test_classify_text_top_k_is_sorted_probabilities(backend):
    results = await backend.classify_text(TEXT_MODEL, ["set an alarm for six"], top_k=2)
    (row,) = results
    assert len(row) == 2 and all(isinstance(label, str) for label, _ in row)
    assert row[0][1] >= row[1][1] and 0.0 <= sum(p for _, p in row) <= 1.0 + 1e-6
    assert row[0][0] == "alarm_set"


async def test_a_call_too_big_to_go_by_value_is_answered_the_same(backend):
    """Over 500,000 characters the ray backend sends by reference (a replica's gRPC
    server takes 4 MB a message); the answer must not depend on the route."""
    filler = " and then" * 2_200  # ~19,800 characters, cut by the encoder's 256 tokens
    texts = ["set an alarm for six" + filler] * 26 + ["set an alarm for six"]
    assert sum(map(len, texts)) > 500_000
    big = await backend.classify_text(TEXT_MODEL, texts, top_k=1)
    small = await backend.classify_text(TEXT_MODEL, texts[:1], top_k=1)
    assert len(big) == 27 and big[0][0][0] == small[0][0][0]
    assert big[0][0][1] == pytest.approx(small[0][0][1], abs=1e-4)
    assert big[-1][0][0] == "alarm_set"


async def test_unknown_model_is_not_found(backend):
    with pytest.raises(ModelNotFound) as info:
        await backend.classify_text("nobody/intents/v9", ["hello"])
    assert info.value.status == 404 and info.value.code == "model_not_found"
    assert info.value.model_id == "nobody/intents/v9"
    with pytest.raises(ModelNotFound):
        await backend.classify_image([b"\x89PNG"], model_id="nobody/clothes/v1")


@pytest.mark.parametrize("model_id", ["../etc/passwd", "/abs/path", "a/../../b", "x y", ""])
async def test_unsafe_model_id_is_bad_input(backend, model_id):
    with pytest.raises(BadInput) as info:
        await backend.classify_text(model_id, ["hello"])
    assert info.value.status == 400 and info.value.code == "bad_model_id"


async def test_bad_image_bytes_are_bad_input(backend, photos):
    good = photos["validation"][0][0]
    for bad in (b"not an image at all", good[: len(good) // 50], b""):
        with pytest.raises(BadInput) as info:
            await backend.classify_image([good, bad])
        assert info.value.status == 400 and info.value.code == "bad_image"
        assert "images[1]" in info.value.detail


async def test_bad_arguments_are_bad_input(backend):
    with pytest.raises(BadInput):
        await backend.embed("a string, not a list")  # type: ignore[arg-type]
    with pytest.raises(BadInput):
        await backend.classify_text(TEXT_MODEL, ["hi"], top_k=0)


async def test_classify_image_returns_imagenet_top_k(backend, photos):
    images = [data for data, _ in photos["validation"][::4]]
    results = await backend.classify_image(images, top_k=3)
    assert len(results) == len(images)
    for row in results:
        assert len(row) == 3 and [p for _, p in row] == sorted((p for _, p in row), reverse=True)
        assert 0.0 < sum(p for _, p in row) <= 1.0 + 1e-6
        assert all(isinstance(label, str) and label for label, _ in row)


async def test_image_tenant_head_classifies_clothes(backend, photos):
    images, labels = zip(*photos["validation"], strict=True)
    results = await backend.classify_image(list(images), model_id=IMAGE_MODEL, top_k=2)
    accuracy = np.mean([r[0][0] == y for r, y in zip(results, labels, strict=True)])
    assert accuracy >= 0.75, f"accuracy {accuracy:.2f} on {len(labels)} photos"


async def test_concurrent_calls_are_batched(backend):
    await asyncio.gather(*(backend.embed([f"sentence number {i}"]) for i in range(16)))
    sizes = (await backend.stats())["embeddings"]["batch_sizes"]
    assert max(sizes) > 1, f"no batch formed: {sizes[-16:]}"


async def test_tenant_models_are_lru_evicted_and_reloaded(backend):
    """max_models_per_replica is 2 in the test config; three tenants take turns."""
    before = (await backend.stats())["text_classifier"]["loads"]
    for model_id in LRU_MODELS:
        await backend.classify_text(model_id, ["play some jazz"])
    stats = (await backend.stats())["text_classifier"]
    assert stats["loaded"][-2:] == LRU_MODELS[1:] and LRU_MODELS[0] not in stats["loaded"]
    await backend.classify_text(LRU_MODELS[0], ["play some jazz"])
    stats = (await backend.stats())["text_classifier"]
    assert stats["loaded"][-1] == LRU_MODELS[0] and len(stats["loaded"]) <= 2
    assert stats["loads"][LRU_MODELS[0]] - before.get(LRU_MODELS[0], 0) == 2


async def test_observer_sees_every_call(backend, serving_config):
    from serving import create_models

    seen: list[tuple[str, str, float]] = []
    saved = backend._observe
    backend._observe = lambda model, status, seconds: seen.append((model, status, seconds))
    try:
        await backend.embed(["hello"])
        with pytest.raises(ModelNotFound):
            await backend.classify_text("nobody/x/v1", ["hi"])
        with pytest.raises(BadInput):
            await backend.classify_image([b"junk"])
    finally:
        backend._observe = saved
    assert [(m, s) for m, s, _ in seen] == [("embeddings", "ok"),
                                            ("text_classifier", "model_not_found"),
                                            ("image_classifier", "bad_image")]
    assert all(seconds > 0 for _, _, seconds in seen)
    assert create_models(backend.backend, config=serving_config).backend == backend.backend


async def test_health_reports_every_family(backend):
    health = await backend.health()
    assert health == {"embeddings": "ok", "text_classifier": "ok", "image_classifier": "ok",
                      "tts": "ok", "asr": "ok", "pronunciation": "ok"}


async def test_deadline_raises_model_timeout(backend, artefact_root):
    from serving import create_models
    from serving.config import load_config

    overrides = test_overrides(artefact_root)
    overrides["families"]["embeddings"]["timeout_s"] = 0.001
    hurried = create_models(backend.backend, config=load_config(overrides=overrides, environ={}))
    if backend.backend == "ray":
        await hurried.start()  # attaches to the running application
    try:
        with pytest.raises(ModelTimeout) as info:
            await hurried.embed([f"a rather long sentence number {i}" for i in range(64)])
        assert info.value.status == 504 and info.value.code == "model_timeout"
    finally:
        await hurried.close()
    assert len(await backend.embed(["still fine"])) == 1  # the shared client is unaffected


async def test_synthesize_speaks_a_line_as_wav_and_caches_it(backend):
    import io
    import wave

    line = "Welcome to the United Kingdom. May I see your passport, please?"
    audio = await backend.synthesize(line, voice="en-gb")
    with wave.open(io.BytesIO(audio)) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        seconds = w.getnframes() / w.getframerate()
    assert 0.04 * len(line) < seconds < 0.2 * len(line)
    before = (await backend.stats())["tts"]
    again = await backend.synthesize(line, voice="en-gb")
    after = (await backend.stats())["tts"]
    assert again == audio and after["cache_hits"] == before["cache_hits"] + 1


async def test_synthesize_bad_requests_are_bad_input(backend):
    with pytest.raises(BadInput) as info:
        await backend.synthesize("Hello.", voice="klingon")
    assert info.value.status == 400 and info.value.code == "unknown_voice"
    with pytest.raises(BadInput):
        await backend.synthesize("   ")


def _learner(utt_id: str) -> bytes:
    from speech.eval.data import DataDir, read_wav
    from tests.helpers import SHARED_DATA

    corpus = SHARED_DATA / "speechocean762-train-subset"
    if not (corpus / "wav.scp").is_file():
        pytest.skip(f"speechocean762 subset not found at {corpus}")
    utt = next(u for u in DataDir.load(corpus).utterances if u.id == utt_id)
    return read_wav(utt.wav).tobytes()


async def test_assess_pronunciation_scores_phones_and_finds_miscues(backend):
    pcm = _learner("000060082")  # "Kate likes lamb."
    said = await backend.assess_pronunciation(pcm, "Kate likes lamb.", "kate likes lamb")
    assert [w["word"] for w in said["words"]] == ["kate", "likes", "lamb"]
    assert [p["phone"] for p in said["words"][0]["phones"]] == ["K", "EY", "T"]
    assert said["scores"]["completeness"] == 100 and not said["miscues"]
    other = await backend.assess_pronunciation(pcm, "Where is the station?", "kate likes lamb")
    assert other["scores"]["overall"] < said["scores"]["overall"]
    assert {m["type"] for m in other["miscues"]} >= {"omission"}
    assert (await backend.stats())["pronunciation"]["assessed"] >= 2


async def test_assess_pronunciation_bad_requests_are_bad_input(backend):
    for pcm, reference, code in [(b"\x00" * 3, "hello", "bad_audio"),
                                 (b"\x00" * 32000, "  ", "bad_reference"),
                                 (b"\x00" * 32000, "x" * 600, "bad_reference"),
                                 (b"\x00" * 100, "hello", "bad_audio")]:
        with pytest.raises(BadInput) as info:
            await backend.assess_pronunciation(pcm, reference)
        assert info.value.code == code and 400 <= info.value.status < 500


async def test_recognize_hears_a_learner_with_the_state_model(backend):
    from speech.eval.data import DataDir, read_wav
    from tests.helpers import SHARED_DATA

    corpus = SHARED_DATA / "speechocean762-train-subset"
    if not (corpus / "wav.scp").is_file():
        pytest.skip(f"speechocean762 subset not found at {corpus}")
    utt = next(u for u in DataDir.load(corpus).utterances if u.id == "000060082")
    pcm = read_wav(utt.wav).tobytes()
    sentences = ["Kate likes lamb.", "I would like a coffee, please.", "Where is the station?"]
    heard = await backend.recognize(pcm, sentences)
    assert heard["text"] == "kate likes lamb" and heard["expected"], heard
    assert [w["word"] for w in heard["words"]] == ["kate", "likes", "lamb"]
    partial = await backend.recognize(pcm[: len(pcm) // 2], sentences, partial=True)
    assert partial["partial"] and isinstance(partial["text"], str)
    other = await backend.recognize(pcm, ["I would like a coffee, please.", "No, thank you."])
    assert not other["expected"] and other["text"] not in ("no thank you",
                                                            "i would like a coffee please")
    assert (await backend.stats())["asr"]["final"] >= 2


async def test_recognize_bad_requests_are_bad_input(backend):
    for pcm, sentences in ((b"\x00" * 3, None), (b"\x00" * 3200, "not a list"),
                           (b"\x00" * 3200, ["x" * 600])):
        with pytest.raises(BadInput) as info:
            await backend.recognize(pcm, sentences)
        assert info.value.status == 400


async def test_recognize_stream_decodes_as_audio_arrives(backend):
    import uuid

    from speech.eval.data import DataDir, read_wav
    from tests.helpers import SHARED_DATA

    corpus = SHARED_DATA / "speechocean762-train-subset"
    if not (corpus / "wav.scp").is_file():
        pytest.skip(f"speechocean762 subset not found at {corpus}")
    utt = next(u for u in DataDir.load(corpus).utterances if u.id == "000060082")
    pcm = read_wav(utt.wav)
    sentences = ["Kate likes lamb.", "I would like a coffee, please.", "Where is the station?"]
    stream_id, sent, partials = uuid.uuid4().hex, 0, []
    for i in range(0, len(pcm) - 4800, 4800):  # 300 ms chunks, as the web tier sends them
        out = await backend.recognize_stream(stream_id, pcm[i:i + 4800].tobytes(), sentences,
                                             sent)
        partials.append(out["text"])
        sent += 4800
    final = await backend.recognize_stream(stream_id, pcm[sent:].tobytes(), sentences, sent,
                                           end=True)
    assert final["text"] == "kate likes lamb" and final["expected"], final
    assert any(partials) and final["words"][-1]["end"] <= len(pcm) / 16000 + 0.05
    with pytest.raises(BadInput) as info:  # a chunk the replica cannot place: start over
        await backend.recognize_stream(uuid.uuid4().hex, pcm[:4800].tobytes(), sentences, 9600)
    assert info.value.code == "stream_lost"


async def test_train_text_classifier_streams_progress_then_retrieves(backend, hwu_split):
    """A version is trained in the model tier, its progress streamed, then answered from."""
    import uuid

    texts, labels = zip(*hwu_split["train"], strict=True)
    model_id = f"t-{backend.backend}/trained/{uuid.uuid4().hex[:8]}"
    spec = {"model_id": model_id, "algorithm": "fast", "params": {"epochs": 10},
            "texts": list(texts), "labels": list(labels), "oos_rate": 0.05}
    events = [event async for event in backend.train_text_classifier(spec)]
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress) and len(events) >= 3
    assert {"embedding", "training"} <= {e["stage"] for e in events}
    result = events[-1]["result"]
    assert sorted(result["labels"]) == sorted(set(labels)) and 0 < result["threshold"] < 1
    assert result["train_samples"] == len(texts) and len(result["data_hash"]) == 64
    test_texts, test_labels = zip(*hwu_split["test"], strict=True)
    rows = await backend.retrieve_text(model_id, list(test_texts), top_k=2, threshold=0.0)
    accuracy = np.mean([r["label"] == y for r, y in zip(rows, test_labels, strict=True)])
    assert accuracy >= 0.75 and all(len(r["labels"]) == 2 for r in rows)
    # the same model id is immutable: a second training to it fails, nothing overwritten
    with pytest.raises(Exception, match="exists"):
        async for _ in backend.train_text_classifier(spec):
            pass


async def test_train_text_classifier_refuses_bad_specs(backend):
    from nlu.errors import BadTrainingData, NoTrainingData

    base = {"model_id": "t/bad/v1", "algorithm": "fast", "params": {}, "oos_rate": 0.05}
    with pytest.raises(NoTrainingData):
        async for _ in backend.train_text_classifier(
                {**base, "texts": ["a", "b"], "labels": ["x", "x"]}):
            pass
    with pytest.raises(BadTrainingData):
        async for _ in backend.train_text_classifier(
                {**base, "texts": ["a", "b"], "labels": ["x", "y"], "params": {"nope": 1}}):
            pass
    with pytest.raises(BadInput):
        async for _ in backend.train_text_classifier({**base, "texts": "a", "labels": []}):
            pass
    with pytest.raises(ModelNotFound):
        await backend.retrieve_text("t/never/trained", ["hello"])

"""MiniLM in ONNX Runtime, driven directly: tokenise, run, mean-pool, normalise.

Why not sentence-transformers' own ONNX backend: measured here on 512 HWU64
sentences (one thread), it adds about 2 ms to every call (optimum's torch and
numpy conversions), as much as the int8 model takes for a sentence. This is the
same computation (the pooling of all-MiniLM-L6-v2: masked mean, then L2), with
sentences sorted by length and run ``SUB_BATCH`` at a time so little of a batch
is padding: fp32 went from 5.1 to 3.1 ms a sentence in batches of 64.

The int8 model is ONNX Runtime's dynamic quantisation of the fp32 export
(weights per channel), made once into the model cache. Its activations are
scaled per *tensor*, so in a batch a sentence's vector depends on its batch-mates
and their padding (cosine 0.97-1.0 to the same sentence alone): the int8 model
therefore runs one sentence at a time (``per_sentence``), so a text always gets
the same vector, whatever else was asked with it. Measured on 1,024 HWU64
sentences, one thread: 2.0 ms a sentence (1.2 when batched, 3.0 for fp32
batched, 5.0 for fp32 one at a time), embeddings at cosine 0.99 to fp32's
(mean; minimum 0.97). Static quantisation, which would batch, kept only cosine
0.82 (calibrated on the shipped emotion messages).
"""

from __future__ import annotations

import json
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

__all__ = ["SUB_BATCH", "OnnxSentenceModel", "quantized_copy"]

SUB_BATCH = 16


class OnnxSentenceModel:
    """L2-normalised mean-pooled sentence embeddings from an ONNX transformer export."""

    def __init__(self, folder: Path, model_file: Path, threads: int,
                 per_sentence: bool = False) -> None:
        """``threads``: ONNX Runtime's intra-op threads, or with ``per_sentence`` how many
        sentences run at once (one thread each: a 10-token sentence gained nothing from a
        second intra-op thread, which is woken for each of the graph's nodes)."""
        import onnxruntime as ort
        from tokenizers import Tokenizer

        config = json.loads((folder / "sentence_bert_config.json").read_text())
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(int(config.get("max_seq_length", 256)))
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1 if per_sentence else threads
        options.inter_op_num_threads = 1
        # idle pool threads sleep rather than spin: a spinning one takes a core from the
        # event loop (retrieve at 200/s on 2 cores: p50 135 -> 16 ms, p95 466 -> 34 ms)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(model_file), options,
                                            providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self.session.get_inputs()}
        self.dim = int(self.session.get_outputs()[0].shape[-1])
        self._sub_batch = 1 if per_sentence else SUB_BATCH
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="onnx-sentence") if (
            per_sentence and threads > 1) else None

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        if not texts:
            return out
        ids = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        order = np.argsort([len(x) for x in ids], kind="stable")
        groups = [order[i:i + self._sub_batch] for i in range(0, len(order), self._sub_batch)]
        if self._pool is not None and len(groups) > 1:  # the session runs them concurrently
            vectors = list(self._pool.map(lambda rows: self._run(ids, rows), groups))
        else:
            vectors = [self._run(ids, rows) for rows in groups]
        for rows, rows_out in zip(groups, vectors, strict=True):
            out[rows] = rows_out
        return out

    def _run(self, ids: list[list[int]], rows: np.ndarray) -> np.ndarray:
        width = max(len(ids[i]) for i in rows)
        tokens = np.zeros((len(rows), width), np.int64)
        mask = np.zeros((len(rows), width), np.int64)
        for j, i in enumerate(rows):
            tokens[j, :len(ids[i])] = ids[i]
            mask[j, :len(ids[i])] = 1
        feed = {"input_ids": tokens, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(tokens)
        hidden = self.session.run(None, feed)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / weights.sum(axis=1).clip(1e-9)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True).clip(1e-12)


def quantized_copy(model_file: Path) -> Path:
    """The int8 dynamic quantisation of ``model_file``, written beside it once (atomically:
    replicas that start together never read a half-written file)."""
    target = model_file.parent.parent / "int8" / "model.onnx"
    if target.exists():
        return target
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".quantize-", suffix=".onnx", dir=target.parent)
    os.close(fd)
    try:
        quantize_dynamic(str(model_file), tmp, weight_type=QuantType.QInt8, per_channel=True)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return target

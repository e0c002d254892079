"""The default recogniser: pocketsphinx 5.1.1 with the US-English model shipped in its wheel.

With a state LM the final pass decodes the whole utterance with a grammar of
the state's sentences (wide beams), then verifies the winner acoustically: the
grammar must have reached its final state, and every word's acoustic score per
frame — normalised by pocketsphinx against the best senone of each frame
(``compallsen``, on for this pass only) — must stay above ``accept_score`` and
their mean above ``accept_mean``. A rejected utterance is
decoded again with the state's open path (its sentences interpolated with the
background unigrams), so a learner who says something unexpected gets what
they said, not the nearest expected answer. Without a state LM the shipped
trigram LM is used (the "general" path; weak on learners' speech).

Features are warped (``inverse_linear``, factor ``warp``) before the acoustic
model: the adult US model fits these learners — many of them children — much
better with 1.45 (in-state exact sentences 89 % → 96 % on 100 utterances).
The final pass normalises cepstra over the whole utterance (``full_utt``);
live normalisation lost 9 points there, so partial results come from a second,
narrower-beam decoder run on the chunks as they arrive.

Each open stream owns its decoders (pocketsphinx decoders are not thread-safe);
idle decoders are pooled per model and reused, so a recogniser may be shared by
threads.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable
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
    empty_result,
)
from speech.errors import SpeechUnavailable
from speech.lm.base import StateLM
from speech.lm.cache import BuiltStateLM, build_state_lm
from speech.lm.grammar import fsg_transitions

__all__ = ["OPEN_WHEN", "SENSCR_SHIFT", "PocketSphinxRecognizer"]

FRAME_RATE = 100  # pocketsphinx frames per second
_WIDE = {"beam": 1e-80, "wbeam": 1e-60, "pbeam": 1e-80}
SENSCR_SHIFT = 10  # pocketsphinx keeps senone scores shifted right by this many bits
OPEN_WHEN = ("doubtful", "always")  # when a stream runs its open pass


def _ps() -> Any:
    try:
        import pocketsphinx
    except ImportError as exc:  # pragma: no cover - pocketsphinx is a core dependency
        raise SpeechUnavailable("pocketsphinx is not installed (pip install pocketsphinx)") from exc
    return pocketsphinx


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, x))))


def _word(token: str) -> str:
    return token.split("(")[0]


def _filler(token: str) -> bool:
    """Silence and noise tokens (``<sil>``, ``[NOISE]``, ``+SPN+``…), never words."""
    return token[:1] in "<[+"


class _Pool:
    """Idle decoders by model key, at most ``max_idle`` in all (least recently used go first).

    A decoder is checked out by one stream at a time, so no two threads ever share one.
    """

    def __init__(self, max_idle: int = 48) -> None:
        self._idle: list[tuple[tuple, Any]] = []
        self._lock = threading.Lock()
        self._max_idle = max_idle

    def get(self, key: tuple, make: Callable[[], Any]) -> Any:
        with self._lock:
            for i in range(len(self._idle) - 1, -1, -1):
                if self._idle[i][0] == key:
                    return self._idle.pop(i)[1]
        return make()

    def put(self, key: tuple, decoder: Any) -> None:
        with self._lock:
            self._idle.append((key, decoder))
            del self._idle[: max(0, len(self._idle) - self._max_idle)]


class PocketSphinxRecognizer(Recognizer):
    """pocketsphinx recogniser driven by per-state language models (see module docstring).

    A grammar result is accepted when every word's per-frame acoustic score
    (pocketsphinx's normalised units, ln) exceeds ``accept_score`` and their mean
    exceeds ``accept_mean``. Both were chosen on the even-numbered speakers of the
    speechocean762 subset (96 in-state and 95 out-of-state utterances, K=20): the
    pair accepted 77 % of true sentences and 10 % of wrong ones, against 80 % / 22 %
    for the worst-word rule alone at -10. ``score_scale`` spreads confidences around
    the thresholds (0.5 at a threshold).

    ``bestpath`` runs pocketsphinx's lattice best-path search after the grammar
    pass. Off by default: on a grammar with wide beams the lattice search alone
    took up to 2 s after the end of speech, and the search's own backtrace gives
    the same words. With the same thresholds, all 625 utterances at K=20 went
    from state-LM WER 0.248 to 0.196 and right candidate 0.805 to 0.848, false
    accepts from 3.8 % to 8.3 % (README, Speech recognition).

    ``open_when``: when a stream's open pass runs. ``"always"``: beside the grammar
    pass from the first chunk. ``"doubtful"`` (default): only once the grammar
    pass so far fails the verification (:meth:`_doubtful`), catching up on the
    chunks it missed, or after the end of speech when the final grammar result is
    rejected; the results are the same, the open pass (more than half of a
    stream's CPU) is skipped for most accepted utterances (README).
    """

    name = "pocketsphinx"

    def __init__(
        self,
        warp: float = 1.45,
        accept_score: float = -12.0,
        accept_mean: float = -6.75,
        score_scale: float = 1.0,
        cache_dir: Any = None,
        partial_every_s: float = 0.2,
        bestpath: bool = False,
        open_when: str = "doubtful",
    ) -> None:
        if open_when not in OPEN_WHEN:
            raise ValueError(f"open_when must be one of {', '.join(OPEN_WHEN)}")
        self.warp = warp
        self.bestpath = bestpath
        self.open_when = open_when
        # streams started; of them, those whose open pass ran live / after the end of speech
        self.counts = {"streams": 0, "open_live": 0, "open_after": 0}
        self.accept_score = accept_score
        self.accept_mean = accept_mean
        self.score_scale = score_scale
        self.cache_dir = cache_dir
        self.partial_every_s = partial_every_s
        self._pool = _Pool()
        self._built: dict[str, BuiltStateLM] = {}
        self._lock = threading.Lock()

    # -- models -------------------------------------------------------------------------------

    def prepare(self, lm: StateLM) -> None:
        """Build the state's files and pool its final-pass decoders (~0.3 s each to create)."""
        built = self._build(lm)
        for kind in ("grammar", "open", "open-live"):
            key, decoder = self._decoder(built, kind)
            self._release(key, decoder)

    def _build(self, lm: StateLM) -> BuiltStateLM:
        with self._lock:
            built = self._built.get(lm.key)
        if built is None:
            built = build_state_lm(lm, self.cache_dir)
            with self._lock:
                self._built[lm.key] = built
                while len(self._built) > 4096:  # a long-running server sees many states
                    self._built.pop(next(iter(self._built)))
        return built

    def _config(self, **extra: Any) -> dict[str, Any]:
        config: dict[str, Any] = {"loglevel": "FATAL"}
        if self.warp != 1.0:
            config.update(warp_type="inverse_linear", warp_params=f"{self.warp:g}")
        config.update(extra)
        return config

    def _state_decoder(self, built: BuiltStateLM, kind: str) -> Any:
        """``kind``: "grammar" (wide beams), "live" (grammar, default beams), "open" (n-gram)
        or "open-live" (n-gram, one pass: a stream ends it without a second search)."""
        ps = _ps()
        # only the grammar pass needs every senone scored (its verification normalises
        # by the best one); without it partials run 3x and the open pass 1.7x faster
        extra = ({**_WIDE, "compallsen": True, "bestpath": self.bestpath}
                 if kind == "grammar" else {})
        if kind == "open-live":  # no second pass at the end (190 -> 5 ms; WER 0.70 -> 0.74)
            extra = {"fwdflat": False}
        dec = ps.Decoder(lm=None, dict=str(built.dictionary), **self._config(**extra))
        if kind.startswith("open"):
            dec.add_lm("s", ps.NGramModel(dec.config, dec.get_logmath(), str(built.arpa)))
        else:
            start, final, transitions = fsg_transitions(built.spec.sentences)
            dec.add_fsg("s", dec.create_fsg("s", start, final, transitions))
        dec.activate_search("s")
        return dec

    def _general_decoder(self) -> Any:
        return _ps().Decoder(**self._config())

    def _decoder(self, built: BuiltStateLM | None, kind: str) -> tuple[tuple, Any]:
        if built is None:
            key: tuple = ("general",)
            return key, self._pool.get(key, self._general_decoder)
        key = (built.spec.key, kind)
        return key, self._pool.get(key, lambda: self._state_decoder(built, kind))

    def _release(self, key: tuple, decoder: Any) -> None:
        self._pool.put(key, decoder)

    def _shifted(self, kind: str) -> bool:
        return kind == "grammar" and not self.bestpath

    # -- streams ------------------------------------------------------------------------------

    def start(self, lm: StateLM | None = None, partials: bool = True) -> RecognitionStream:
        built = self._build(lm) if lm is not None else None
        return _Stream(self, built, partials)

    # -- decoding -----------------------------------------------------------------------------

    def _decode(self, built: BuiltStateLM | None, kind: str, pcm: np.ndarray,
                sizes: list[int] | None = None) -> tuple[Any, list]:
        """A whole-utterance pass, or with ``sizes`` the chunks as a stream fed them
        (live cepstral mean: the same result as feeding them while they arrived)."""
        key, dec = self._decoder(built, kind)
        try:
            dec.start_utt()
            if sizes is None:
                dec.process_raw(pcm.tobytes(), full_utt=True)
            else:
                _feed(dec, pcm, sizes)
            dec.end_utt()
            return _read(dec, self._shifted(kind))
        finally:
            self._release(key, dec)

    def _doubtful(self, segs: list, frames: int) -> bool:
        """Whether the grammar pass so far already fails the final verification.

        Only words that ended 0.3 s or more ago count, the last one not at all: the
        search still moves recent boundaries. On 150 utterances (100 in-state,
        K=20) this fired on 69 of the 70 that the final verification rejected (by
        a median of 2.0 s before the end of speech) and on 34 of the 80 it accepted.
        """
        words = [seg for seg in segs if not _filler(seg[0])][:-1]
        settled = [_per_frame(seg) for seg in words if seg[2] < frames - 30]
        return bool(settled) and self._rejects(settled)

    def _rejects(self, scores: list[float]) -> bool:
        """The verification's rule on words' per-frame scores: the worst or the mean too low."""
        return min(scores) <= self.accept_score or sum(scores) / len(scores) <= self.accept_mean

    def _final(self, built: BuiltStateLM | None, pcm: np.ndarray,
               grammar: tuple[Any, list] | None = None,
               open_: Callable[[], tuple[Any, list]] | None = None) -> Recognition:
        """The final result; a stream passes the passes it already ran as audio arrived."""
        seconds = len(pcm) / SAMPLE_RATE
        if built is None:
            hyp, segs = self._decode(None, "general", pcm)
            return self._posterior_result(hyp, segs, "general", seconds)
        hyp, segs = grammar or self._decode(built, "grammar", pcm)
        accepted = self._verify(built, hyp, segs)
        if accepted is not None:
            return Recognition(accepted[0], accepted[1], accepted[2], "grammar", seconds)
        hyp, segs = open_() if open_ is not None else self._decode(built, "open", pcm)
        return self._posterior_result(hyp, segs, "open", seconds)

    def _verify(
        self, built: BuiltStateLM, hyp: Any, segs: list
    ) -> tuple[str, tuple[Word, ...], float] | None:
        """The grammar result when it is a whole expected sentence that scores well enough."""
        words = [s for s in segs if not _filler(s[0])]
        text = " ".join(_word(s[0]) for s in words)
        if hyp is None or not words or text not in built.spec.sentences:
            return None
        scores = [_per_frame(seg) for seg in words]
        if self._rejects(scores):
            return None
        out = tuple(Word(_word(token), start / FRAME_RATE, (end + 1) / FRAME_RATE,
                         _sigmoid((score - self.accept_score) / self.score_scale))
                    for (token, start, end, _a, _p), score in zip(words, scores, strict=True))
        mean = sum(scores) / len(scores)  # per word
        return text, out, _sigmoid((mean - self.accept_mean) / self.score_scale)

    @staticmethod
    def _posterior_result(hyp: Any, segs: list, path: Any, seconds: float) -> Recognition:
        words = tuple(
            Word(_word(tok), start / FRAME_RATE, (end + 1) / FRAME_RATE,
                 float(min(1.0, max(0.0, prob))))
            for tok, start, end, _a, prob in segs
            if not _filler(tok)
        )
        text = " ".join(w.word for w in words)
        conf = float(np.mean([w.confidence for w in words])) if words else 0.0
        return Recognition(text, words, conf, path, seconds)


def _per_frame(seg: tuple) -> float:
    """A word segment's acoustic score per frame (ln units)."""
    _token, start, end, ascore, _prob = seg
    return ascore / max(1, end - start + 1)


def _feed(dec: Any, pcm: np.ndarray, sizes: list[int]) -> None:
    """``pcm`` into a started decoder in chunks of ``sizes`` samples."""
    offset = 0
    for size in sizes:
        dec.process_raw(pcm[offset:offset + size].tobytes())
        offset += size


def _read(dec: Any, shifted: bool = False) -> tuple[Any, list]:
    """A finished utterance's hypothesis and word segments (acoustic scores in ln units).

    ``shifted``: the segments come from the search's own backtrace (no best-path
    pass), whose acoustic scores pocketsphinx keeps shifted right by 10 bits.
    """
    logmath = dec.get_logmath()
    scale = float(1 << SENSCR_SHIFT) if shifted else 1.0
    segs = [(s.word, s.start_frame, s.end_frame,
             scale * logmath.log_to_ln(logmath.log(s.ascore)), s.prob)
            for s in dec.seg() or []]
    return dec.hyp(), segs


class _Stream(BufferedStream):
    """One utterance. With a state LM and partials, the grammar pass runs as audio arrives.

    The incremental passes normalise cepstra with a running mean instead of the
    whole utterance's; on 40 utterances of the tuning half the grammar pass found
    and accepted exactly as many true sentences (33 and 29). The open pass runs
    without its second (fwdflat) pass, ~0.1 s of CPU per second of speech, so a
    rejected result is ready soon after an accepted one (open-pass WER 0.74
    instead of 0.70 on 30 tuning utterances). With the owner's ``open_when``
    "doubtful" it starts only when the grammar pass looks rejected, fed the
    chunks so far first, in the sizes they came (``_sizes``).
    """

    def __init__(
        self, owner: PocketSphinxRecognizer, built: BuiltStateLM | None, partials: bool
    ) -> None:
        super().__init__()
        self._owner = owner
        self._built = built
        self._since_partial = 0
        self._live: tuple[tuple, Any] | None = None
        self._open: tuple[tuple, Any] | None = None
        self._sizes: list[int] = []
        self._incremental = partials and built is not None
        owner.counts["streams"] += 1
        if partials:
            self._live = owner._decoder(built, "grammar" if self._incremental else "live")
            self._live[1].start_utt()
        if self._incremental and owner.open_when == "always":
            self._start_open()

    def _start_open(self) -> None:
        """The open pass from here on, after the chunks fed so far."""
        self._owner.counts["open_live"] += 1
        self._open = self._owner._decoder(self._built, "open-live")
        self._open[1].start_utt()
        _feed(self._open[1], self._audio(), self._sizes)

    def feed(self, pcm: np.ndarray) -> str | None:
        data = self._take(pcm)
        if not len(data):
            return self._partial
        if self._open is not None:
            self._open[1].process_raw(data.tobytes())
        self._sizes.append(len(data))
        if self._live is not None:
            dec = self._live[1]
            dec.process_raw(data.tobytes())
            self._since_partial += len(data)
            if self._since_partial >= self._owner.partial_every_s * SAMPLE_RATE:
                self._since_partial = 0
                doubt = self._incremental and self._open is None  # the open pass may start
                hyp, segs = _read(dec, shifted=True) if doubt else (dec.hyp(), [])
                words = [_word(w) for w in (hyp.hypstr.split() if hyp else [])]
                text = " ".join(w for w in words if not _filler(w))
                self._partial = text or None
                frames = self._samples // (SAMPLE_RATE // FRAME_RATE)
                if doubt and self._owner._doubtful(segs, frames):
                    self._start_open()
        return self._partial

    def finish(self) -> Recognition:
        self._check_open()
        pcm, sizes = self._audio(), self._sizes
        grammar = opened = None
        if self._incremental and len(pcm) >= MIN_UTTERANCE_SAMPLES:
            grammar, opened = self._end("_live"), self._end("_open")
        self.close()
        if len(pcm) < MIN_UTTERANCE_SAMPLES:
            return empty_result(self._built.spec if self._built else None, len(pcm))
        if not self._incremental:
            return self._owner._final(self._built, pcm)
        return self._owner._final(self._built, pcm, grammar,
                                  (lambda: opened) if opened is not None else
                                  (lambda: self._open_after(pcm, sizes)))

    def _open_after(self, pcm: np.ndarray, sizes: list[int]) -> tuple[Any, list]:
        """The open pass the grammar pass never doubted, now that it was rejected."""
        self._owner.counts["open_after"] += 1
        return self._owner._decode(self._built, "open-live", pcm, sizes)

    def _end(self, slot: str) -> tuple[Any, list] | None:
        """End one live pass and read it; its decoder goes back to the pool."""
        held = getattr(self, slot)
        if held is None:
            return None
        setattr(self, slot, None)
        key, dec = held
        try:
            dec.end_utt()
            return _read(dec, self._owner._shifted(key[-1]))
        finally:
            self._owner._release(key, dec)

    def close(self) -> None:
        if self._closed:
            return
        super().close()
        for slot in ("_live", "_open"):
            held = getattr(self, slot)
            if held is not None:
                setattr(self, slot, None)
                key, dec = held
                with contextlib.suppress(RuntimeError):  # nothing was in progress
                    dec.end_utt()
                self._owner._release(key, dec)

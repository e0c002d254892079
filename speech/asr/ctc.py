"""The ``ctc`` recogniser: a wav2vec2-family CTC model from a local checkpoint + beam search.

Meant for GPU serving: the acoustic model runs on CUDA when there is one (CPU
otherwise) and :meth:`CtcRecognizer.recognize_batch` runs it once on a padded
batch. Decoding is flashlight's CTC beam search (``torchaudio``'s
``ctc_decoder``, pip package ``flashlight-text``) on the CPU.

Language models. With a state LM the decoder uses the state's ``open.arpa``
(:func:`speech.lm.build_state_lm`: its sentences mixed with background words)
and a lexicon of that ARPA's vocabulary. The model outputs characters, so the
lexicon spells each word with the model's tokens plus the word delimiter
(``coffee c o f f e e |``, upper-cased when the model's letters are) — phonetic
pronunciations mean nothing to it; words it cannot spell are left out. The
lexicon is written once next to the state's model (``ctc-lexicon-<tokens hash>.txt``).
Without a state LM the ``general_lm`` option (ARPA, or KenLM binary with
``general_lexicon``) is used when configured, else lexicon-free best-path decoding.

A lexicon can only output its words, so a learner who says a word outside it
would be forced into another one. The best path (no LM) is therefore decoded
too, and wins when the CTC likelihood of its spelling beats the LM result's by
more than ``oov_margin`` nats: the acoustics then clearly say something else.
One frame that is surely the word delimiter is appended before the beam search
so that the last word can end (models rarely emit a delimiter after it).

Paths: with a state LM, ``"grammar"`` when the text is one of its sentences and
every word's confidence is at least ``accept_confidence`` (so a grammar result
has confidence >= 0.5, as :class:`Recognition` promises), else ``"open"``;
without one, ``"general"``. A word's confidence is the geometric mean over its
letters of the letter's highest posterior between its first frame and the next
token's: max-softmax over all of a word's frames would mostly measure blanks.
Partials are the best path of the audio so far, recomputed every
``partial_every_s`` of new audio (the model sees the whole prefix each time).

Checkpoint format — a directory::

    config.json  {"format": "parley-ctc", "version": 1, "architecture": "wav2vec2",
                  "model": {<torchaudio.models.wav2vec2_model keyword arguments>},
                  "tokens": ["-", "|", "e", "t", ...],  # one per output column
                  "blank": "-", "word_delimiter": "|",
                  "sample_rate": 16000, "normalize_waveform": false}
    model.pt     the model's state_dict (torch.save; loaded with weights_only=True)

or one ``.pt`` file holding ``{"config": <that dict>, "state_dict": ...}``.
``architecture`` may also be ``"wavlm"`` (``wavlm_model`` arguments). A
torchaudio ASR bundle converts with ``save_ctc_checkpoint(dir,
bundle.get_model().model, bundle._params, bundle.get_labels(),
normalize_waveform=bundle._normalize_waveform)``.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

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
from speech.errors import SpeechUnavailable
from speech.lm.base import StateLM
from speech.lm.cache import BuiltStateLM, build_state_lm, model_cache

__all__ = ["CtcModel", "CtcRecognizer", "emissions", "load_ctc_model", "save_ctc_checkpoint"]

FORMAT = "parley-ctc"
VERSION = 1
MIN_SAMPLES = MIN_UTTERANCE_SAMPLES  # shorter is no utterance (and under 400 samples fails)
_INSTALL = "pip install flashlight-text==0.0.7"


# -- the acoustic model ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CtcModel:
    """A CTC acoustic model ready to run.

    ``module(waveforms (B, S), lengths (B,))`` returns ``(logits (B, T, len(tokens)),
    frame lengths)`` as torchaudio's ``Wav2Vec2Model`` does; ``stride`` is samples per frame.
    """

    module: torch.nn.Module
    tokens: tuple[str, ...]
    blank: str = "-"
    word_delimiter: str = "|"
    stride: int = 320
    normalize_waveform: bool = False
    device: str = "cpu"

    def __post_init__(self) -> None:
        for name in (self.blank, self.word_delimiter):
            if name not in self.tokens:
                raise SpeechUnavailable(f"ctc token list lacks {name!r}")
        if len(set(self.tokens)) != len(self.tokens) or any(
            not t or t != t.strip() or " " in t for t in self.tokens
        ):
            raise SpeechUnavailable("ctc tokens must be unique, non-empty and without spaces")


def _model_factory(architecture: str) -> Callable[..., torch.nn.Module]:
    from torchaudio.models import wav2vec2_model, wavlm_model

    factories = {"wav2vec2": wav2vec2_model, "wavlm": wavlm_model}
    if architecture not in factories:
        raise SpeechUnavailable(f"unknown ctc architecture {architecture!r} (wav2vec2, wavlm)")
    return factories[architecture]


def _read(path: Path) -> tuple[dict, dict]:
    if path.is_dir():
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        state = torch.load(path / "model.pt", map_location="cpu", weights_only=True)
    else:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        config, state = blob["config"], blob["state_dict"]
    if not isinstance(config, dict) or not isinstance(state, dict):
        raise ValueError("config and state_dict must be mappings")
    return config, state


def load_ctc_model(path: str | Path, device: str | None = None) -> CtcModel:
    """Load a checkpoint in the format above; any problem is a :class:`SpeechUnavailable`."""
    path = Path(path)
    if not path.exists():
        raise SpeechUnavailable(f"ctc checkpoint {path} does not exist")
    try:
        config, state = _read(path)
    except Exception as exc:  # unreadable JSON, not a torch file, missing keys…
        raise SpeechUnavailable(f"cannot read ctc checkpoint {path}: {exc}") from exc
    if config.get("format") != FORMAT or config.get("version") != VERSION:
        raise SpeechUnavailable(f"{path} is not a {FORMAT} version {VERSION} checkpoint")
    tokens, kwargs = config.get("tokens"), config.get("model")
    if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
        raise SpeechUnavailable(f"{path}: 'tokens' must be a list of strings")
    if not isinstance(kwargs, dict) or config.get("sample_rate", SAMPLE_RATE) != SAMPLE_RATE:
        raise SpeechUnavailable(f"{path}: needs a 'model' object and a 16 kHz sample_rate")
    factory = _model_factory(config.get("architecture", "wav2vec2"))
    try:
        module = factory(**kwargs)
        if getattr(module, "aux", None) is None or module.aux.out_features != len(tokens):
            raise ValueError(f"aux_num_out must equal the {len(tokens)} tokens")
        if state and all(k.startswith("model.") for k in state):  # torchaudio's bundle wrapper
            state = {k[len("model."):]: v for k, v in state.items()}
        module.load_state_dict(state, strict=True)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise SpeechUnavailable(f"ctc checkpoint {path} does not fit its config: {exc}") from exc
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    module.eval().to(device)
    stride = math.prod(layer.stride for layer in module.feature_extractor.conv_layers)
    return CtcModel(
        module, tuple(tokens), config.get("blank", "-"), config.get("word_delimiter", "|"),
        stride, bool(config.get("normalize_waveform", False)), device,
    )


def save_ctc_checkpoint(
    directory: str | Path,
    module: torch.nn.Module,
    model_config: dict[str, Any],
    tokens: Sequence[str],
    *,
    blank: str = "-",
    word_delimiter: str = "|",
    normalize_waveform: bool = False,
    architecture: str = "wav2vec2",
) -> Path:
    """Write ``module`` (built with ``model_config``) in the directory format; returns it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = {
        "format": FORMAT, "version": VERSION, "architecture": architecture,
        "model": model_config, "tokens": list(tokens), "blank": blank,
        "word_delimiter": word_delimiter, "sample_rate": SAMPLE_RATE,
        "normalize_waveform": normalize_waveform,
    }
    (directory / "config.json").write_text(json.dumps(config, indent=1), encoding="utf-8")
    torch.save(module.state_dict(), directory / "model.pt")
    return directory


def _group_norm_extractor(module: torch.nn.Module) -> bool:
    """Whether the first conv layer normalises over time (then padding would change results)."""
    layers = getattr(getattr(module, "feature_extractor", None), "conv_layers", None)
    return bool(layers) and isinstance(layers[0].layer_norm, torch.nn.GroupNorm)


def emissions(model: CtcModel, pcms: Sequence[np.ndarray]) -> list[torch.Tensor]:
    """Log-posteriors (frames × tokens, float32 CPU) of each utterance, in one padded batch.

    A group-norm feature extractor (wav2vec2 base) runs per utterance since its
    statistics would include the padding; the transformer always runs batched.
    """
    from torch.nn.utils.rnn import pad_sequence

    xs = [torch.from_numpy(as_pcm16(p).astype(np.float32) / 32768.0) for p in pcms]
    if model.normalize_waveform:
        xs = [torch.nn.functional.layer_norm(x, x.shape) for x in xs]
    lengths = torch.tensor([len(x) for x in xs], device=model.device)
    m = model.module
    with torch.inference_mode():
        if _group_norm_extractor(m):
            feats = [m.feature_extractor(x[None].to(model.device), None)[0][0] for x in xs]
            frames = torch.tensor([len(f) for f in feats], device=model.device)
            logits = m.aux(m.encoder(pad_sequence(feats, batch_first=True), frames))
        else:
            batch = pad_sequence(xs, batch_first=True).to(model.device)
            logits, frames = m(batch, lengths)
        logp = torch.log_softmax(logits.float(), dim=-1).cpu()
    return [logp[i, : int(n)].contiguous() for i, n in enumerate(frames)]


# -- decoding helpers -----------------------------------------------------------------------------


def _arpa_words(arpa: Path) -> list[str]:
    """The unigram vocabulary of an ARPA file (sentence markers and ``<unk>`` excluded)."""
    words, inside = [], False
    with arpa.open(encoding="utf-8") as f:
        for line in f:
            if line.startswith("\\"):
                if inside:
                    break
                inside = line.strip() == "\\1-grams:"
            elif inside and line.strip():
                word = line.split()[1]
                if not word.startswith("<"):
                    words.append(word)
    return words


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def _special(token: str) -> bool:
    return len(token) > 2 and token[0] in "<[" and token[-1] in ">]"  # <s>, <unk>, [PAD]…


@dataclass
class _Decoder:
    """One flashlight decoder (not thread-safe: checked out by one call at a time)."""

    key: str
    impl: Any


class CtcRecognizer(Recognizer):
    """CTC acoustic model + lexicon beam search steered by state LMs (see module docstring)."""

    name = "ctc"

    def __init__(
        self,
        checkpoint: str | Path | CtcModel | None = None,
        *,
        device: str | None = None,
        cache_dir: str | Path | None = None,
        lm_weight: float = 2.0,
        word_score: float = 0.0,
        beam_size: int = 50,
        beam_threshold: float = 50.0,
        oov_margin: float = 10.0,
        accept_confidence: float = 0.5,
        general_lm: str | Path | None = None,
        general_lexicon: str | Path | None = None,
        partial_every_s: float = 0.5,
    ) -> None:
        try:
            self._ctc = importlib.import_module("torchaudio.models.decoder._ctc_decoder")
        except Exception as exc:
            raise SpeechUnavailable(f"the ctc engine needs flashlight-text ({_INSTALL})") from exc
        if checkpoint is None:
            raise SpeechUnavailable("the ctc engine needs checkpoint=PATH (a parley-ctc model)")
        self.model = (checkpoint if isinstance(checkpoint, CtcModel)
                      else load_ctc_model(checkpoint, device))
        self.cache_dir = cache_dir
        self.options = {"lm_weight": lm_weight, "word_score": word_score,
                        "beam_size": beam_size, "beam_threshold": beam_threshold}
        self.oov_margin = oov_margin
        self.accept_confidence = accept_confidence
        self.partial_every_s = partial_every_s
        tokens = self.model.tokens
        self._blank = tokens.index(self.model.blank)
        self._delim = tokens.index(self.model.word_delimiter)
        self._letters = {i for i, t in enumerate(tokens)
                         if i not in (self._blank, self._delim) and not _special(t)}
        self._token_hash = hashlib.sha256(
            json.dumps([tokens, self.model.word_delimiter]).encode()
        ).hexdigest()[:12]
        self._general: tuple[str, str] | None = None
        if general_lm is not None:
            self._general = self._general_files(Path(general_lm), general_lexicon)
        self._built: dict[str, tuple[str, str]] = {}
        self._idle: list[_Decoder] = []
        self._lock = threading.Lock()

    # -- language models and decoders ------------------------------------------------------------

    def _lexicon_text(self, words: Sequence[str]) -> str:
        lines = []
        for word in sorted(set(words)):
            spelled = []
            for ch in word:
                tok = ch if ch in self.model.tokens else ch.upper()
                if tok not in self.model.tokens or tok == self.model.word_delimiter:
                    break
                spelled.append(tok)
            else:
                lines.append(f"{word} {' '.join(spelled)} {self.model.word_delimiter}\n")
        if not lines:
            raise SpeechUnavailable("no word of the language model can be spelled by the ctc model")
        return "".join(lines)

    def _general_files(self, lm: Path, lexicon: str | Path | None) -> tuple[str, str]:
        if not lm.is_file():
            raise SpeechUnavailable(f"general_lm {lm} does not exist")
        if lexicon is not None:
            if not Path(lexicon).is_file():
                raise SpeechUnavailable(f"general_lexicon {lexicon} does not exist")
            return str(lm), str(lexicon)
        with lm.open("rb") as f:
            if b"\\data\\" not in f.read(4096):
                raise SpeechUnavailable("a binary general_lm needs a general_lexicon file")
        digest = hashlib.sha256(f"{lm.resolve()}:{lm.stat().st_mtime_ns}".encode()).hexdigest()
        name = f"general-{digest[:16]}-{self._token_hash}.txt"
        path = Path(self.cache_dir or model_cache()) / "ctc" / name
        if not path.is_file():
            _write_atomic(path, self._lexicon_text(_arpa_words(lm)))
        return str(lm), str(path)

    def _state_files(self, lm: StateLM) -> tuple[str, str]:
        with self._lock:
            files = self._built.get(lm.key)
        if files is None:
            built: BuiltStateLM = build_state_lm(lm, self.cache_dir)
            lexicon = built.directory / f"ctc-lexicon-{self._token_hash}.txt"
            if not lexicon.is_file():
                _write_atomic(lexicon, self._lexicon_text(_arpa_words(built.arpa)))
            files = (str(built.arpa), str(lexicon))
            with self._lock:
                self._built[lm.key] = files
                while len(self._built) > 4096:  # a long-running server sees many states
                    self._built.pop(next(iter(self._built)))
        return files

    def prepare(self, lm: StateLM) -> None:
        self._release(self._checkout(lm))

    def _checkout(self, lm: StateLM | None) -> _Decoder | None:
        """An idle decoder for ``lm`` (built on demand), or ``None`` for best-path decoding."""
        if lm is None and self._general is None:
            return None
        key = lm.key if lm is not None else "general"
        with self._lock:
            for i in range(len(self._idle) - 1, -1, -1):
                if self._idle[i].key == key:
                    return self._idle.pop(i)
        files = self._state_files(lm) if lm is not None else self._general
        assert files is not None
        arpa, lexicon = files
        try:
            impl = self._ctc.ctc_decoder(
                lexicon=lexicon, tokens=list(self.model.tokens), lm=arpa, nbest=1,
                blank_token=self.model.blank, sil_token=self.model.word_delimiter,
                **self.options,
            )
        except Exception as exc:  # KenLM missing from the wheel, unreadable LM or lexicon
            raise SpeechUnavailable(f"cannot build the ctc decoder: {exc}") from exc
        return _Decoder(key, impl)

    def _release(self, decoder: _Decoder | None) -> None:
        if decoder is not None:
            with self._lock:
                self._idle.append(decoder)
                del self._idle[: max(0, len(self._idle) - 16)]

    # -- decoding --------------------------------------------------------------------------------

    def _best_path(self, logp: torch.Tensor) -> list[tuple[int, int]]:
        """(token, first frame) of each non-blank run of the per-frame argmax."""
        ids = logp.argmax(dim=-1).tolist()
        return [(t, f) for f, t in enumerate(ids)
                if t != self._blank and (f == 0 or ids[f - 1] != t)]

    def _log_likelihood(self, logp: torch.Tensor, tokens: list[tuple[int, int]]) -> float:
        """log P(token sequence | emissions), summed over every CTC alignment."""
        target = torch.tensor([[t for t, _ in tokens]], dtype=torch.long)
        loss = torch.nn.functional.ctc_loss(
            logp[:, None, :], target, torch.tensor([len(logp)]), torch.tensor([target.shape[1]]),
            blank=self._blank, reduction="sum",
        )
        return -float(loss)

    def _words(self, tokens: list[tuple[int, int]], logp: torch.Tensor, seconds: float
               ) -> tuple[Word, ...]:
        probs = logp.exp()
        frame_s = self.model.stride / SAMPLE_RATE
        words: list[Word] = []
        letters: list[tuple[str, int, float]] = []

        def flush() -> None:
            if letters:
                text = "".join(c for c, _, _ in letters).lower()
                conf = math.exp(sum(math.log(max(p, 1e-12)) for *_, p in letters) / len(letters))
                start = min(letters[0][1] * frame_s, seconds)
                end = min((letters[-1][1] + 1) * frame_s, seconds)
                words.append(Word(text, start, max(start, end), min(1.0, max(0.0, conf))))
                letters.clear()

        for i, (tok, frame) in enumerate(tokens):
            if tok == self._delim:
                flush()
            elif tok in self._letters:
                nxt = tokens[i + 1][1] if i + 1 < len(tokens) else len(logp)
                letters.append((self.model.tokens[tok], frame,
                                float(probs[frame:max(nxt, frame + 1), tok].max())))
        flush()
        return tuple(words)

    def _partial(self, logp: torch.Tensor) -> str:
        return " ".join(w.word for w in self._words(self._best_path(logp), logp, math.inf))

    def decode_emissions(
        self, logp: torch.Tensor, lm: StateLM | None = None, audio_seconds: float | None = None
    ) -> Recognition:
        """Decode one utterance's log-posteriors (frames × tokens): the step after the model."""
        logp = logp.detach().float().cpu().contiguous()
        frames = len(logp)
        seconds = (frames * self.model.stride / SAMPLE_RATE if audio_seconds is None
                   else audio_seconds)
        path = "general" if lm is None else "open"
        decoder = self._checkout(lm)
        if decoder is None:
            tokens = self._best_path(logp)
        else:
            end = torch.full((1, logp.shape[1]), -1e4)
            end[0, self._delim] = 0.0  # the last word may end here at no cost
            ext = torch.cat([logp, end]).contiguous()
            try:
                hyps = decoder.impl(ext[None])[0]
            finally:
                self._release(decoder)
            free = self._best_path(ext)
            tokens = free
            if hyps:  # timestep 0 is the decoder's start state: frame = timestep - 1
                beam = [(int(t), int(s) - 1) for t, s in zip(hyps[0].tokens, hyps[0].timesteps,
                                                             strict=True) if 0 < s <= len(ext)]
                gain = self._log_likelihood(ext, free) - self._log_likelihood(ext, beam)
                if not gain > self.oov_margin:
                    tokens = beam
            tokens = [(t, f) for t, f in tokens if f < frames]
        words = self._words(tokens, logp, seconds)
        text = " ".join(w.word for w in words)
        conf = sum(w.confidence for w in words) / len(words) if words else 0.0
        if (lm is not None and text in lm.sentences
                and min(w.confidence for w in words) >= self.accept_confidence):
            path = "grammar"
        return Recognition(text, words, conf, path, seconds)  # type: ignore[arg-type]

    # -- public entry points ---------------------------------------------------------------------

    def start(self, lm: StateLM | None = None, partials: bool = True) -> RecognitionStream:
        if lm is not None:
            self._state_files(lm)
        return _Stream(self, lm, partials)

    def recognize_batch(
        self, pcms: Sequence[np.ndarray], lm: StateLM | None = None
    ) -> list[Recognition]:
        """Recognise several utterances with one acoustic-model pass (one padded batch)."""
        audio = [as_pcm16(p) for p in pcms]
        results: list[Recognition | None] = [
            empty_result(lm, len(a)) if len(a) < MIN_SAMPLES else None for a in audio]
        todo = [i for i, r in enumerate(results) if r is None]
        if todo:
            for i, logp in zip(todo, emissions(self.model, [audio[i] for i in todo]),
                               strict=True):
                results[i] = self.decode_emissions(logp, lm, len(audio[i]) / SAMPLE_RATE)
        return results  # type: ignore[return-value]


class _Stream(BufferedStream):
    def __init__(self, owner: CtcRecognizer, lm: StateLM | None, partials: bool) -> None:
        super().__init__()
        self._owner = owner
        self._lm = lm
        self._partials = partials
        self._last_partial = 0

    def feed(self, pcm: np.ndarray) -> str | None:
        self._take(pcm)
        step = self._owner.partial_every_s * SAMPLE_RATE
        if (self._partials and self._samples >= MIN_SAMPLES
                and self._samples - self._last_partial >= step):
            self._last_partial = self._samples
            (logp,) = emissions(self._owner.model, [self._audio()])
            self._partial = self._owner._partial(logp) or None
        return self._partial

    def finish(self) -> Recognition:
        self._check_open()
        pcm = self._audio()
        self.close()
        return self._owner.recognize_batch([pcm], self._lm)[0]

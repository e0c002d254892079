"""Regenerate ``data/speechocean_alignment.json`` (run by hand, then review the diff).

    pip install pocketsphinx==5.1.1   # the aligner; not needed to run the tests
    python -m tests.speech.make_alignment

The file holds where speech starts and ends in the recordings the endpointing tests
use (every 20th utterance of the subset and the one after it, same speaker), from a
word-level forced alignment of the prompt text: a reference that is independent of
the VADs under test. Only times are stored; the audio stays in ../shared.
"""

from __future__ import annotations

import json
from pathlib import Path

import soundfile as sf

from tests.helpers import SHARED_DATA

CORPUS = SHARED_DATA / "speechocean762-train-subset"
OUT = Path(__file__).parent / "data" / "speechocean_alignment.json"
FILLERS = {"<s>", "</s>", "<sil>", "[NOISE]"}


def selected_ids() -> list[str]:
    ids = [line.split()[0] for line in (CORPUS / "wav.scp").read_text().splitlines() if line]
    return sorted({u for i in range(0, len(ids) - 1, 20) for u in ids[i:i + 2]})


def main() -> None:
    from pocketsphinx import Decoder

    wavs = dict(line.split() for line in (CORPUS / "wav.scp").read_text().splitlines() if line)
    texts = dict(line.split(None, 1) for line in (CORPUS / "text").read_text().splitlines()
                 if line)
    # lm=None + bestpath=False: 5.1.1 fails on many utterances otherwise (shared/FACTS.md)
    decoder = Decoder(lm=None, bestpath=False, compallsen=True, loglevel="ERROR")
    out = {}
    for utt in selected_ids():
        pcm, rate = sf.read(CORPUS / wavs[utt], dtype="int16")
        try:
            decoder.set_align_text(texts[utt].lower())
        except RuntimeError as exc:  # a word outside the CMU dictionary
            print(f"skip {utt}: {exc}")
            continue
        decoder.start_utt()
        decoder.process_raw(pcm.tobytes(), full_utt=True)
        decoder.end_utt()
        words = [s for s in decoder.seg() if s.word not in FILLERS]
        out[utt] = {"start": words[0].start_frame / 100, "end": (words[-1].end_frame + 1) / 100,
                    "seconds": round(len(pcm) / rate, 4)}
    OUT.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"{len(out)} utterances -> {OUT}")


if __name__ == "__main__":
    main()

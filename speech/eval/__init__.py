"""Evaluation harnesses for ``speech/`` (run ``python -m speech.eval --help``)."""

from speech.eval.data import DataDir, Utterance, read_wav
from speech.eval.wer import evaluate, select

__all__ = ["DataDir", "Utterance", "evaluate", "read_wav", "select"]

"""Fixtures for the dialog tests: built-in lessons, the real sentence encoder, engines.

The encoder is the real all-MiniLM-L6-v2, loaded once per test session and wrapped
in the same kind of async adapter ``serving/`` uses (``encode`` runs in a thread).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dialog import CompiledLesson, DialogEngine, HybridMatcher, KeywordMatcher, builtin_lessons
from tests.dialog.encoders import ThreadEncoder

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def sentence_encoder():
    from nlu.embeddings import SentenceEncoder

    return SentenceEncoder().load()


@pytest.fixture
def text_encoder(sentence_encoder) -> ThreadEncoder:
    return ThreadEncoder(sentence_encoder)


@pytest.fixture(scope="session")
def lessons():
    return {lesson.id: lesson for lesson in builtin_lessons()}


@pytest.fixture(scope="session")
def compiled(lessons) -> dict[str, CompiledLesson]:
    """One compiled lesson per built-in lesson, shared so example embeddings are reused."""
    return {lid: CompiledLesson(lesson, 1) for lid, lesson in lessons.items()}


@pytest.fixture(scope="session")
def paraphrase_data() -> dict:
    return json.loads((DATA / "paraphrases.json").read_text(encoding="utf-8"))


@pytest.fixture
def engine(text_encoder) -> DialogEngine:
    return DialogEngine(HybridMatcher(text_encoder))


@pytest.fixture
def keyword_engine() -> DialogEngine:
    return DialogEngine(KeywordMatcher())

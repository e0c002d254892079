"""Pronunciation assessment: phone-level scores, fluency, completeness and miscues (issue 6).

``Assessor().assess(pcm, "I would like a coffee")`` is the Python API; scorers
(``create_scorer("learned" | "gop")``) align the reference's canonical phones and
score each one; :mod:`speech.pronunciation.assess` builds the one result shape.
"""

from speech.pronunciation.assessor import Assessor, create_scorer, reference_words
from speech.pronunciation.base import Assessment, Scorer

__all__ = ["Assessment", "Assessor", "Scorer", "create_scorer", "reference_words"]

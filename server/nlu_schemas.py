"""Request and response bodies of the text-understanding API (``/v1/nlu/...``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from server.schemas import Strict

MAX_TEXT_CHARS = 1000
MAX_BATCH = 64
MAX_SAMPLES_PER_CALL = 1000


def _clean(value: str) -> str:
    """PostgreSQL cannot store NUL, and lone surrogates are not text: refuse both."""
    if "\x00" in value:
        raise ValueError("text contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text is not valid Unicode (a lone surrogate)") from None
    return value


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                        max_length=MAX_TEXT_CHARS), AfterValidator(_clean)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
                  AfterValidator(_clean)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=100,
                                        pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")]
Algorithm = Literal["fast", "accurate"]


# --- classifiers ------------------------------------------------------------------

class ClassifierCreate(Strict):
    name: Name
    description: str = Field("", max_length=2000)
    language: Literal["en"] = Field("en", description="only English: the encoder is English")
    algorithm: Algorithm = "fast"
    params: dict[str, Any] = Field(default_factory=dict, description="the algorithm's "
                                   "hyper-parameters (see the README); unknown names are refused")
    oos_rate: float = Field(0.05, ge=0, lt=0.5, description="share of in-scope validation "
                            "texts the learned out-of-scope threshold may reject")
    threshold: float | None = Field(None, ge=0, le=1, description="fixed out-of-scope "
                                    "threshold, overriding each version's learned one")
    gazetteers: dict[Label, list[Text]] = Field(
        default_factory=dict, description="entity type -> phrases (\"canonical|synonym|...\")")
    patterns: dict[Label, str] = Field(default_factory=dict,
                                       description="entity type -> regular expression")


class ClassifierUpdate(Strict):
    description: str | None = Field(None, max_length=2000)
    algorithm: Algorithm | None = None
    params: dict[str, Any] | None = None
    oos_rate: float | None = Field(None, ge=0, lt=0.5)
    threshold: float | None = Field(None, ge=0, le=1)
    clear_threshold: bool = Field(False, description="go back to the learned threshold")
    gazetteers: dict[Label, list[Text]] | None = None
    patterns: dict[Label, str] | None = None


class JobError(BaseModel):
    code: str
    message: str


class JobOut(BaseModel):
    id: str
    classifier_id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    stage: str
    progress: float = Field(description="0 to 1")
    algorithm: str
    params: dict[str, Any]
    version: int | None = Field(None, description="the version it produced")
    error: JobError | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


class ClassifierOut(BaseModel):
    id: str
    name: str
    description: str
    language: str
    algorithm: str
    params: dict[str, Any]
    oos_rate: float
    threshold: float | None
    gazetteers: dict[str, list[str]]
    patterns: dict[str, str]
    active_version: int | None
    latest_version: int
    samples: dict[str, int] = Field(description="samples per split: train, test")
    created_at: datetime
    updated_at: datetime


# --- samples ----------------------------------------------------------------------

class SampleIn(Strict):
    text: Text
    label: Label


class SamplesIn(Strict):
    samples: list[SampleIn] = Field(min_length=1, max_length=MAX_SAMPLES_PER_CALL)


class SampleOut(BaseModel):
    id: int
    text: str
    label: str
    created_at: datetime


class SamplePage(BaseModel):
    items: list[SampleOut]
    next: int | None = Field(None, description="pass as ?after= for the next page")
    total: int


class ImportOut(BaseModel):
    imported: int
    replaced: int = Field(0, description="samples deleted first (?replace=true)")
    total: int


# --- training and versions --------------------------------------------------------

class TrainIn(Strict):
    algorithm: Algorithm | None = Field(None, description="default: the classifier's")
    params: dict[str, Any] | None = Field(None, description="default: the classifier's")
    activate: bool = Field(True, description="make the new version the active one")


class VersionOut(BaseModel):
    version: int
    algorithm: str
    params: dict[str, Any]
    data_hash: str = Field(description="SHA-256 of the (text, label) pairs it learned from")
    labels: list[str]
    metrics: dict[str, Any]
    threshold: float
    temperature: float
    train_samples: int
    active: bool
    deleted: bool
    created_at: datetime


class RollbackIn(Strict):
    version: int | None = Field(None, ge=1, description="default: the newest version before "
                                "the active one")


# --- retrieval and testing --------------------------------------------------------

class RetrieveIn(Strict):
    text: Text | None = None
    texts: list[Text] | None = Field(None, min_length=1, max_length=MAX_BATCH)
    top_k: int = Field(3, ge=1, le=50)
    version: int | None = Field(None, ge=1, description="default: the active version")
    threshold: float | None = Field(None, ge=0, le=1, description="override for this call")
    entities: bool = Field(True, description="also extract entities")


class LabelScore(BaseModel):
    label: str
    score: float


class EntityOut(BaseModel):
    type: str
    text: str
    start: int = Field(description="character offset in the text")
    end: int
    value: Any = None
    source: str


class RetrieveResult(BaseModel):
    text: str
    label: str | None = Field(description="the answer; null when out of scope")
    score: float = Field(description="calibrated probability of the best label")
    confidence: float = Field(description="score x similarity to the training texts; below "
                              "the threshold the answer is out of scope")
    out_of_scope: bool
    labels: list[LabelScore]
    entities: list[EntityOut] = Field(default_factory=list)


class RetrieveOut(BaseModel):
    classifier_id: str
    version: int
    threshold: float
    results: list[RetrieveResult]


class TestIn(Strict):
    version: int | None = Field(None, ge=1)
    samples: list[SampleIn] | None = Field(None, min_length=1, max_length=20_000,
                                           description="default: the stored test set")


class LabelMetrics(BaseModel):
    precision: float
    recall: float
    f1: float
    support: int


class TestOut(BaseModel):
    version: int
    samples: int
    accuracy: float = Field(description="answers equal to the label (out of scope counts as "
                            "a wrong answer for an in-scope label, a right one for an "
                            "unknown or oos label)")
    macro_f1: float
    in_scope_accuracy: float | None
    top1_accuracy: float | None = Field(description="in-scope texts whose best label is "
                                        "right, ignoring the out-of-scope threshold")
    oos_samples: int = Field(description="test samples whose label the version does not "
                             "know, or an oos label")
    oos_recall: float | None
    false_oos_rate: float | None
    per_label: dict[str, LabelMetrics]
    confusion: dict[str, Any] = Field(description="labels (with 'out_of_scope') and matrix "
                                      "[true][predicted]")


# --- entities, emotion, FAQs ------------------------------------------------------

Answer = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                          max_length=5000), AfterValidator(_clean)]


class EntitiesIn(Strict):
    text: Text
    classifier_id: str | None = Field(None, description="also apply this classifier's "
                                      "gazetteers and patterns")


class EntitiesOut(BaseModel):
    entities: list[EntityOut]


class EmotionIn(Strict):
    text: Text | None = None
    texts: list[Text] | None = Field(None, min_length=1, max_length=MAX_BATCH)


class EmotionResult(BaseModel):
    text: str
    label: Literal["positive", "neutral", "negative", "frustrated"]
    scores: list[LabelScore] = Field(description="calibrated, best first")


class EmotionOut(BaseModel):
    results: list[EmotionResult]


class FaqCreate(Strict):
    name: Name
    threshold: float | None = Field(None, ge=-1, le=1, description="cosine an answer needs "
                                    "(default: the calibrated default)")


class FaqPairIn(Strict):
    questions: list[Text] = Field(min_length=1, max_length=20,
                                  description="the question and its paraphrases")
    answer: Answer


class FaqPairsIn(Strict):
    pairs: list[FaqPairIn] = Field(min_length=1, max_length=MAX_SAMPLES_PER_CALL)


class FaqPairOut(BaseModel):
    id: str
    questions: list[str]
    answer: str
    created_at: datetime


class FaqOut(BaseModel):
    id: str
    name: str
    threshold: float | None
    default_threshold: float
    revision: int
    pairs: int | list[FaqPairOut]
    created_at: datetime
    updated_at: datetime


class FaqQueryIn(Strict):
    text: Text
    top_k: int = Field(3, ge=1, le=20)
    threshold: float | None = Field(None, ge=-1, le=1)


class FaqCandidate(BaseModel):
    pair_id: str
    answer: str
    questions: list[str]
    score: float = Field(description="cosine similarity of the best-matching question")


class FaqQueryOut(BaseModel):
    answer: FaqCandidate | None = Field(description="null when no question is close enough")
    threshold: float
    candidates: list[FaqCandidate]

"""Everything the routes need, built once in the lifespan and torn down with it."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dialog.engine import DialogEngine
from dialog.machine import LessonCache
from dialog.matching.base import DEFAULT_THRESHOLD, Matcher
from dialog.matching.hybrid import HybridMatcher
from server.auth import KeyResolver
from server.classifiers import ClassifierService
from server.db.engine import create_engine, session_factory
from server.db.migrate import upgrade_async
from server.faqs import FaqService
from server.lesson_classifiers import LessonClassifiers
from server.lesson_matcher import LessonMatcher
from server.lessons import LessonService
from server.observability import Metrics
from server.play import PlayService
from server.progress import ProgressService
from server.settings import Settings
from server.speech import SpeechService
from server.store import create_store
from server.store.base import SessionStore
from server.tenants import TenantService
from server.training import TrainingRunner
from server.understanding import TurnEmotion, UnderstandingService
from serving import start_models
from serving.base import ModelClient

log = logging.getLogger("parley.services")


@dataclass
class Services:
    settings: Settings
    metrics: Metrics
    engine: AsyncEngine
    db: async_sessionmaker[AsyncSession]
    store: SessionStore
    models: ModelClient
    tenants: TenantService
    keys: KeyResolver
    lessons: LessonService
    play: PlayService
    speech: SpeechService
    progress: ProgressService
    classifiers: ClassifierService
    training: TrainingRunner
    understanding: UnderstandingService
    faqs: FaqService
    owns_models: bool = True
    lesson_classifiers: LessonClassifiers | None = None
    lesson_matcher: LessonMatcher | None = None

    async def close(self) -> None:
        await self.training.close()
        await self.understanding.close()
        if self.lesson_matcher is not None:
            await self.lesson_matcher.close()
        if self.lesson_classifiers is not None:
            await self.lesson_classifiers.close()
        self.speech.close()
        if self.owns_models:
            await self.models.close()
        await self.store.close()
        await self.engine.dispose()


async def build_services(settings: Settings, models: ModelClient | None = None,
                         metrics: Metrics | None = None) -> Services:
    if settings.migrate_on_start:
        await upgrade_async(settings.database_url)
    engine = create_engine(settings.database_url)
    db = session_factory(engine)
    store = create_store(settings.redis_url, settings.redis_prefix)
    metrics = metrics or Metrics()
    owns_models = models is None
    if models is None:
        models = await start_models(settings.serving, observe=metrics.observe_model_call)
    tenants = TenantService(db)
    config = getattr(models, "config", None)  # both backends keep their serving config
    hybrid = HybridMatcher(models)
    lesson_classifiers, lesson_matcher = None, None
    matcher: Matcher = hybrid
    if settings.lesson_classifier:
        lesson_classifiers = LessonClassifiers(models, config.artefact_path() if config else None)
        matcher = lesson_matcher = LessonMatcher(hybrid, models, lesson_classifiers)
    lessons = LessonService(db, LessonCache(), lesson_classifiers.schedule
                            if lesson_classifiers is not None else None)
    classifiers = ClassifierService(db, config.artefact_path() if config else None)
    understanding = UnderstandingService(models, classifiers)
    dialog = DialogEngine(matcher, settings.match_threshold or DEFAULT_THRESHOLD,
                          emotion=TurnEmotion(understanding) if settings.emotion else None)
    play = PlayService(db, store, lessons, dialog, settings, metrics)
    progress = ProgressService(db)
    training = TrainingRunner(db, models, classifiers)
    services = Services(settings, metrics, engine, db, store, models, tenants,
                        KeyResolver(settings.admin_key, tenants.lookup), lessons, play,
                        SpeechService(settings, models, play, lessons, progress), progress,
                        classifiers, training, understanding,
                        FaqService(db, models), owns_models, lesson_classifiers,
                        lesson_matcher)
    reaped = await training.reap_stale()
    if reaped:
        log.warning("failed %d training jobs whose process had stopped", reaped)
    if settings.seed_builtin:
        changed = await lessons.seed_builtin()
        if changed:
            log.info("seeded built-in lessons", extra={"lessons": changed})
    return services

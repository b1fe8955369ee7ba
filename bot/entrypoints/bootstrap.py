"""Wiring: the one place that turns settings into an engine, a unit of work and the services."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Engine

from bot.clock import Clock, clock_from_start
from bot.platform.healthie_api import HealthieClient, healthie_client_from_settings
from bot.services import Services, build_services
from bot.settings import Settings
from smart_phrases import PhraseLibrary
from storage.db import make_engine, make_session_factory, require_migrated
from storage.repository import UnitOfWork

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    uow: UnitOfWork
    clock: Clock
    phrases: PhraseLibrary
    services: Services
    healthie: HealthieClient | None = None

    def close(self) -> None:
        self.engine.dispose()


def build_runtime(
    settings: Settings, *, clock: Clock | None = None, check_schema: bool = True
) -> Runtime:
    """Build everything a command needs.

    Refuses an un-migrated database (NotMigrated) and a broken phrase set (PhraseSetError),
    each with a message that says what to do.
    """
    phrases = PhraseLibrary.load(settings.smart_phrases_dir)
    if not settings.practice_name:
        log.warning(
            "DISCHARGE_PRACTICE_NAME is not set: check-ins can't be sent into a client's chat "
            "and previews show a placeholder where the practice's name belongs"
        )
    engine = make_engine(settings.database_url)
    if check_schema:
        try:
            require_migrated(engine)
        except Exception:
            engine.dispose()
            raise
    uow = UnitOfWork(make_session_factory(engine))
    clock = clock or clock_from_start(settings.clock_start)
    healthie = healthie_client_from_settings(
        settings,
        api_version=settings.healthie_api_version,
        timeout=settings.healthie_timeout_seconds,
    )
    services = build_services(uow, clock, settings, phrases, platform=healthie)
    return Runtime(settings, engine, uow, clock, phrases, services, healthie)

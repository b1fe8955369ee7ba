"""Wiring: the one place that turns settings into an engine, a unit of work and the services."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Engine

from bot.clock import Clock, clock_from_start
from bot.platform.healthie_api import HealthieClient, healthie_client_from_settings
from bot.platform.healthie_chart import HealthieChart
from bot.platform.inbound import InboundApplier
from bot.platform.sink import ServiceSink
from bot.services import Services, build_services
from bot.settings import Settings
from smart_phrases import PhraseLibrary
from storage.crypto import Keyring, attach_keyring
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
    chart: HealthieChart | None = None  # the platform the services get (wraps `healthie`)
    #: Applies the platform events the webhooks stored (`serve` starts its thread; the
    #: scheduler's tick and the tests call `drain()`).
    inbound: InboundApplier | None = None

    def close(self) -> None:
        if self.inbound is not None:
            self.inbound.stop()
        self.engine.dispose()
        if self.healthie is not None:
            self.healthie.close()


_warned_plaintext = False


def keyring_from_settings(settings: Settings) -> Keyring | None:
    """The keyring DATA_ENCRYPTION_KEY (+ DATA_ENCRYPTION_OLD_KEYS) describe, or None.

    Without a key the bot still runs, storing note bodies, summaries and first names in
    plain text (`serve` and `worker` say so once at start)."""
    keys = settings.encryption_keys()
    if not settings.data_encryption_key:
        return Keyring(keys, encrypting=False) if keys else None  # old keys only decrypt
    return Keyring(keys)


def warn_if_unencrypted(settings: Settings) -> None:
    """The one warning at start (`serve`, `worker`) when nothing is encrypted at rest."""
    global _warned_plaintext
    if settings.data_encryption_key is None and not _warned_plaintext:
        _warned_plaintext = True
        log.warning(
            "DATA_ENCRYPTION_KEY is not set: note bodies, summaries and first names are "
            "stored unencrypted (see the README's Security section)"
        )


def build_runtime(
    settings: Settings, *, clock: Clock | None = None, check_schema: bool = True
) -> Runtime:
    """Build everything a command needs.

    Refuses an un-migrated database (NotMigrated) and a broken phrase set (PhraseSetError),
    each with a message that says what to do.
    """
    phrases = PhraseLibrary.load(settings.smart_phrases_dir)
    keyring = keyring_from_settings(settings)
    engine = make_engine(settings.database_url)
    attach_keyring(engine, keyring)
    if check_schema:
        try:
            require_migrated(engine)
        except Exception:
            engine.dispose()
            raise
    # Only once the database answered: a command that cannot start says one thing.
    if not settings.practice_name:
        log.warning(
            "DISCHARGE_PRACTICE_NAME is not set: check-ins can't be sent into a client's chat "
            "and previews show a placeholder where the practice's name belongs"
        )
    uow = UnitOfWork(make_session_factory(engine))
    clock = clock or clock_from_start(settings.clock_start)
    healthie = healthie_client_from_settings(
        settings,
        api_version=settings.healthie_api_version,
        timeout=settings.healthie_timeout_seconds,
        clock=clock,
    )
    chart = HealthieChart(healthie, settings) if healthie is not None else None
    services = build_services(uow, clock, settings, phrases, platform=chart)
    inbound = InboundApplier(engine, ServiceSink(services), clock)
    return Runtime(settings, engine, uow, clock, phrases, services, healthie, chart, inbound)

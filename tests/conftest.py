"""Shared fixtures: a migrated database (SQLite by default, PostgreSQL via DATABASE_URL),
settings built from nothing but what a test says, a fixed clock and the services."""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from bot.clock import FixedClock
from bot.services import Services, build_services
from bot.settings import Settings
from smart_phrases import PhraseLibrary
from storage.db import make_engine, make_session_factory, migrate
from storage.models import Base
from storage.repository import UnitOfWork

_ENV_PREFIXES = (
    "SLACK_",
    "CCT_",
    "DISCHARGE_",
    "HEALTHIE_",
    "PLATFORM_",
    "SMART_PHRASES_DIR",
    "DATA_ENCRYPTION_",
)
LOG_SCAN_REPORT = "DISCHARGE_TEST_LOG_SCAN_REPORT"


class _LogScanner(logging.Handler):
    """Every record at any level, formatted with its traceback, checked for fixture PHI."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records = 0
        self.hits: list[dict[str, str]] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        from tests.phi import SENTINELS

        self.records += 1
        try:
            line = self.format(record)
        except Exception as exc:  # a record that cannot even be formatted is a finding too
            line = f"<unformattable record from {record.name}: {exc!r}>"
        for word in SENTINELS:
            if word.lower() in line.lower():
                self.hits.append({"logger": record.name, "word": word, "line": line[:300]})


_scanner: _LogScanner | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _scanner
    if os.environ.get(LOG_SCAN_REPORT):
        _scanner = _LogScanner()
        logging.getLogger().addHandler(_scanner)


def pytest_unconfigure(config: pytest.Config) -> None:
    report = os.environ.get(LOG_SCAN_REPORT)
    if report and _scanner is not None:
        Path(report).write_text(
            json.dumps({"records": _scanner.records, "hits": _scanner.hits}), encoding="utf-8"
        )


@pytest.fixture(autouse=True)
def _debug_logging_while_scanning() -> Iterator[None]:
    """Under the log scan every test runs with the root logger at DEBUG."""
    if _scanner is None:
        yield
        return
    root = logging.getLogger()
    previous = root.level
    root.setLevel(logging.DEBUG)
    yield
    root.setLevel(previous)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real SLACK_* (and every other bot setting) stay out of tests."""
    for name in list(os.environ):
        if name.startswith(_ENV_PREFIXES) or name == "PORT":
            monkeypatch.delenv(name, raising=False)


def database_url_under_test() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith("postgres") else None


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def _postgres_engine() -> Iterator[Engine | None]:
    url = database_url_under_test()
    if url is None:
        yield None
        return
    engine = make_engine(url)
    with engine.begin() as connection:
        Base.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def database_url(tmp_path: Path, _sqlite_template: Path, _postgres_engine: Engine | None) -> str:
    """A migrated, empty database for one test."""
    if _postgres_engine is not None:
        tables = ", ".join(t.name for t in reversed(Base.metadata.sorted_tables))
        with _postgres_engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        return _postgres_engine.url.render_as_string(hide_password=False)
    path = tmp_path / "test.db"
    shutil.copy(_sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        _env_file=None,
        database_url=database_url,
        cct_channel_id="C0CCT",
        practice_timezone="America/Toronto",
        practice_name="Northside Therapy",
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))


@pytest.fixture
def uow(engine: Engine) -> UnitOfWork:
    return UnitOfWork(make_session_factory(engine))


@pytest.fixture(scope="session")
def phrases() -> PhraseLibrary:
    return PhraseLibrary.load()


@pytest.fixture
def service(
    uow: UnitOfWork, clock: FixedClock, settings: Settings, phrases: PhraseLibrary
) -> Services:
    return build_services(uow, clock, settings, phrases)


#: Folders whose tests are pure or make their own SQLite database (the demo): the
#: PostgreSQL pass of scripts/test.sh would run them again unchanged, so they run once.
_RUN_ONCE = tuple(Path(__file__).parent / name for name in ("domain", "smart_phrases", "demo"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(folder in Path(str(item.path)).parents for folder in _RUN_ONCE):
            item.add_marker(pytest.mark.once)

"""Engine and session factory: SQLite (WAL, busy timeout) by default, PostgreSQL for replicas."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from storage.retry import install_lock_waits

MIGRATIONS = Path(__file__).parent / "migrations"


class NotMigrated(RuntimeError):
    """The database schema is behind the code; the message says what to run."""


def normalise_url(url: str) -> str:
    """Accept the common `postgres://` / `postgresql://` spellings and use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine whose errors and logs never show statement parameters (note bodies, names)."""
    _quiet_sql_logging()
    kwargs.setdefault("hide_parameters", True)
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        kwargs.setdefault("connect_args", {"timeout": 30})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        install_lock_waits(engine)
        return engine
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine)
    install_lock_waits(engine)
    return engine


#: A pooled connection unused for longer than this is pinged before it is handed out (a
#: server restart or an idle timeout may have closed it); one back from use within it is
#: not: it was alive a moment ago, and the ping was a round trip on every transaction.
#: A connection that dies in between fails its statement, which `within_budget` tries
#: again on a new one (a lost connection is a passing error).
PING_AFTER_IDLE_SECONDS = 1.0
_RETURNED_AT = "discharge_returned_at"


def _ping_when_idle(engine: Engine) -> None:
    dialect = engine.dialect

    @event.listens_for(engine, "connect")
    def _fresh(_dbapi: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _alive(dbapi: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED_AT)
        if returned is not None and time.monotonic() - returned < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi, None):
                # The pool throws this one away and checks out another (a fresh one).
                raise DisconnectionError() from error
            raise


def _quiet_sql_logging() -> None:
    """SQLAlchemy (echo) and psycopg log statements with their parameters below WARNING."""
    for name in ("sqlalchemy.engine", "sqlalchemy.pool", "psycopg"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def head_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config(create_engine("sqlite://")))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def require_migrated(engine: Engine) -> None:
    """Refuse to run on a database whose schema is not at the code's head revision."""
    current = current_revision(engine)
    head = head_revision()
    if current != head:
        where = "an empty database" if current is None else f"revision {current}"
        raise NotMigrated(
            f"The database is at {where}, but this version needs {head}. "
            "Run `discharge-bot migrate` first."
        )

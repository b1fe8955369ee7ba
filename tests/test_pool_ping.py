"""PostgreSQL: a pooled connection is pinged only after it sat idle, and one the server
closed meanwhile is replaced before anyone uses it."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, text

import storage.db
from storage.db import make_engine


@pytest.fixture
def pg(engine: Engine) -> Engine:
    if engine.dialect.name != "postgresql":
        pytest.skip("the server closing a pooled connection: PostgreSQL (SQLite is a file)")
    return engine


def pings(engine: Engine) -> list[float]:
    """Every ping the dialect makes, still made (the real round trip, counted)."""
    seen: list[float] = []
    real = engine.dialect.do_ping

    def counted(dbapi_connection: object) -> bool:
        seen.append(time.monotonic())
        return bool(real(dbapi_connection))

    engine.dialect.do_ping = counted  # type: ignore[method-assign]
    return seen


def backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(text("SELECT pg_backend_pid()")) or 0)


def test_a_connection_back_from_use_a_moment_ago_is_not_pinged(pg: Engine) -> None:
    seen = pings(pg)
    first = backend_pid(pg)
    for _ in range(20):
        assert backend_pid(pg) == first  # the same pooled connection, hot
    assert seen == []


def test_an_idle_connection_the_server_closed_is_replaced_before_use(
    pg: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage.db, "PING_AFTER_IDLE_SECONDS", 0.05)
    engine = make_engine(pg.url.render_as_string(hide_password=False))
    try:
        seen = pings(engine)
        idle = backend_pid(engine)
        with pg.connect() as other:  # the server ends it (a restart, an idle timeout)
            other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": idle})
        time.sleep(0.1)
        assert backend_pid(engine) != idle  # no error: pinged, found closed, replaced
        assert len(seen) == 1
    finally:
        engine.dispose()

"""What a long-running `serve` keeps per request is bounded (issue #14, item 7).

Each structure that is keyed by something a request brings (a lock wait left in the budget,
a Slack user) is filled with many more distinct keys than its bound, and the test checks
that it holds no more than the bound.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import text

from storage.db import make_engine
from storage.retry import MIN_WAIT_MS, WAIT_STEPS_MS, lock_wait_step, within_budget


def test_a_lock_wait_is_one_of_a_few_dozen_steps_never_longer_than_what_is_left() -> None:
    steps = {lock_wait_step(ms) for ms in range(0, 60_001)}
    assert steps <= set(WAIT_STEPS_MS)
    assert len(steps) <= 35
    for ms in range(MIN_WAIT_MS, 60_001, 7):
        step = lock_wait_step(ms)
        assert step <= ms  # never waits longer than the budget allows
        assert step >= ms * 0.79  # and not much shorter
    assert lock_wait_step(0) == MIN_WAIT_MS


def test_sqlite_busy_timeouts_are_a_bounded_set_of_statements(tmp_path: Path) -> None:
    """Every transaction in a budget sets SQLite's busy timeout by a PRAGMA whose text holds
    the wait; 400 budgets of distinct lengths must produce a few dozen texts, not 400 (each
    text is an entry in sqlite3's per-connection statement cache)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'bounds.db'}", pool_size=1, max_overflow=0)
    seen: set[str] = set()
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert isinstance(raw, sqlite3.Connection)
        raw.set_trace_callback(lambda sql: seen.add(sql) if "busy_timeout" in sql else None)

    def one() -> None:
        with engine.begin() as c:
            c.execute(text("SELECT 1"))

    for i in range(400):
        within_budget(one, seconds=0.05 + i * 0.013)
    engine.dispose()
    assert 5 < len(seen) <= len(WAIT_STEPS_MS)
    assert seen <= {f"PRAGMA busy_timeout = {step}" for step in WAIT_STEPS_MS}

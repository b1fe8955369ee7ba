"""What a long-running `serve` keeps per request is bounded (issue #14, item 7).

Each structure that is keyed by something a request brings (a lock wait left in the budget,
a Slack user) is filled with many more distinct keys than its bound, and the test checks
that it holds no more than the bound.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import cast

from slack_sdk import WebClient
from sqlalchemy import text

from bot.settings import Settings
from bot.slack.directory import SlackDirectory
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


class _Users:
    """users.info for any id, counting the calls."""

    def __init__(self) -> None:
        self.calls = 0

    def users_info(self, *, user: str) -> dict[str, object]:
        self.calls += 1
        return {"user": {"id": user, "tz": "America/Toronto", "real_name": f"Name {user}"}}


def test_the_slack_profile_cache_holds_at_most_its_bound() -> None:
    users = _Users()
    now = [0.0]
    directory = SlackDirectory(
        cast(WebClient, users),
        Settings(_env_file=None),
        max_profiles=100,
        monotonic=lambda: now[0],
    )
    for i in range(1000):
        now[0] += 1
        profile = directory.profile(f"U{i:08d}")
        assert profile is not None
        assert profile.real_name == f"Name U{i:08d}"
    assert len(directory._profiles) == 100
    assert set(directory._profiles) == {f"U{i:08d}" for i in range(900, 1000)}
    # A recent user is still answered from the cache; an evicted one is asked again.
    calls = users.calls
    directory.profile("U00000999")
    assert users.calls == calls
    directory.profile("U00000000")
    assert users.calls == calls + 1
    assert len(directory._profiles) == 100

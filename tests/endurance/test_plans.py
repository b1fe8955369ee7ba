"""The hot read of many episodes' events seeks an index per episode on both backends, even
with no planner statistics (a fresh PostgreSQL table, autovacuum off, right after an import)
(issue #14, item 7: a query that scans a growing table makes every App Home, caseload page
and tick slower as the events pile up)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, event

from bot.services.episodes import POLICY_KINDS
from storage.repository import UnitOfWork
from tests.seeding import seed_caseload

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def _plan(engine: Engine, statement: str, parameters: Any) -> list[str]:
    postgres = engine.dialect.name == "postgresql"
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(("EXPLAIN " if postgres else "EXPLAIN QUERY PLAN ") + statement, parameters)
        return [str(row[0] if postgres else row[-1]) for row in cursor.fetchall()]
    finally:
        raw.close()


def test_events_of_a_page_of_episodes_seek_the_index(engine: Engine, uow: UnitOfWork) -> None:
    seed_caseload(uow, size=20_000, due=0, clinicians=20, now=NOW)
    statements: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "events" in statement:
            statements.append((statement, parameters))

    page = list(range(1, 20_001, 97))  # 207 episodes spread over the table
    nearby = list(range(10_001, 10_500, 7))  # a caseload page's unsettled episodes
    event.listen(engine, "before_cursor_execute", record)
    try:
        with uow() as repo:
            found = repo.events_of_episodes(page, kinds=["episode_opened", "admin_note"])
            everything = repo.events_of_episodes(page[:3])
            # Every kind the policy reads: a long IN list on `kind` is what made the
            # planner prefer a full scan for a caseload page (8.7 ms a page at 100k).
            policy = repo.events_of_episodes(page, kinds=POLICY_KINDS)
            entries = repo.event_entries_of_episodes(nearby, kinds=POLICY_KINDS)
    finally:
        event.remove(engine, "before_cursor_execute", record)

    assert sorted(found) == page
    assert all(len(found[i]) == 1 and found[i][0].episode_id == i for i in page)
    assert [r.episode_id for r in everything[page[1]]] == [page[1]]
    assert {i: [r.id for r in rows] for i, rows in policy.items()} == {
        i: [r.id for r in rows] for i, rows in found.items()
    }
    assert sorted(entries) == nearby
    assert all([e.kind for e in entries[i]] == ["episode_opened"] for i in nearby)
    assert len(statements) == 4
    for statement, parameters in statements:
        plan = "\n".join(_plan(engine, statement, parameters))
        assert "Seq Scan on events" not in plan, plan
        assert "SCAN events" not in plan.replace("SCAN events USING", ""), plan
        assert "ix_events_episode" in plan, plan

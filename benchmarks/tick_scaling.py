"""How a scheduler pass scales: with the work due, not with the caseload, on both backends.

For each backend and caseload size, with the same `--due` clients due, it times one `tick`
(the indexed `next_due_at` query, a batch's writes in a few statements) side by side with
two baselines run in the same process on the same database:

- *row by row*: the same pass with each episode's writes on their own (an outbox insert, an
  event insert and a schedule update per due episode: how the pass wrote before batching);
- *scan all* (up to `--scan-up-to` clients): what a naive design would run, assessing every
  client's whole history on every pass.

Between runs the due episodes are put back as seeded (their outbox rows and prompts
deleted, their schedule restored), so every run finds the same work. Each figure is the
median of `--repeat` runs, the batched and row-by-row passes interleaved; the SQL statements
of one pass are counted, and the load average is printed (the machine may be shared).

    .venv/bin/python benchmarks/tick_scaling.py [--backends sqlite,postgresql]
        [--sizes 1000,100000] [--due 500] [--repeat 3] [--scan-up-to 30000]
        [--postgres-url postgresql://postgres@127.0.0.1:5432/test_tickhome]

The PostgreSQL database is emptied (every table dropped) and migrated afresh per size, and
left without planner statistics, as right after an import.

Targets (exit 1 when missed), per backend: the largest caseload's tick within 1.2x of the
smallest's and under 0.5 s in-process; a second pass with nothing new due under 50 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, bindparam, delete, event, select, text, update

from benchmarks._common import ensure_postgres_database
from bot.clock import FixedClock
from bot.services import Services, build_services
from bot.services.episodes import POLICY_KINDS, SCHEDULE_COLUMNS
from bot.services.outreach import TICK_BATCH
from bot.settings import Settings
from smart_phrases import PhraseLibrary
from storage.db import make_engine, make_session_factory, migrate
from storage.models import Base, Episode, EventRecord, OutboxMessage
from storage.repository import UnitOfWork
from tests.seeding import seed_caseload

NOW = datetime(2026, 3, 16, 15, 0, tzinfo=UTC)  # a Monday, 11:00 in Toronto
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test_tickhome"


def full_scan(service: Services) -> int:
    """The naive baseline: look at every client's whole history on every pass."""
    due = 0
    with service.uow() as repo:
        for client in repo.clients():
            episode = repo.current_episode(client.id)
            assert episode is not None
            due += bool(service.episodes.assess(repo, client, episode, NOW).due)
    return due


def tick_row_by_row(service: Services) -> int:
    """The pass with each episode's writes on their own: `advance` without a shared batch
    writes its outbox row, its event and its schedule before the next episode is looked at
    (three statements per due episode, as the tick did before batching)."""
    queued = 0
    seen: set[int] = set()
    while True:
        with service.uow() as repo:
            batch = [e for e in repo.due_episodes(now=NOW, limit=TICK_BATCH) if e.id not in seen]
            records = repo.events_of_episodes([e.id for e in batch], kinds=POLICY_KINDS)
            for episode in batch:
                seen.add(episode.id)
                _, written = service.episodes.advance(
                    repo, episode.client, episode, NOW, records.get(episode.id, [])
                )
                queued += len(written)
        if len(batch) < TICK_BATCH:
            break
    queued += len(service.headsups.queue_due(NOW))
    with service.uow() as repo:
        repo.mark(name="last_tick", at=NOW, detail=f"{queued} queued")
    return queued


@contextmanager
def counting(engine: Engine) -> Iterator[list[int]]:
    seen = [0]

    def count(*_: Any) -> None:
        seen[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


class Seeded:
    """A seeded caseload whose due episodes can be put back as they were before a pass."""

    def __init__(self, engine: Engine, uow: UnitOfWork) -> None:
        self.engine = engine
        self.uow = uow
        columns = [Episode.__table__.c[c] for c in SCHEDULE_COLUMNS]
        with uow() as repo:
            self.due = [
                dict(row._mapping)
                for row in repo.session.execute(
                    select(Episode.__table__.c.id, *columns).where(
                        Episode.next_due_at <= NOW, Episode.closed_at.is_(None)
                    )
                )
            ]

    def reset(self) -> None:
        table = Episode.__table__
        restore = (
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values({c: bindparam(f"_{c}", type_=table.c[c].type) for c in SCHEDULE_COLUMNS})
        )
        with self.uow() as repo:
            s = repo.session
            s.execute(delete(OutboxMessage))
            s.execute(delete(EventRecord).where(EventRecord.kind == "prompted"))
            s.execute(
                restore,
                [{"_id": r["id"], **{f"_{c}": r[c] for c in SCHEDULE_COLUMNS}} for r in self.due],
            )
        if self.engine.dialect.name == "sqlite":  # what the pass writes, not the reset's WAL
            with self.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


@dataclass
class Runs:
    tick: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # this process's CPU time of `tick`
    rows: list[float] = field(default_factory=list)
    idle: list[float] = field(default_factory=list)
    statements: int = 0
    row_statements: int = 0
    scan: float | None = None


def timed(work: Callable[[], int], expected: int, cpu: list[float] | None = None) -> float:
    started, used = time.perf_counter(), time.process_time()
    got = work()
    elapsed = time.perf_counter() - started
    if cpu is not None:
        cpu.append(time.process_time() - used)
    assert got == expected, (got, expected)
    return elapsed


def run(url: str, size: int, due: int, phrases: PhraseLibrary, repeat: int, scan: bool) -> Runs:
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            Base.metadata.drop_all(connection)
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    migrate(engine)
    uow = UnitOfWork(make_session_factory(engine))
    settings = Settings(_env_file=None, database_url=url, cct_channel_id="C0CCT")
    service = build_services(uow, FixedClock(NOW), settings, phrases)
    seed_caseload(uow, size=size, due=due, clinicians=50, now=NOW)
    seeded = Seeded(engine, uow)
    runs = Runs()
    if scan:
        seeded.reset()
        started = time.perf_counter()
        assert full_scan(service) == due
        runs.scan = time.perf_counter() - started
    for _ in range(repeat):
        seeded.reset()
        with counting(engine) as statements:
            runs.tick.append(timed(lambda: len(service.outreach.tick(NOW).queued), due, runs.cpu))
        runs.statements = statements[0]
        # nothing new is due: the pass only asks the indexes
        runs.idle.append(timed(lambda: len(service.outreach.tick(NOW).queued), 0))
        seeded.reset()
        with counting(engine) as statements:
            runs.rows.append(timed(lambda: tick_row_by_row(service), due))
        runs.row_statements = statements[0]
    engine.dispose()
    return runs


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


def load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--due", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument(
        "--scan-up-to", type=int, default=30000, help="run the scan-all baseline up to this size"
    )
    args = parser.parse_args()
    phrases = PhraseLibrary.load()
    sizes = [int(s) for s in args.sizes.split(",")]
    missed = []
    with tempfile.TemporaryDirectory() as folder:
        # Warm up first (imports, phrase templates): not a caseload's cost.
        run(f"sqlite:///{Path(folder) / 'warm.db'}", 100, 10, phrases, 1, scan=False)
        for backend in args.backends.split(","):
            print(f"\n{backend}: {args.due} due, median of {args.repeat}; load {load()}")
            print(
                f"{'caseload':>9} {'tick':>9} {'cpu':>8} {'stmts':>6} {'row by row':>11} {'stmts':>6} "
                f"{'ratio':>6} {'scan all':>9} {'idle pass':>10}"
            )
            ticks: dict[int, tuple[float, float]] = {}
            for size in sizes:
                url = (
                    ensure_postgres_database(args.postgres_url)
                    if backend == "postgresql"
                    else f"sqlite:///{Path(folder) / f'bench-{size}.db'}"
                )
                runs = run(url, size, args.due, phrases, args.repeat, size <= args.scan_up_to)
                tick, rows = statistics.median(runs.tick), statistics.median(runs.rows)
                idle = statistics.median(runs.idle)
                ticks[size] = (tick, idle)
                print(
                    f"{size:>9} {ms(tick):>9} {ms(statistics.median(runs.cpu)):>8} "
                    f"{runs.statements:>6} {ms(rows):>11} "
                    f"{runs.row_statements:>6} {rows / tick:>5.1f}x "
                    f"{ms(runs.scan) if runs.scan else '(skipped)':>9} {ms(idle):>10}"
                )
            smallest, largest = min(ticks), max(ticks)
            ratio = ticks[largest][0] / ticks[smallest][0]
            print(f"tick {largest} / tick {smallest}: {ratio:.2f}x; load {load()}")
            if ratio > 1.2:
                missed.append(
                    f"{backend}: tick at {largest} is {ratio:.2f}x the tick at {smallest}"
                )
            if ticks[largest][0] > 0.5:
                missed.append(
                    f"{backend}: tick at {largest} took {ms(ticks[largest][0])} (< 0.5 s)"
                )
            if ticks[largest][1] > 0.05:
                missed.append(f"{backend}: idle pass at {largest} took {ms(ticks[largest][1])}")
    for line in missed:
        print("MISSED: " + line)
    print("every target met" if not missed else "")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

"""How a scheduler pass scales: with the work due, not with the caseload.

For caseloads of growing size with the same 100 clients due, it times one `tick` (the
indexed `next_due_at` query) side by side with the baseline a naive design would run: assess
every client on every pass. Prints one row per size and the ratio.

    .venv/bin/python benchmarks/tick_scaling.py [--sizes 1000,100000] [--due 500]
                                                [--database-url URL] [--scan-up-to 30000]

Targets (exit 1 when missed): the largest caseload's tick within 1.2x of the smallest's and
under 0.5 s in-process; a second pass with nothing new due under 50 ms.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text

from bot.clock import FixedClock
from bot.services import Services, build_services
from bot.settings import Settings
from smart_phrases import PhraseLibrary
from storage.db import make_engine, make_session_factory, migrate
from storage.models import Base
from storage.repository import UnitOfWork
from tests.seeding import seed_caseload

NOW = datetime(2026, 3, 16, 15, 0, tzinfo=UTC)  # a Monday, 11:00 in Toronto


def full_scan(service: Services) -> int:
    """The baseline: look at every client's whole history on every pass."""
    due = 0
    with service.uow() as repo:
        for client in repo.clients():
            episode = repo.current_episode(client.id)
            assert episode is not None
            due += bool(service.episodes.assess(repo, client, episode, NOW).due)
    return due


def run(
    url: str, size: int, due: int, phrases: PhraseLibrary, *, scan: bool
) -> tuple[float, float | None, int, float]:
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
    if engine.dialect.name == "sqlite":  # the seed's WAL is the import's cost, not the tick's
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    baseline = None
    if scan:
        started = time.perf_counter()
        assert full_scan(service) == due
        baseline = time.perf_counter() - started
    started = time.perf_counter()
    result = service.outreach.tick(NOW)
    indexed = time.perf_counter() - started
    assert due == len(result.queued), (due, len(result.queued))
    started = time.perf_counter()
    again = service.outreach.tick(NOW)  # nothing new is due: the pass only asks the index
    idle = time.perf_counter() - started
    assert not again.queued
    engine.dispose()
    return indexed, baseline, len(result.queued), idle


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--due", type=int, default=500)
    parser.add_argument("--database-url", help="default: a fresh SQLite file per size")
    parser.add_argument(
        "--scan-up-to", type=int, default=30000, help="run the scan-all baseline up to this size"
    )
    args = parser.parse_args()
    phrases = PhraseLibrary.load()
    print(
        f"{'caseload':>9} {'due':>5} {'tick (indexed)':>15} "
        f"{'baseline (scan all)':>20} {'ratio':>7} {'idle pass':>10}"
    )
    ticks: dict[int, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        # Warm up first (imports, compiled queries, phrase templates): not a caseload's cost.
        run(f"sqlite:///{Path(folder) / 'warm.db'}", 100, 10, phrases, scan=False)
        for size in (int(s) for s in args.sizes.split(",")):
            url = args.database_url or f"sqlite:///{Path(folder) / f'bench-{size}.db'}"
            indexed, baseline, queued, idle = run(
                url, size, args.due, phrases, scan=size <= args.scan_up_to
            )
            ticks[size] = (indexed, idle)
            scan = (
                f"{baseline * 1000:>17.0f} ms {baseline / indexed:>6.1f}x"
                if baseline
                else (f"{'(skipped)':>20} {'':>7}")
            )
            print(f"{size:>9} {queued:>5} {indexed * 1000:>12.0f} ms {scan} {idle * 1000:>7.1f} ms")
    smallest, largest = min(ticks), max(ticks)
    ratio = ticks[largest][0] / ticks[smallest][0]
    missed = []
    if ratio > 1.2:
        missed.append(f"tick at {largest} is {ratio:.2f}x the tick at {smallest} (target <= 1.2x)")
    if ticks[largest][0] > 0.5:
        missed.append(f"tick at {largest} took {ticks[largest][0]:.2f} s (target < 0.5 s)")
    if ticks[largest][1] > 0.05:
        missed.append(f"idle pass at {largest} took {ticks[largest][1] * 1000:.0f} ms (< 50 ms)")
    print(f"tick {largest} / tick {smallest}: {ratio:.2f}x")
    for line in missed:
        print("MISSED: " + line)
    if missed:
        sys.exit(1)
    print("every target met")


if __name__ == "__main__":
    main()

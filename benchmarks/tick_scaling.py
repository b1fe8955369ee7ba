"""How a scheduler pass scales: with the work due, not with the caseload.

For caseloads of growing size with the same 100 clients due, it times one `tick` (the
indexed `next_due_at` query) side by side with the baseline a naive design would run: assess
every client on every pass. Prints one row per size and the ratio.

    .venv/bin/python benchmarks/tick_scaling.py [--sizes 1000,10000,30000] [--due 100]
                                                [--database-url URL]
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


def run(url: str, size: int, due: int, phrases: PhraseLibrary) -> tuple[float, float, int]:
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
    started = time.perf_counter()
    baseline_due = full_scan(service)
    baseline = time.perf_counter() - started
    started = time.perf_counter()
    result = service.outreach.tick(NOW)
    indexed = time.perf_counter() - started
    assert baseline_due == due == len(result.queued), (baseline_due, due, len(result.queued))
    engine.dispose()
    return indexed, baseline, len(result.queued)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000,30000")
    parser.add_argument("--due", type=int, default=100)
    parser.add_argument("--database-url", help="default: a fresh SQLite file per size")
    args = parser.parse_args()
    phrases = PhraseLibrary.load()
    print(
        f"{'caseload':>9} {'due':>5} {'tick (indexed)':>15} "
        f"{'baseline (scan all)':>20} {'ratio':>7}"
    )
    with tempfile.TemporaryDirectory() as folder:
        for size in (int(s) for s in args.sizes.split(",")):
            url = args.database_url or f"sqlite:///{Path(folder) / f'bench-{size}.db'}"
            indexed, baseline, queued = run(url, size, args.due, phrases)
            print(
                f"{size:>9} {queued:>5} {indexed * 1000:>12.0f} ms {baseline * 1000:>17.0f} ms "
                f"{baseline / indexed:>6.1f}x"
            )


if __name__ == "__main__":
    main()

"""App Home (and the CCT view) for one clinician with many clients, next to one with few.

Seeds --small and --large clients for a single clinician (a third of them in outreach, their
prompts queued), opens App Home as that clinician (with the CCT queue) and times the read
(median of --repeat), with the number of SQL statements it ran. Targets: the large home under
300 ms; statements growing by page (two per 500 clients), not per client.

    .venv/bin/python benchmarks/home.py [--small 50] [--large 2000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, text

from bot.clock import FixedClock
from bot.services import build_services
from bot.settings import Settings
from smart_phrases import PhraseLibrary
from storage.db import make_engine, make_session_factory, migrate
from storage.models import Base
from storage.repository import UnitOfWork
from tests.seeding import seed_caseload

NOW = datetime(2026, 3, 16, 15, 0, tzinfo=UTC)


def measure(url: str, size: int, repeat: int) -> tuple[float, int]:
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as c:
            Base.metadata.drop_all(c)
            c.execute(text("DROP TABLE IF EXISTS alembic_version"))
    migrate(engine)
    uow = UnitOfWork(make_session_factory(engine))
    seed_caseload(uow, size=size, due=size // 3, clinicians=1, now=NOW)
    settings = Settings(_env_file=None, database_url=url, cct_channel_id="C0CCT")
    services = build_services(uow, FixedClock(NOW), settings, PhraseLibrary.load())
    services.outreach.tick(NOW)
    statements = 0

    def count(*_: object) -> None:
        nonlocal statements
        statements += 1

    times = []
    for _ in range(repeat):
        statements = 0
        event.listen(engine, "before_cursor_execute", count)
        started = time.perf_counter()
        services.reads.home("U00000000", is_cct=True)
        times.append(time.perf_counter() - started)
        event.remove(engine, "before_cursor_execute", count)
    engine.dispose()
    return statistics.median(times), statements


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", type=int, default=50)
    parser.add_argument("--large", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", help="default: a fresh SQLite file per size")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for size in (args.small, args.large):
            url = args.database_url or f"sqlite:///{Path(folder) / f'home-{size}.db'}"
            results[size] = measure(url, size, args.repeat)
            seconds, statements = results[size]
            print(f"App Home, {size:>5} clients: {seconds * 1000:7.1f} ms, {statements} statements")
    (small_s, small_n), (large_s, large_n) = results[args.small], results[args.large]
    print(f"large / small: {large_s / small_s:.2f}x time, {large_n} vs {small_n} statements")
    pages = -(-args.large // 500)  # the reads take pages of 500 clients, two queries each
    ok = large_s < 0.3 and large_n <= small_n + 2 * pages
    print("targets met" if ok else "MISSED: large home >= 300 ms, or queries grow per client")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

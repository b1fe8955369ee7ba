"""The cost of one `/care note` as a client's history grows, in-process (no HTTP, no Slack).

Writes --notes notes through the real use case (`log_note`) on one client and
spread over --clients clients, and prints the mean time per note in each quarter of the run
and last/first (the target: within 1.2x). Run it from another checkout to compare versions:

    .venv/bin/python benchmarks/note_history.py [--notes 2000] [--clients 2000]
                                                [--database-url URL]
    PYTHONPATH=/path/to/old/checkout .venv/bin/python benchmarks/note_history.py  # before
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.append(str(Path(__file__).resolve().parents[1]))  # PYTHONPATH wins: see above

from sqlalchemy import text

import bot.services as services_module
from bot.clock import FixedClock
from bot.settings import Settings
from smart_phrases import PhraseLibrary
from storage.db import make_engine, make_session_factory, migrate
from storage.models import Base
from storage.repository import UnitOfWork
from tests.seeding import seed_caseload

NOW = datetime(2026, 3, 16, 15, 0, tzinfo=UTC)


def note_use_case(uow: UnitOfWork, settings: Settings) -> tuple[Any, Any]:
    """The actor and `log_note` of whichever version of the code is imported."""
    phrases = PhraseLibrary.load()
    if hasattr(services_module, "build_services"):
        from bot.services.types import Actor, Source

        built = services_module.build_services(uow, FixedClock(NOW), settings, phrases)
        return Actor("cli:admin", Source.CLI), built.notes.log_note
    old = services_module.CareService(uow, FixedClock(NOW), settings, phrases)  # before #10
    return services_module.Actor("cli:admin", services_module.Source.CLI), old.log_note


def run(url: str, notes: int, clients: int, one_client: bool) -> list[float]:
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as c:
            Base.metadata.drop_all(c)
            c.execute(text("DROP TABLE IF EXISTS alembic_version"))
    migrate(engine)
    uow = UnitOfWork(make_session_factory(engine))
    seed_caseload(uow, size=clients, due=0, clinicians=50, now=NOW)
    settings = Settings(_env_file=None, database_url=url, cct_channel_id="C0CCT")
    actor, log_note = note_use_case(uow, settings)
    times = []
    for i in range(notes):
        chart = "R-0" if one_client else f"R-{i % clients}"
        started = time.perf_counter()
        log_note(chart, f"bench note {i}", actor=actor)
        times.append(time.perf_counter() - started)
    engine.dispose()
    n = notes // 4
    return [statistics.mean(times[q * n : (q + 1) * n]) * 1000 for q in range(4)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--notes", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--database-url", help="default: a fresh SQLite file per run")
    args = parser.parse_args()
    import bot

    print(f"# code from {Path(bot.__file__).parents[1]}")
    with tempfile.TemporaryDirectory() as folder:
        for one in (True, False):
            url = args.database_url or f"sqlite:///{Path(folder) / f'notes{int(one)}.db'}"
            q = run(url, args.notes, args.clients, one)
            where = "one client" if one else f"over {args.clients} clients"
            print(
                f"{args.notes} notes {where}: ms per note by quarter "
                f"{' / '.join(f'{m:.2f}' for m in q)}; last/first {q[3] / q[0]:.2f}x"
            )


if __name__ == "__main__":
    main()

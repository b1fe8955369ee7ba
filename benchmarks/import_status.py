"""Import and status at 100k clients (issue #14, item 4), side by side with baselines.

For each backend it writes a caseload CSV of --size clients (500 clinicians in three zones;
85% seen in the last two weeks, 15% quiet for 15-120 days, so due or in outreach at once;
30% with a session booked; 10% bare dates), then runs the real commands in-process, timed
wall and CPU:

- `discharge-bot import FILE.csv` into an empty, migrated database (names encrypted, as in
  production with DATA_ENCRYPTION_KEY), then the same file again (nothing changes);
- `discharge-bot status --no-pager` (the whole caseload, written to a file);
- `discharge-bot status --page N --page-size 50` (one page from the middle).

Baselines, in the same run:

- import: the previous one-row-at-a-time ORM import (`tests/reference_import.py`, what
  `import` ran before) on the first --baseline-size rows into a fresh database of the same
  backend, parse included; its rate gives the "before" at --size (scaled linearly: it does a
  fixed number of indexed queries and flushes per row). On SQLite also the floor: a bare
  `sqlite3` executemany of the same number of rows into the same four tables (clients,
  episodes, events, audit_log), pre-built tuples, one transaction - what the database alone
  costs, without parsing, the policy, types or encryption;
- status: the previous read (every client's history assessed, ORM objects per client) over
  the first --baseline-size clients, scaled to --size.

    .venv/bin/python benchmarks/import_status.py [--size 100000] [--baseline-size 5000]
        [--backends sqlite,postgresql]
        [--database-url postgresql://postgres@127.0.0.1:5432/test_importstatus]

Targets (exit 1 when missed): import under 30 s on SQLite; status of the whole caseload
under 3 s on every backend run. The load average is printed with the results: on a shared
machine read the ratios, and the CPU seconds, as much as the wall times.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text

from benchmarks._common import ensure_postgres_database
from bot.clock import FixedClock
from bot.domain.policy import assess
from bot.entrypoints.cli import main as cli
from bot.services import build_services
from bot.services.caseload_file import read_caseload
from bot.services.types import Actor, Source
from bot.settings import Settings
from smart_phrases import PhraseLibrary
from storage.crypto import Keyring, attach_keyring, generate_key
from storage.db import make_engine, make_session_factory, migrate
from storage.models import Base
from storage.repository import UnitOfWork
from tests.reference_import import RowByRowImport

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test_importstatus"
ZONES = ("America/Toronto", "America/Vancouver", "America/Halifax")
NAMES = ("Ana", "Ben", "Chloé", "Dev", "Eli", "Fatima", "Gus", "Hana", "Ivo", "June")
IMPORT_TARGET = 30.0
STATUS_TARGET = 3.0
ADMIN = Actor("cli:bench", Source.CLI)


def caseload_csv(path: Path, size: int, now: datetime, *, clinicians: int = 500) -> None:
    rng = random.Random(14)
    lines = [
        "client_id,clinician_slack_id,first_name,last_contact_at,next_session_at,"
        "clinician_timezone,last_session_at"
    ]
    for i in range(size):
        c = i % clinicians
        quiet = rng.random() < 0.15
        ago = timedelta(days=rng.randint(15, 120) if quiet else rng.randint(0, 13))
        slot = timedelta(hours=8 + rng.randint(0, 19) / 2)
        day = (now - ago).date()
        contact = day.isoformat() if rng.random() < 0.1 else f"{day}T{_hm(slot)}"
        booking = ""
        if rng.random() < 0.3:
            ahead = (now + timedelta(days=rng.randint(1, 21))).date()
            booking = f"{ahead}T{_hm(slot)}"
        session = contact if rng.random() < 0.5 else ""
        lines.append(
            f"R-{i:06d},U{c:08d},{NAMES[i % len(NAMES)]},{contact},{booking},"
            f"{ZONES[c % 3]},{session}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _hm(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass
class Timed:
    wall: float
    cpu: float
    out: str


def timed(action: Callable[[], Any]) -> Timed:
    buffer = io.StringIO()
    started, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(buffer):
        result = action()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    if result not in (None, 0):
        raise SystemExit(f"command failed ({result}): {buffer.getvalue()[-500:]}")
    return Timed(wall, cpu, buffer.getvalue())


def fresh(url: str) -> None:
    """An empty database at `url`, migrated to the head."""
    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            Base.metadata.drop_all(connection)
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    migrate(engine)
    engine.dispose()


@contextlib.contextmanager
def environment(url: str, key: str) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(
        DATABASE_URL=url,
        DATA_ENCRYPTION_KEY=key,
        DISCHARGE_PRACTICE_NAME="Benchmark Practice",
        DISCHARGE_PRACTICE_TIMEZONE="America/Toronto",
    )
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def row_by_row(url: str, csv_path: Path, size: int, key: str, now: datetime) -> tuple[float, float]:
    """The previous import (one ORM row at a time) of the first `size` rows: wall and CPU
    seconds."""
    fresh(url)
    small = csv_path.with_name(f"first-{size}.csv")
    with csv_path.open(encoding="utf-8") as whole:
        small.write_text("".join(itertools.islice(whole, size + 1)), encoding="utf-8")
    engine = make_engine(url)
    attach_keyring(engine, Keyring([key]))
    uow = UnitOfWork(make_session_factory(engine))
    settings = Settings(_env_file=None, database_url=url, practice_timezone="America/Toronto")
    services = build_services(uow, FixedClock(now), settings, PhraseLibrary.load())
    started, cpu = time.perf_counter(), time.process_time()
    rows = read_caseload(small, practice_timezone="America/Toronto")
    RowByRowImport(services.episodes).import_caseload(rows, actor=ADMIN)
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    engine.dispose()
    return took, cpu


def assess_every_client(url: str, size: int, key: str) -> tuple[float, float]:
    """The previous `status` read (every client's events and ORM objects, every history
    assessed) over the first `size` clients of the imported caseload: wall and CPU seconds."""
    engine = make_engine(url)
    attach_keyring(engine, Keyring([key]))
    uow = UnitOfWork(make_session_factory(engine))
    settings = Settings(_env_file=None, database_url=url, practice_timezone="America/Toronto")
    services = build_services(uow, FixedClock(datetime.now(UTC)), settings, PhraseLibrary.load())
    now = services.clock.now()
    started, cpu = time.perf_counter(), time.process_time()
    with uow() as repo:
        pages = services.episodes.caseload_pages(repo, clinician_id=None)
        for client, episode, records in itertools.islice(pages, size):
            assess(
                services.episodes.history(repo, episode, records),
                services.episodes.policy,
                services.episodes.hours_for(client.clinician),
                now,
            )
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    engine.dispose()
    return took, cpu


def sqlite_floor(folder: Path, size: int) -> float:
    """Bare sqlite3: the same number of rows into the same four tables, one transaction."""
    path = folder / "floor.db"
    fresh(f"sqlite:///{path}")
    stamp = "2026-11-29 15:00:00.000000"
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    started = time.perf_counter()
    with connection:
        connection.executemany(
            "INSERT INTO clinicians (id, slack_user_id, created_at) VALUES (?, ?, ?)",
            [(c + 1, f"U{c:08d}", stamp) for c in range(500)],
        )
        connection.executemany(
            "INSERT INTO clients (id, chart_id, clinician_id, first_name, platform_user_id, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (i + 1, f"R-{i:06d}", i % 500 + 1, "Ana", f"R-{i:06d}", stamp, stamp)
                for i in range(size)
            ],
        )
        connection.executemany(
            "INSERT INTO episodes (id, client_id, opened_at, opened_reason, baseline_contact_at,"
            " booked_sessions, state, checkins_sent, next_step, next_due_at, last_contact_at,"
            " updated_at) VALUES (?, ?, ?, 'imported', ?, '[]', 'active', 0, 'checkin 1', ?, ?,"
            " ?)",
            [(i + 1, i + 1, stamp, stamp, stamp, stamp, stamp) for i in range(size)],
        )
        connection.executemany(
            "INSERT INTO events (client_id, episode_id, kind, occurred_at, recorded_at, actor,"
            " source, data) VALUES (?, ?, 'episode_opened', ?, ?, 'system', 'system',"
            ' \'{"label": "imported"}\')',
            [(i + 1, i + 1, stamp, stamp) for i in range(size)],
        )
        connection.executemany(
            "INSERT INTO audit_log (at, actor, action, client_id, episode_id, details) "
            "VALUES (?, 'cli:bench', 'client_imported', ?, ?, ?)",
            [(stamp, i + 1, i + 1, f'{{"line": {i + 2}, "source": "cli"}}') for i in range(size)],
        )
    took = time.perf_counter() - started
    connection.close()
    return took


def settled_share(url: str) -> float:
    engine = make_engine(url)
    with engine.connect() as connection:
        active = connection.execute(
            text("SELECT count(*) FROM episodes WHERE state = 'active' AND next_due_at > :now"),
            {
                "now": datetime.now(UTC).replace(tzinfo=None)
                if engine.dialect.name == "sqlite"
                else datetime.now(UTC)
            },
        ).scalar_one()
        total = connection.execute(text("SELECT count(*) FROM episodes")).scalar_one()
    engine.dispose()
    return active / total if total else 0.0


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def bench(name: str, url: str, folder: Path, args: argparse.Namespace) -> list[str]:
    size, small = args.size, args.baseline_size
    key = generate_key()
    now = datetime.now(UTC)
    csv_path = folder / f"caseload-{name}.csv"
    caseload_csv(csv_path, size, now)
    print(f"\n== {name}: {size:,} clients (load average before: {load()})", flush=True)

    before, before_cpu = row_by_row(url, csv_path, small, key, now)
    fresh(url)
    with environment(url, key):
        imported = timed(lambda: cli(["import", str(csv_path)]))
        again = timed(lambda: cli(["import", str(csv_path)]))
        whole = timed(lambda: cli(["status", "--no-pager"]))
        page = timed(lambda: cli(["status", "--page", str(size // 100), "--page-size", "50"]))
    assert f"{size} client(s) added" in imported.out, imported.out
    assert f"{size} unchanged" in again.out, again.out
    listed = sum(1 for line in whole.out.splitlines() if line.startswith("R-"))
    assert listed == size, listed
    assert sum(1 for line in page.out.splitlines() if line.startswith("R-")) == 50
    share = settled_share(url)
    old_status, old_status_cpu = assess_every_client(url, small, key)
    floor = sqlite_floor(folder, size) if name == "sqlite" else None

    scaled_import = before * size / small
    scaled_status = old_status * size / small
    scale = size / small
    print(f"{'':34} {'wall':>9} {'CPU':>8} {'rows/s':>9}   baseline, ratio")
    print(
        f"{'import (batched, parse included)':34} {imported.wall:>8.1f}s {imported.cpu:>7.1f}s "
        f"{size / imported.wall:>9,.0f}   row by row {small:,} in {before:.1f} s "
        f"({small / before:,.0f}/s, {scaled_import:.0f} s at {size:,}): "
        f"{scaled_import / imported.wall:.1f}x faster; CPU {before_cpu * scale:.0f} s at "
        f"{size:,}: {before_cpu * scale / imported.cpu:.1f}x"
    )
    if floor is not None:
        print(
            f"{'':34} {'':>9} {'':>8} {'':>9}   floor, bare sqlite3 executemany of the "
            f"same {4 * size:,} rows: {floor:.1f} s ({imported.wall / floor:.1f}x of it)"
        )
    print(
        f"{'import again (nothing changes)':34} {again.wall:>8.1f}s {again.cpu:>7.1f}s "
        f"{size / again.wall:>9,.0f}"
    )
    print(
        f"{'status, whole caseload':34} {whole.wall:>8.2f}s {whole.cpu:>7.2f}s "
        f"{size / whole.wall:>9,.0f}   every history assessed: {small:,} in {old_status:.2f} s "
        f"({scaled_status:.0f} s at {size:,}): {scaled_status / whole.wall:.1f}x faster; CPU "
        f"{old_status_cpu * scale:.0f} s: {old_status_cpu * scale / whole.cpu:.1f}x; "
        f"{share:.0%} settled (read from the cache)"
    )
    print(f"{'status --page (50 rows)':34} {page.wall:>8.2f}s {page.cpu:>7.2f}s")
    print(f"load average after: {load()}", flush=True)

    missed = []
    if name == "sqlite" and imported.wall > IMPORT_TARGET:
        missed.append(f"{name}: import took {imported.wall:.1f} s (target < {IMPORT_TARGET:.0f} s)")
    if whole.wall > STATUS_TARGET:
        missed.append(f"{name}: status took {whole.wall:.2f} s (target < {STATUS_TARGET:.0f} s)")
    return missed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--baseline-size", type=int, default=5_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--database-url", default=PG_DEFAULT, help=f"PostgreSQL (default {PG_DEFAULT})"
    )
    args = parser.parse_args()
    print(
        f"import_status.py at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
        f"load average {load()}"
    )
    missed: list[str] = []
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for backend in args.backends.split(","):
            url = (
                f"sqlite:///{folder / 'bench.db'}"
                if backend == "sqlite"
                else ensure_postgres_database(args.database_url)
            )
            missed += bench(backend, url, folder, args)
    print()
    for line in missed:
        print("MISSED: " + line)
    if missed:
        sys.exit(1)
    print("every target met")


if __name__ == "__main__":
    main()

"""App Home (and the CCT view) for one clinician with many clients, next to one with few,
and next to the reads App Home made before its read model, on both backends.

Seeds --small and --large clients for a single clinician (a third of them in outreach with
their prompts queued, 40 episodes waiting for CCT), opens App Home as that clinician with the
CCT queue, and times the read (median of --repeat; wall clock and this process's CPU time)
with the number of SQL statements it ran. In the same run, on the same database, interleaved:
*previous*, the reads App Home made before `storage/home_reads.py` (every client and episode
loaded as ORM entities a page at a time, the settled ones skipped after loading, the same
assessments, the CCT queue's clients loaded one by one). The load average is printed (the
machine may be shared).

    .venv/bin/python benchmarks/home.py [--backends sqlite,postgresql] [--small 50]
        [--large 2000] [--repeat 7]
        [--postgres-url postgresql://postgres@127.0.0.1:5432/test_tickhome]

The PostgreSQL database is emptied (every table dropped) and migrated afresh per size.
Targets (exit 1 when missed), per backend: the large home under 300 ms; its statements
growing by page (two per 500 unsettled clients), not per client.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, text, update

from benchmarks._common import ensure_postgres_database
from bot.clock import FixedClock
from bot.domain.policy import assess
from bot.services import Services, build_services
from bot.settings import Settings
from smart_phrases import PhraseLibrary
from storage.db import make_engine, make_session_factory, migrate
from storage.models import Base, Episode
from storage.repository import UnitOfWork
from tests.seeding import seed_caseload

NOW = datetime(2026, 3, 16, 15, 0, tzinfo=UTC)
USER = "U00000000"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test_tickhome"
CCT_WAITING = ["discharged", "care_team_removal", "rematch"]


def previous_home(services: Services) -> int:
    """The reads App Home made before its read model, with the same assessments (what it
    then drew from them, a few comparisons per client, is left out)."""
    episodes = services.episodes
    shown = 0
    with services.uow() as repo:
        clinician = repo.clinician_by_slack_id(USER)
        assert clinician is not None
        hours = episodes.hours_for(clinician)
        for _client, episode, records in episodes.caseload_pages(
            repo, clinician_id=clinician.id, settled_at=NOW
        ):
            if records is not None:
                assess(episodes.history(repo, episode, records), episodes.policy, hours, NOW)
                shown += 1
        for waiting in repo.open_episodes(states=CCT_WAITING):
            shown += bool(waiting.client.clinician.slack_user_id)
    return shown


def current_home(services: Services) -> int:
    data = services.reads.home(USER, is_cct=True)
    return len(data.needs_action) + len(data.outreach) + len(data.discharging) + len(data.cct_queue)


def measure(url: str, size: int, repeat: int, phrases: PhraseLibrary) -> dict[str, Any]:
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as c:
            Base.metadata.drop_all(c)
            c.execute(text("DROP TABLE IF EXISTS alembic_version"))
    migrate(engine)
    uow = UnitOfWork(make_session_factory(engine))
    seed_caseload(uow, size=size, due=size // 3, clinicians=1, now=NOW)
    settings = Settings(_env_file=None, database_url=url, cct_channel_id="C0CCT")
    services = build_services(uow, FixedClock(NOW), settings, phrases)
    services.outreach.tick(NOW)
    with engine.begin() as c:  # the CCT view: 40 episodes waiting for the team
        c.execute(update(Episode).where(Episode.id > size - 40).values(state="discharged"))
    counted = [0]

    def count(*_: object) -> None:
        counted[0] += 1

    results: dict[str, Any] = {}
    paths: dict[str, Callable[[Services], int]] = {
        "current": current_home,
        "previous": previous_home,
    }
    for name in paths:
        paths[name](services)  # warm: compiled statements, templates
        results[name] = {"wall": [], "cpu": []}
    for _ in range(repeat):
        for name, path in paths.items():
            counted[0] = 0
            event.listen(engine, "before_cursor_execute", count)
            wall, cpu = time.perf_counter(), time.process_time()
            path(services)
            results[name]["wall"].append(time.perf_counter() - wall)
            results[name]["cpu"].append(time.process_time() - cpu)
            event.remove(engine, "before_cursor_execute", count)
            results[name]["statements"] = counted[0]
    engine.dispose()
    return {
        name: {
            "wall": statistics.median(r["wall"]),
            "cpu": statistics.median(r["cpu"]),
            "statements": r["statements"],
        }
        for name, r in results.items()
    }


def load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--small", type=int, default=50)
    parser.add_argument("--large", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    args = parser.parse_args()
    phrases = PhraseLibrary.load()
    missed = []
    with tempfile.TemporaryDirectory() as folder:
        for backend in args.backends.split(","):
            print(f"\n{backend}: App Home with the CCT queue, median of {args.repeat}")
            print(f"load before: {load()}")
            print(
                f"{'clients':>8} {'home':>9} {'cpu':>9} {'stmts':>6} "
                f"{'previous':>9} {'cpu':>9} {'stmts':>6} {'prev / home':>12}"
            )
            found = {}
            for size in (args.small, args.large):
                url = (
                    ensure_postgres_database(args.postgres_url)
                    if backend == "postgresql"
                    else f"sqlite:///{Path(folder) / f'home-{size}.db'}"
                )
                found[size] = r = measure(url, size, args.repeat, phrases)
                now, before = r["current"], r["previous"]
                print(
                    f"{size:>8} {now['wall'] * 1000:>6.1f} ms {now['cpu'] * 1000:>6.1f} ms "
                    f"{now['statements']:>6} {before['wall'] * 1000:>6.1f} ms "
                    f"{before['cpu'] * 1000:>6.1f} ms {before['statements']:>6} "
                    f"{before['wall'] / now['wall']:>11.2f}x"
                )
            small, large = found[args.small]["current"], found[args.large]["current"]
            print(
                f"large / small: {large['wall'] / small['wall']:.2f}x time, "
                f"{large['statements']} vs {small['statements']} statements; load after: {load()}"
            )
            pages = -(-args.large // 500)  # two queries per page of 500 unsettled clients
            if large["wall"] >= 0.3:
                missed.append(
                    f"{backend}: App Home for {args.large} clients took "
                    f"{large['wall'] * 1000:.0f} ms (< 300 ms)"
                )
            if large["statements"] > small["statements"] + 2 * pages:
                missed.append(f"{backend}: statements grow per client")
    for line in missed:
        print("MISSED: " + line)
    print("every target met" if not missed else "")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

"""The re-engagement report over a large practice: 100,000 clients and a year of events.

Seeds a database directly (clinicians, clients, episodes, about 20 session events per client
over the year, check-in notes, prompts, heads-ups), then times `compile_report` for the whole
practice and for one clinician, side by side with the baseline a naive design would run: a
Python loop over every client reading its episodes and events (timed on a sample, then
scaled to the caseload). Target: the report in under 2 s. Prints numbers; asserts nothing
about time.

    .venv/bin/python benchmarks/report.py [--clients 100000] [--clinicians 100]
                                          [--database-url URL]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select, text

from bot.entrypoints.report_formats import render
from bot.services.report import compile_report
from bot.settings import Settings
from storage.db import make_engine, make_session_factory, migrate
from storage.models import (
    AdminNote,
    Base,
    Client,
    Clinician,
    Episode,
    EventRecord,
    HeadsUpRecord,
    OutboxMessage,
)
from storage.repository import UnitOfWork

NOW = datetime(2026, 3, 16, 15, 0, tzinfo=UTC)
YEAR_AGO = NOW - timedelta(days=365)
CHUNK = 20_000


def _flush(session: Any, model: type, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        session.execute(insert(model), rows[start : start + CHUNK])
    rows.clear()


def seed(uow: UnitOfWork, *, clients: int, clinicians: int) -> dict[str, int]:
    rng = random.Random(15)
    made = dict.fromkeys(("episodes", "events", "notes", "outbox", "headsups"), 0)
    with uow() as repo:
        s = repo.session
        s.execute(
            insert(Clinician),
            [
                {"id": c + 1, "slack_user_id": f"U{c:08d}", "created_at": YEAR_AGO}
                for c in range(clinicians)
            ],
        )
        s.execute(
            insert(Client),
            [
                {
                    "id": i + 1,
                    "chart_id": f"R-{i}",
                    "clinician_id": i % clinicians + 1,
                    "created_at": YEAR_AGO,
                    "updated_at": YEAR_AGO,
                }
                for i in range(clients)
            ],
        )
        episodes: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        notes: list[dict[str, Any]] = []
        outbox: list[dict[str, Any]] = []
        headsups: list[dict[str, Any]] = []
        episode_id = 0
        for i in range(clients):
            client_id = i + 1
            episode_id += 1
            first = episode_id
            # a year of sessions, every 1-3 weeks, one in six missed
            at = YEAR_AGO + timedelta(days=rng.uniform(0, 14))
            while at < NOW - timedelta(days=1):
                kind = "session_no_show" if rng.random() < 1 / 6 else "session_attended"
                events.append(
                    {
                        "client_id": client_id,
                        "episode_id": first,
                        "kind": kind,
                        "occurred_at": at,
                        "recorded_at": at,
                        "actor": "platform",
                        "source": "platform",
                        "data": {},
                    }
                )
                at += timedelta(days=rng.choice((7, 7, 14, 21)))
            roll = rng.random()
            row: dict[str, Any] = {
                "id": first,
                "client_id": client_id,
                "opened_at": YEAR_AGO,
                "opened_reason": "imported",
                "baseline_contact_at": YEAR_AGO,
                "booked_sessions": [],
                "state": "active",
                "checkins_sent": 0,
                "updated_at": NOW,
            }
            if roll < 0.15:  # outreach at some point in the year
                started = YEAR_AGO + timedelta(days=rng.uniform(0, 300))
                sent = rng.randint(0, 3)
                closure = rng.choices(
                    ("reengaged", "continuing", "archived", "care_team_removed", "rematched"),
                    (45, 10, 35, 5, 5),
                )[0]
                closed = started + timedelta(days=rng.uniform(5, 60))
                row |= {
                    "state": "closed",
                    "trigger": rng.choice(("silence", "silence", "attendance", "manual")),
                    "outreach_started_at": started,
                    "checkins_sent": sent,
                    "closure": closure,
                    "closed_at": closed,
                }
                for n in range(1, sent + 1):
                    when = started + timedelta(days=14 * (n - 1))
                    notes.append(
                        {
                            "client_id": client_id,
                            "episode_id": first,
                            "kind": "checkin",
                            "author": "U0",
                            "body": "Outreach check-in documented.",
                            "fields": {
                                "number": n,
                                "via": rng.choice(("clinician", "clinician", "platform")),
                                "phrase": f"checkin_{min(n, 3)}",
                                "phrase_version": rng.choice(("a1b2c3d4", "e5f6a7b8")),
                            },
                            "created_at": when,
                        }
                    )
                    for attempt in range(rng.choice((1, 1, 2))):
                        outbox.append(
                            {
                                "idempotency_key": f"ep{first}:checkin-{n}:{attempt}",
                                "episode_id": first,
                                "kind": "checkin",
                                "recipient_kind": "clinician",
                                "recipient": f"U{i % clinicians:08d}",
                                "payload": {"attempt": attempt, "number": n},
                                "status": "sent",
                                "deliver_after": when,
                                "attempts": 1,
                                "created_at": when,
                            }
                        )
                episodes.append(row)
                if closure in ("reengaged", "continuing"):
                    episode_id += 1
                    episodes.append(
                        {
                            "id": episode_id,
                            "client_id": client_id,
                            "opened_at": closed,
                            "opened_reason": closure,
                            "baseline_contact_at": closed,
                            "booked_sessions": [],
                            "state": "active",
                            "checkins_sent": 0,
                            "updated_at": NOW,
                        }
                    )
            else:
                episodes.append(row)
            if rng.random() < 0.05:
                headsups.append(
                    {
                        "client_id": client_id,
                        "episode_id": first,
                        "clinician_id": i % clinicians + 1,
                        "stretch": "open",
                        "pattern": {"missed": 2, "of": 4},
                        "line": "missed 2 of the last 4",
                        "status": rng.choice(("open", "expected", "dismissed", "reached_out")),
                        "created_at": YEAR_AGO + timedelta(days=rng.uniform(0, 360)),
                    }
                )
            if len(events) >= 200_000:
                made["events"] += len(events)
                made["episodes"] += len(episodes)
                _flush(s, Episode, episodes)
                _flush(s, EventRecord, events)
        made["events"] += len(events)
        made["episodes"] += len(episodes)
        made["notes"] += len(notes)
        made["outbox"] += len(outbox)
        made["headsups"] += len(headsups)
        _flush(s, Episode, episodes)
        _flush(s, EventRecord, events)
        _flush(s, AdminNote, notes)
        _flush(s, OutboxMessage, outbox)
        _flush(s, HeadsUpRecord, headsups)
    return made


def per_client_baseline(uow: UnitOfWork, sample: int) -> float:
    """The naive design: for each client, read its episodes and events and count in Python."""
    started = time.perf_counter()
    with uow() as repo:
        for client_id in range(1, sample + 1):
            for episode in repo.episodes_of(client_id):
                repo.events_of(episode.id)
                repo.session.scalars(
                    select(AdminNote).where(AdminNote.episode_id == episode.id)
                ).all()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--clinicians", type=int, default=100)
    parser.add_argument("--sample", type=int, default=2_000, help="clients the baseline reads")
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench-report.db'}"
        engine = make_engine(url)
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                Base.metadata.drop_all(connection)
                connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        migrate(engine)
        uow = UnitOfWork(make_session_factory(engine))
        settings = Settings(_env_file=None, database_url=url)
        started = time.perf_counter()
        made = seed(uow, clients=args.clients, clinicians=args.clinicians)
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.execute(text("ANALYZE"))
        print(
            f"seeded {args.clients:,} clients, {made['episodes']:,} episodes, "
            f"{made['events']:,} events, {made['notes']:,} check-in notes, "
            f"{made['outbox']:,} prompts, {made['headsups']:,} heads-ups "
            f"on {engine.dialect.name} in {time.perf_counter() - started:.1f} s"
        )
        since = NOW - timedelta(days=365)
        timings = []
        for label, who in (("practice, a year", None), ("one clinician, a year", "U00000000")):
            runs = []
            for _ in range(3):
                started = time.perf_counter()
                report = compile_report(uow, settings, now=NOW, since=since, clinician_slack_id=who)
                runs.append(time.perf_counter() - started)
            timings.append((label, min(runs), report))
        started = time.perf_counter()
        render(timings[0][2], "html")
        html_s = time.perf_counter() - started
        sample = min(args.sample, args.clients)
        baseline = per_client_baseline(uow, sample) * args.clients / sample
        print(f"{'report':<24} {'best of 3':>10} {'baseline (per-client loop)':>28} {'ratio':>7}")
        for label, best, _ in timings:
            print(
                f"{label:<24} {best * 1000:>7.0f} ms {baseline * 1000:>22.0f} ms* {baseline / best:>6.0f}x"
            )
        print(f"{'html rendering':<24} {html_s * 1000:>7.0f} ms")
        print(f"* timed over {sample:,} clients and scaled to {args.clients:,}")
        practice = timings[0][2].practice.counts
        print(
            "practice: " + ", ".join(f"{k}={practice[k]}" for k in sorted(practice) if practice[k])
        )
        target = "met" if timings[0][1] < 2.0 else "NOT met"
        print(f"target (< 2 s for the practice report): {target}")
        engine.dispose()


if __name__ == "__main__":
    main()

"""Webhook ingest: signed generic platform events on our `serve`, next to a bare app.

One command starts everything it compares, so the ratio holds on a busy machine:
  * bare: gunicorn sync x2 + a Flask app that checks the same HMAC signature and answers 200
  * ours: `discharge-bot serve` on SQLite and/or PostgreSQL, 2,000 clients seeded

Each target gets the same signed `POST /platform/events` requests over keep-alive
connections at the same concurrency: attended sessions, no-shows and client replies spread
over the caseload, plus some deliveries sent again with the same event id (some right after
the first, so the two race; some later). Prints events/s, p50/p99/max, the ratio to the bare
app and the load average; then waits until every stored event is applied and checks exactly
once: each delivery id answered 200 once and "duplicate" for every other copy, recorded once
(one processed delivery, one event on the client's record), and a 5xx only for a delivery
that was not recorded (so the platform's retry applies it). Targets (issue #14, item 5):
>= 500 events/s on SQLite with p99 < 50 ms; PostgreSQL is reported. Exits 1 when missed.

    .venv/bin/python benchmarks/webhooks.py [--backends sqlite,postgresql] [--events 4000]
        [--concurrency 20] [--postgres-url postgresql://postgres@127.0.0.1:5432/test_webhooks]

Our server runs as `python -m bot serve` from this checkout (PYTHONPATH), so the same script
measures another checkout of the code (e.g. main, for a before/after) when copied there.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url

from benchmarks.ack import Run, drive, fake_slack_process, free_port, process, row
from bot.devtools.slack_requests import SlackRequest
from bot.platform.generic import sign_generic
from storage.db import make_engine, make_session_factory, migrate, normalise_url
from storage.models import Base, EventRecord, ProcessedDelivery
from storage.repository import UnitOfWork
from tests.seeding import seed_caseload

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-webhook-secret"
VENV = Path(sys.executable).parent
CLINICIANS = 50
KINDS = (
    ("session.attended", 4),
    ("session.no_show", 3),
    ("client.message", 3),
)
#: What each type leaves on the client's record (one event each).
RECORDED_KINDS = ("session_attended", "session_no_show", "client_message")


@dataclass(frozen=True)
class Delivery:
    event_id: str
    request: SlackRequest  # body, headers, path: what `drive` posts


# -- the events ------------------------------------------------------------------------------
def build_deliveries(
    n: int, clients: int, duplicate_share: float, seed: int, hours_ago: float = 6.0
) -> list[Delivery]:
    """`n` requests: distinct events over `clients` (dates within the last hours, after each
    client's last contact) and about `duplicate_share` of them sent again."""
    rng = random.Random(seed)
    distinct = max(1, round(n / (1 + duplicate_share)))
    kinds = [k for k, weight in KINDS for _ in range(weight)]
    start = datetime.now(UTC) - timedelta(hours=hours_ago)
    stamp = str(int(time.time()))
    originals = []
    for i in range(distinct):
        payload: dict[str, object] = {
            "event_id": f"bench-{seed}-{i}",
            "type": rng.choice(kinds),
            "client_id": f"R-{rng.randrange(clients)}",
            "occurred_at": (start + timedelta(seconds=i)).isoformat(),
        }
        if payload["type"] == "client.message":
            payload["text_present"] = True
        originals.append(Delivery(str(payload["event_id"]), signed(payload, stamp)))
    out = list(originals)
    for k in range(n - distinct):
        j = rng.randrange(distinct)
        copy = originals[j]
        # Half are sent again right after the first (they race it), half later on.
        at = min(len(out), out.index(copy) + 1 + rng.randrange(3)) if k % 2 == 0 else None
        if at is None:
            out.append(copy)
        else:
            out.insert(at, copy)
    return out


def signed(payload: dict[str, object], stamp: str) -> SlackRequest:
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Platform-Timestamp": stamp,
        "X-Platform-Signature": sign_generic(SECRET, stamp, body),
    }
    return SlackRequest(body=body, headers=headers, path="/platform/events")


# -- the servers -----------------------------------------------------------------------------
@contextmanager
def bare(workers: int) -> Iterator[int]:
    port = free_port()
    env = {**os.environ, "PLATFORM_WEBHOOK_SECRET": SECRET, "PYTHONPATH": str(ROOT)}
    args = [
        str(VENV / "gunicorn"),
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "benchmarks.bare_webhook:app",
    ]
    with process(args, env, port, "/platform/events"):
        yield port


@contextmanager
def ours(url: str, slack_url: str, threads: int, workers: int) -> Iterator[int]:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCHARGE_"))},
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": url,
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": "bench-signing-secret",
        "SLACK_API_URL": slack_url,
        "CCT_CHANNEL_ID": "C0CCT",
        "PLATFORM_WEBHOOK_SECRET": SECRET,
        "PORT": str(port),
        "DISCHARGE_HTTP_THREADS": str(threads),
        "DISCHARGE_HTTP_WORKERS": str(workers),
    }
    args = [sys.executable, "-m", "bot", "serve", "--no-scheduler"]
    with process(args, env, port, "/healthz"):
        yield port


# -- the data --------------------------------------------------------------------------------
def fresh_database(backend: str, pg_url: str, folder: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{folder / 'webhooks.db'}"
    # The maintenance database, not the one named in the URL: a fresh server has only it.
    admin_url = make_url(normalise_url(pg_url)).set(database="postgres")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    database = "bench_webhooks_ingest"
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        c.execute(text(f"CREATE DATABASE {database}"))
    admin.dispose()
    return f"{pg_url.rsplit('/', 1)[0]}/{database}"


def prepare(url: str, clients: int) -> None:
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as c:
            Base.metadata.drop_all(c)
            c.execute(text("DROP TABLE IF EXISTS alembic_version"))
    migrate(engine)
    seed_caseload(
        UnitOfWork(make_session_factory(engine)),
        size=clients,
        due=0,
        clinicians=CLINICIANS,
        now=datetime.now(UTC),
    )
    if engine.dialect.name == "postgresql":  # the seed wrote its own ids: move the sequences on
        with engine.begin() as c:
            for table in ("clinicians", "clients", "episodes", "events"):
                c.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    engine.dispose()


def pending(url: str) -> int | None:
    """Events stored and not yet applied (None: this code applies them in the request)."""
    engine = make_engine(url)
    try:
        if not inspect(engine).has_table("inbound_events"):
            return None
        with engine.connect() as c:
            return int(
                c.scalar(text("SELECT count(*) FROM inbound_events WHERE applied_at IS NULL")) or 0
            )
    finally:
        engine.dispose()


def wait_applied(url: str, timeout: float) -> float | None:
    """Seconds until nothing waits to be applied (0 when applied in the request)."""
    started = time.perf_counter()
    while True:
        left = pending(url)
        if not left:
            return time.perf_counter() - started
        if time.perf_counter() - started > timeout:
            return None
        time.sleep(0.1)


def recorded(url: str) -> tuple[Counter[str], int, Counter[str] | None]:
    """Processed deliveries per delivery id, the events webhooks left on the clients'
    records, and the stored events per delivery id (None: this code stores none)."""
    engine = make_engine(url)
    with engine.connect() as c:
        ids = Counter(
            str(d)
            for d in c.scalars(
                select(ProcessedDelivery.delivery_id).where(ProcessedDelivery.source == "platform")
            )
        )
        events = int(
            c.scalar(
                select(func.count())
                .select_from(EventRecord)
                .where(EventRecord.source == "platform", EventRecord.kind.in_(RECORDED_KINDS))
            )
            or 0
        )
        stored: Counter[str] | None = None
        if inspect(engine).has_table("inbound_events"):
            query = text("SELECT delivery_id FROM inbound_events")
            stored = Counter(str(d) for d in c.scalars(query))
    engine.dispose()
    return ids, events, stored


# -- checks ----------------------------------------------------------------------------------
class Verdicts:
    def __init__(self) -> None:
        self.missed: list[str] = []

    def check(self, ok: bool, what: str) -> str:
        if not ok:
            self.missed.append(what)
        return "ok" if ok else "MISSED"


def exactly_once(
    run: Run, deliveries: list[Delivery], url: str, verdicts: Verdicts, name: str
) -> None:
    answers: dict[str, list[tuple[int, bool]]] = {}
    for delivery, body in zip(deliveries, run.bodies, strict=True):
        try:
            parsed = json.loads(body or b"{}")
        except ValueError:
            parsed = {}
        status = 200 if parsed.get("ok") is True else (599 if not body else 500)
        answers.setdefault(delivery.event_id, []).append((status, bool(parsed.get("duplicate"))))
    ids, events, stored = recorded(url)
    problems: Counter[str] = Counter()
    firsts = 0
    for event_id, replies in answers.items():
        fresh = sum(1 for s, dup in replies if s == 200 and not dup)
        failed = sum(1 for s, _ in replies if s != 200)
        times = ids.get(event_id, 0)
        if fresh > 1:
            problems["answered 200 (not duplicate) more than once"] += 1
        if times > 1:
            problems["recorded more than once"] += 1
        if fresh == 1 and times != 1:
            problems["answered 200 but not recorded"] += 1
        if stored is not None and stored.get(event_id, 0) != (1 if fresh else 0):
            problems["stored not exactly once"] += 1
        if fresh == 0 and failed and times:
            problems["answered 5xx but recorded"] += 1  # (allowed only when a 200 said so)
        if fresh == 0 and not failed and times == 0:
            problems["answered duplicate but never recorded"] += 1
        firsts += fresh
    duplicates = sum(1 for r in answers.values() for s, dup in r if s == 200 and dup)
    five = sum(1 for r in answers.values() for s, _ in r if s != 200)
    ok = not problems and events == firsts
    print(
        f"    exactly once: {len(answers)} distinct deliveries, {firsts} answered 200, "
        f"{duplicates} answered duplicate, {five} answered 5xx; "
        f"{sum(1 for n in ids.values() if n)} recorded, {events} events on the records "
        f"({verdicts.check(ok, f'{name} exactly once')})"
        + (f" problems: {dict(problems)}" if problems else "")
    )


def paced(port: int, deliveries: list[Delivery], rate: float) -> None:
    """Send `deliveries` one after another at `rate` per second (a normal day's trickle)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    started = time.perf_counter()
    for i, delivery in enumerate(deliveries):
        time.sleep(max(0.0, started + i / rate - time.perf_counter()))
        request = delivery.request
        connection.request("POST", request.path, request.body, dict(request.headers))
        connection.getresponse().read()
    connection.close()


def apply_delays(url: str, ids: list[str]) -> list[float] | None:
    """Seconds from receipt to applied, per delivery (None: applied in the request)."""
    engine = make_engine(url)
    try:
        if not inspect(engine).has_table("inbound_events"):
            return None
        with engine.connect() as c:
            rows = c.execute(
                text("SELECT delivery_id, received_at, applied_at FROM inbound_events")
            ).all()
    finally:
        engine.dispose()
    wanted = set(ids)
    delays = []
    for delivery_id, received, applied in rows:
        if delivery_id in wanted and applied is not None:
            if isinstance(received, str):  # SQLite hands back text
                received, applied = (
                    datetime.fromisoformat(received),
                    datetime.fromisoformat(applied),
                )
            delays.append((applied - received).total_seconds())
    return sorted(delays)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--events", type=int, default=4000, help="requests per target")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--duplicates", type=float, default=0.1, help="share sent again")
    parser.add_argument("--bare-workers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="our server's processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per server process")
    parser.add_argument("--apply-timeout", type=float, default=300.0)
    parser.add_argument("--paced", type=int, default=100, help="events of the trickle after")
    parser.add_argument("--paced-rate", type=float, default=10.0, help="trickle per second")
    parser.add_argument(
        "--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test_webhooks"
    )
    args = parser.parse_args()
    verdicts = Verdicts()
    c = args.concurrency
    print(
        f"# webhook ingest {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"{args.events} requests per target at c={c}, {args.clients} clients, "
        f"our server --workers {args.workers} x {args.threads} threads; {load()}"
    )
    with tempfile.TemporaryDirectory() as folder, fake_slack_process() as fake:
        with bare(args.bare_workers) as port:
            deliveries = build_deliveries(args.events, args.clients, args.duplicates, seed=0)
            baseline = drive(port, [d.request for d in deliveries], c, "bare Flask + HMAC")
        print(row(baseline), f"  {load()}", flush=True)
        if set(baseline.statuses) != {200}:
            verdicts.check(False, "bare app answered something else than 200")
        for n, backend in enumerate(args.backends.split(","), start=1):
            url = fresh_database(backend, args.postgres_url, Path(folder))
            prepare(url, args.clients)
            deliveries = build_deliveries(args.events, args.clients, args.duplicates, seed=n)
            trickle = build_deliveries(args.paced, args.clients, 0.0, seed=100 + n, hours_ago=1)
            with ours(url, fake.url, args.threads, args.workers) as port:
                run = drive(port, [d.request for d in deliveries], c, f"ours, {backend}")
                print(row(run), f"  {load()}", flush=True)
                applied_in = wait_applied(url, args.apply_timeout)
                ratio = run.rate / baseline.rate
                p99 = run.pct(0.99)
                p99_ratio = p99 / baseline.pct(0.99)
                rate_ok = run.rate >= 500 or backend != "sqlite"
                p99_ok = p99 < 50 or backend != "sqlite"
                print(
                    f"    vs bare {ratio:5.2f}x; >= 500 events/s "
                    f"({verdicts.check(rate_ok, f'{backend} >= 500/s') if backend == 'sqlite' else 'reported'})"
                    f"; p99 < 50 ms "
                    f"({verdicts.check(p99_ok, f'{backend} p99') if backend == 'sqlite' else 'reported'})"
                    f"; p99 vs bare p99 {p99_ratio:4.2f}x"
                )
                if applied_in is None:
                    verdicts.check(False, f"{backend}: not every event applied in time")
                    print(f"    applied: NOT within {args.apply_timeout:.0f} s")
                else:
                    print(
                        f"    every stored event applied {applied_in:.1f} s after the last answer"
                    )
                exactly_once(run, deliveries, url, verdicts, backend)
                if args.paced:
                    paced(port, trickle, args.paced_rate)
                    wait_applied(url, args.apply_timeout)
            delays = apply_delays(url, [d.event_id for d in trickle]) if args.paced else None
            if delays:
                p95 = delays[min(len(delays) - 1, int(0.95 * len(delays)))]
                print(
                    f"    a trickle of {args.paced} events at {args.paced_rate:g}/s afterwards: "
                    f"received -> applied p50 {delays[len(delays) // 2] * 1000:.0f} ms, "
                    f"p95 {p95 * 1000:.0f} ms, max {delays[-1] * 1000:.0f} ms "
                    f"(about 2 s: {verdicts.check(p95 <= 2.0, f'{backend} applied within 2 s')})"
                )
    if verdicts.missed:
        print("targets missed: " + "; ".join(verdicts.missed))
        return 1
    print("every target met")
    return 0


if __name__ == "__main__":
    sys.exit(main())

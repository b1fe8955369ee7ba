"""Acknowledgement: `/care note` and a button click on our server, next to two bare Bolt apps.

One command starts everything it compares, so the ratios hold on a busy machine:
  * bare Bolt, defaults                  (gunicorn -w 2, Flask adapter; the listener only acks)
  * bare Bolt, process_before_response   (the same, answering after the listener)
  * ours: `discharge-bot serve` on SQLite and/or PostgreSQL, against the loopback fake Slack

Every target gets the same signed requests at the same concurrency. Prints req/s, p50/p99/max,
the ratios (targets: >= 0.7x the bare process_before_response app, >= 5x the bare default
app, p99 < 100 ms at c=50), "flat with history" (the mean latency of the last quarter of
--notes notes within 1.2x of the first, on one client and spread over clients: as fast as
they are answered, and at --history-rate notes/s, where the time from each stored note to
its change is shown by quarter too) and the notes stored against the 200s that said "added"
(nothing lost). Exits 1 when a target is missed.

    .venv/bin/python benchmarks/ack.py [--backends sqlite,postgresql] [--concurrency 20,50]
        [--requests 2000] [--notes 10000] [--history-rate 60]
        [--postgres-url postgresql://postgres@127.0.0.1/postgres]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, func, select, text

from bot.clock import FixedClock
from bot.services import build_services
from bot.settings import Settings
from smart_phrases import PhraseLibrary
from storage.db import make_engine, make_session_factory, migrate, normalise_url
from storage.models import AdminNote, Base, OutboxMessage, SlackInboxItem
from storage.repository import UnitOfWork
from tests.fakes.slack_api import FakeSlackAPI
from tests.fakes.slack_requests import SlackRequest, SlackRequests
from tests.seeding import seed_caseload

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench"
VENV = Path(sys.executable).parent
CLINICIANS = 50


# -- load ----------------------------------------------------------------------------------
@dataclass
class Run:
    target: str
    concurrency: int
    seconds: float
    latencies: list[float]  # in the order the requests were issued
    statuses: dict[int, int]
    bodies: list[bytes] = field(repr=False, default_factory=list)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def quarter_means(self) -> list[float]:
        n = len(self.latencies) // 4
        return [statistics.mean(self.latencies[i * n : (i + 1) * n]) * 1000 for i in range(4)]


def drive(
    port: int,
    requests: Sequence[SlackRequest],
    concurrency: int,
    target: str,
    *,
    before: Callable[[int], None] | None = None,
    rate: float | None = None,
) -> Run:
    """POST every request over `concurrency` keep-alive connections; latency per request
    (`before(i)` is told just before request i goes out). With `rate`, open loop: request i
    leaves no sooner than i / rate seconds after the start, whatever the answers do."""
    latencies = [0.0] * len(requests)
    bodies = [b""] * len(requests)
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    cursor = iter(range(len(requests)))

    def worker() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                i = next(cursor, None)
            if i is None:
                break
            request = requests[i]
            if rate is not None:
                time.sleep(max(0.0, begun + i / rate - time.perf_counter()))
            if before is not None:
                before(i)
            started = time.perf_counter()
            try:
                connection.request("POST", request.path, request.body, dict(request.headers))
                answer = connection.getresponse()
                body = answer.read()
                status = answer.status
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                body, status = b"", 599
            latencies[i] = time.perf_counter() - started
            bodies[i] = body
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    begun = started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Run(target, concurrency, time.perf_counter() - started, latencies, statuses, bodies)


def wait_until_up(port: int, path: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server on {port} exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET" if path == "/healthz" else "POST", path)
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server on {port} did not start")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def process(args: list[str], env: dict[str, str], port: int, probe: str) -> Iterator[None]:
    keep = os.environ.get("BENCH_SERVER_LOG")  # a path: keep the servers' output there
    with open(keep, "ab") if keep else tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_up(port, probe, proc)
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextmanager
def bare(pbr: bool, workers: int, slack: FakeSlack) -> Iterator[int]:
    port = free_port()
    env = {
        **os.environ,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_API_URL": slack.url,
        "BARE_PBR": "1" if pbr else "0",
    }
    args = [
        str(VENV / "gunicorn"),
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "benchmarks.bare_bolt:app",
    ]
    with process(args, env, port, "/slack/events"):
        yield port


@contextmanager
def ours(
    url: str,
    slack: FakeSlack | FakeSlackAPI,
    threads: int,
    workers: int,
    extra: dict[str, str] | None = None,
) -> Iterator[int]:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCHARGE_"))},
        "DATABASE_URL": url,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.url,
        "CCT_CHANNEL_ID": "C0CCT",
        "PORT": str(port),
        "DISCHARGE_HTTP_THREADS": str(threads),
        "DISCHARGE_HTTP_WORKERS": str(workers),
        **(extra or {}),
    }
    args = [str(VENV / "discharge-bot"), "serve", "--no-scheduler"]
    with process(args, env, port, "/healthz"):
        yield port


@dataclass(frozen=True)
class FakeSlack:
    url: str


FAKE_SLACK = f"""
import sys
sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
from tests.fakes.slack_api import FakeSlackAPI
with FakeSlackAPI(bot_token={TOKEN!r}) as fake:
    for c in range({CLINICIANS}):
        fake.add_user(f"U{{c:08d}}", tz="America/Toronto")
    print(fake.url, flush=True)
    sys.stdin.read()
"""


@contextmanager
def fake_slack_process() -> Iterator[FakeSlack]:
    """The loopback fake Slack Web API in a process of its own, so the load generator's
    threads do not slow the answers our server waits for."""
    proc = subprocess.Popen(
        [sys.executable, "-c", FAKE_SLACK], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        yield FakeSlack(proc.stdout.readline().decode().strip())
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


# -- the data ------------------------------------------------------------------------------
def fresh_database(backend: str, pg_admin: str, tmp: Path, name: str) -> str:
    if backend == "sqlite":
        path = tmp / (name + ".db")
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
        return f"sqlite:///{path}"
    admin = create_engine(normalise_url(pg_admin), isolation_level="AUTOCOMMIT")
    database = f"bench_perf_{name}"
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        c.execute(text(f"CREATE DATABASE {database}"))
    admin.dispose()
    base = pg_admin.rsplit("/", 1)[0]
    return f"{base}/{database}"


def prepare(url: str, clients: int, due: int) -> list[tuple[int, str, str]]:
    """Seed `clients` (the first `due` have check-in 1 due) and queue their prompts; returns
    (outbox id, chart id, clinician) of each check-in prompt, for the clicks."""
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as c:
            Base.metadata.drop_all(c)
            c.execute(text("DROP TABLE IF EXISTS alembic_version"))
    migrate(engine)
    uow = UnitOfWork(make_session_factory(engine))
    now = datetime.now(UTC)
    seed_caseload(uow, size=clients, due=due, clinicians=CLINICIANS, now=now)
    settings = Settings(_env_file=None, database_url=url, cct_channel_id="C0CCT")
    services = build_services(uow, FixedClock(now), settings, PhraseLibrary.load())
    services.outreach.tick(now)
    with uow() as repo:
        rows = repo.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "checkin").order_by(OutboxMessage.id)
        ).all()
        prompts = [(r.id, str(r.payload["chart_id"]), str(r.recipient)) for r in rows]
    engine.dispose()
    return prompts


def clinician_of(client_index: int) -> str:
    return f"U{client_index % CLINICIANS:08d}"


def note_requests(
    slack: SlackRequests, n: int, clients: int, one_client: bool
) -> list[SlackRequest]:
    out = []
    for i in range(n):
        c = 0 if one_client else i % clients
        out.append(slack.slash_command(f"note R-{c} bench note {i}", user_id=clinician_of(c)))
    return out


def click_requests(slack: SlackRequests, prompts: list[tuple[int, str, str]]) -> list[SlackRequest]:
    out = []
    for outbox_id, chart, user in prompts:
        value = json.dumps({"o": outbox_id, "c": chart}, separators=(",", ":"))
        out.append(slack.block_actions("checkin_mark_sent", value=value, user_id=user))
    return out


def settle(url: str, timeout: float = 300.0) -> tuple[float, dict[str, int]]:
    """Wait until the server's Slack inbox has applied every stored note and press; the
    seconds that took after the last answer, and the rows by status."""
    engine = make_engine(url)
    started = time.perf_counter()
    try:
        while True:
            with engine.connect() as c:
                counts = dict(
                    c.execute(
                        select(SlackInboxItem.status, func.count()).group_by(SlackInboxItem.status)
                    ).all()
                )
            waiting = counts.get("pending", 0) + counts.get("in_flight", 0)
            if not waiting or time.perf_counter() - started > timeout:
                return time.perf_counter() - started, {k: int(v) for k, v in counts.items()}
            time.sleep(0.05)
    finally:
        engine.dispose()


def stored_notes(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as c:
        n = int(c.scalar(select(func.count()).select_from(AdminNote)) or 0)
    engine.dispose()
    return n


# -- report --------------------------------------------------------------------------------
class Verdicts:
    def __init__(self) -> None:
        self.missed: list[str] = []

    def check(self, ok: bool, what: str) -> str:
        if not ok:
            self.missed.append(what)
        return "ok" if ok else "MISSED"


def all_answered(run: Run, verdicts: Verdicts) -> None:
    """A run counts only when every request was answered 200 (else the server failed)."""
    if set(run.statuses) != {200}:
        verdicts.check(False, f"{run.target} c={run.concurrency}: not every answer was 200")


def row(run: Run) -> str:
    codes = ",".join(f"{k}:{v}" for k, v in sorted(run.statuses.items()))
    return (
        f"  {run.target:<34} c={run.concurrency:<3} {run.rate:8.1f} req/s  p50 {run.pct(0.5):7.1f} ms"
        f"  p99 {run.pct(0.99):8.1f} ms  max {max(run.latencies) * 1000:8.1f} ms  [{codes}]"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--concurrency", default="20,50")
    parser.add_argument("--requests", type=int, default=2000, help="per target and run")
    parser.add_argument("--notes", type=int, default=10_000, help="notes of the history run")
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument(
        "--history-rate",
        type=float,
        default=60.0,
        help="notes/s of the open-loop history run (0: closed loop only)",
    )
    parser.add_argument("--bare-workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="threads per server process")
    parser.add_argument("--workers", type=int, default=2, help="our server's processes")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    slack = SlackRequests(signing_secret=SECRET)
    verdicts = Verdicts()
    print(
        f"# ack benchmark {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"{args.requests} requests per run"
    )

    with tempfile.TemporaryDirectory() as folder, fake_slack_process() as fake:
        bare_runs: dict[tuple[str, int, bool], Run] = {}
        kinds: dict[str, Callable[[], list[SlackRequest]]] = {
            "note": lambda: note_requests(slack, args.requests, args.clients, one_client=False),
            "click": lambda: click_requests(
                slack, [(i + 1, f"R-{i}", clinician_of(i)) for i in range(args.requests)]
            ),
        }
        for pbr in (False, True):
            name = "bare Bolt, " + ("process_before_response" if pbr else "defaults")
            with bare(pbr, args.bare_workers, fake) as port:
                for kind, build in kinds.items():
                    for c in levels:
                        run = drive(port, build(), c, f"{name} ({kind})")
                        bare_runs[(kind, c, pbr)] = run
                        print(row(run), flush=True)
                        all_answered(run, verdicts)
        for backend in args.backends.split(","):
            clients = max(args.clients, args.requests * len(levels))  # a prompt per click
            url = fresh_database(backend, args.postgres_url, Path(folder), "ack")
            prompts = prepare(url, clients, due=args.requests * len(levels))
            with ours(url, fake, args.threads, args.workers) as port:
                for kind in ("note", "click"):
                    for i, c in enumerate(levels):
                        if kind == "note":
                            requests = note_requests(slack, args.requests, args.clients, False)
                        else:
                            part = prompts[i * args.requests : (i + 1) * args.requests]
                            requests = click_requests(slack, part)
                        before = stored_notes(url)
                        run = drive(port, requests, c, f"ours, {backend} ({kind})")
                        print(row(run), flush=True)
                        seconds, counts = settle(url)
                        failed = counts.get("dead", 0) + counts.get("refused", 0)
                        print(
                            f"    applied by the inbox {seconds:.1f} s after the last answer "
                            f"(rows: {counts}; "
                            f"{verdicts.check(not failed, f'{backend} {kind} c={c} all applied')})"
                        )
                        all_answered(run, verdicts)
                        default, pbr = bare_runs[(kind, c, False)], bare_runs[(kind, c, True)]
                        r_pbr, r_default = run.rate / pbr.rate, run.rate / default.rate
                        print(
                            f"    vs process_before_response {r_pbr:5.2f}x "
                            f"({verdicts.check(r_pbr >= 0.7, f'{backend} {kind} c={c} >= 0.7x pbr')})"
                            f"   vs defaults {r_default:5.2f}x "
                            f"({verdicts.check(r_default >= 5, f'{backend} {kind} c={c} >= 5x default')})"
                            + (
                                f"   p99 < 100 ms ({verdicts.check(run.pct(0.99) < 100, f'{backend} {kind} c={c} p99')})"
                                if c >= 50
                                else ""
                            )
                        )
                        lost_check(run, url, before, kind, verdicts, backend)
            # flat with history: N notes on one client, and N spread over the caseload, as
            # fast as they are answered (closed loop: the appliers, deferred for a burst,
            # catch up in the later quarters) and at a rate the server applies as it goes
            # (open loop: the cost of a note against its history, answer and change).
            for one in (True, False) if args.notes else ():
                loops = [None] + ([args.history_rate] if args.history_rate else [])
                for rate in loops:
                    url = fresh_database(backend, args.postgres_url, Path(folder), "history")
                    prepare(url, args.clients, due=0)
                    with ours(url, fake, args.threads, args.workers) as port:
                        requests = note_requests(slack, args.notes, args.clients, one_client=one)
                        run = drive(
                            port, requests, levels[0], f"ours, {backend}, history", rate=rate
                        )
                        seconds, counts = settle(url)
                    history_row(run, url, one, rate, seconds, args, backend, verdicts)
                    lost_check(run, url, 0, "note", verdicts, backend)
    if verdicts.missed:
        print("targets missed: " + "; ".join(verdicts.missed))
        return 1
    print("every target met")
    return 0


def apply_lags(url: str) -> list[float]:
    """Seconds from each stored note to its change, in the order they were stored."""
    engine = make_engine(url)
    c = SlackInboxItem
    with engine.connect() as connection:
        rows = connection.execute(
            select(c.received_at, c.finished_at).where(c.status == "done").order_by(c.id)
        ).all()
    engine.dispose()
    return [(done - received).total_seconds() for received, done in rows if done is not None]


def history_row(
    run: Run,
    url: str,
    one: bool,
    rate: float | None,
    seconds: float,
    args: argparse.Namespace,
    backend: str,
    verdicts: Verdicts,
) -> None:
    q = run.quarter_means()
    ratio = q[3] / q[0]
    where = "one client" if one else f"over {args.clients} clients"
    loop = f"open loop at {rate:.0f}/s" if rate else f"closed loop c={run.concurrency}"
    name = f"{backend} history {where} {'open' if rate else 'closed'}"
    print(
        f"  flat with history, {backend}, {args.notes} notes {where}, {loop}: answers' quarter "
        f"means {' / '.join(f'{m:.1f}' for m in q)} ms, last/first {ratio:.2f}x "
        f"({verdicts.check(ratio <= 1.2, name)}), {run.rate:.1f} req/s; applied "
        f"{seconds:.1f} s after the last answer "
        f"({args.notes / (run.seconds + seconds):.0f} notes/s end to end)"
    )
    lags = apply_lags(url)
    n = len(lags) // 4
    if rate and n:
        p95 = [sorted(lags[i * n : (i + 1) * n])[int(0.95 * n)] * 1000 for i in range(4)]
        print(
            f"    stored -> changed, p95 by quarter: {' / '.join(f'{m:.0f}' for m in p95)} ms "
            f"(last/first {p95[3] / max(p95[0], 1e-9):.2f}x)"
        )


def lost_check(
    run: Run, url: str, before: int, kind: str, verdicts: Verdicts, backend: str
) -> None:
    if kind != "note":
        return
    added = sum(1 for b in run.bodies if b"Admin note added" in b)
    refused = sum(1 for b in run.bodies if b"wasn't saved" in b)
    stored = stored_notes(url) - before
    ok = stored == added and added + refused == len(run.bodies)
    print(
        f"    notes: {added} answered added, {refused} answered not saved, {stored} stored "
        f"({verdicts.check(ok, f'{backend} notes stored == added')})"
    )


if __name__ == "__main__":
    sys.exit(main())

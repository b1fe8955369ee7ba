"""Memory and endurance: `serve` over a long mixed run on a large caseload (issue #14, item 7).

Seeds --clients clients (100,000) over --clinicians clinicians, queues one check-in prompt per
click the run will make, starts `discharge-bot serve` (SQLite, or PostgreSQL with
--postgres-url) against a loopback fake Slack in its own process, and sends --requests
(30,000) signed requests at a fixed concurrency over keep-alive connections, in a fixed mix
of every 20 requests:

    6 `/care note R-x ...`   3 `/care status R-x`   2 `/care help`
    4 *Mark as sent* clicks (a different client's prompt each, a real write)
    2 App Home opened        3 generic platform webhooks (`session.attended`, each new)

Requests are signed when they go out (Slack's and the webhook's 5-minute windows hold over a
long run). Every 1,000 answered requests it samples the RSS of every server process (VmRSS
of `serve` and all its descendants from /proc). Printed per 5,000-request window:
throughput, p50/p99, and RSS; then the targets:

  * throughput of the last window >= 0.9x the first. The baseline is the same server in
    the same run: the first window (warm-up included) against the last;
  * RSS flat after warm-up: growth between the sample at 10,000 and the last sample within
    --rss-tolerance-mb (default 4 MB for the whole process tree; see RESULTS.md for why).
    The least-squares slope over those samples is printed as KB per 1,000 requests.

Each window also shows the server's own CPU time per request (user + system of its
processes, from /proc) and the load average: on a shared machine the wall-clock throughput
moves with the other processes, the CPU per request does not, so it is judged too (last
window <= 1/0.9 of the first). At most one answer in 1,000 may be other than 200 (a
write refused under overload, which says so and which the sender retries). On PostgreSQL the tables' autovacuum is switched off after the
seed, so the whole run has no planner statistics (the worst case after a bulk import).
Exits 1 when a target is missed.

    .venv/bin/python benchmarks/endurance.py [--backend sqlite|postgresql] [--requests 30000]
        [--clients 100000] [--clinicians 1000] [--concurrency 20] [--workers 2] [--threads 4]
        [--postgres-url postgresql://postgres@127.0.0.1:5432/test_endurance]

`--in-process N` instead drives N requests of the same mix straight through the WSGI app in
this process and prints what tracemalloc saw grow between the first third and the end (the
quickest way to find what accumulates per request).
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, event, select, text

from benchmarks._common import ensure_postgres_database
from bot.clock import FixedClock
from bot.platform.generic import sign_generic
from bot.services import build_services
from bot.settings import Settings
from smart_phrases import PhraseLibrary
from storage.db import make_engine, make_session_factory, migrate
from storage.models import Base, OutboxMessage
from storage.repository import UnitOfWork
from tests.fakes.slack_requests import SlackRequest, SlackRequests
from tests.seeding import seed_caseload

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-signing-secret"
WEBHOOK_SECRET = "bench-webhook-secret"
TOKEN = "xoxb-bench"
VENV = Path(sys.executable).parent
WINDOW = 5000
SAMPLE_EVERY = 1000
FLAT_FROM = 10_000

#: One cycle of the mix; request i is MIX[i % len(MIX)].
MIX = (
    "note", "status", "click", "webhook", "note", "help", "click", "home", "note", "status",
    "webhook", "click", "note", "home", "status", "note", "click", "webhook", "note", "help",
)  # fmt: skip


def clicks_in(requests: int) -> int:
    full, rest = divmod(requests, len(MIX))
    return full * MIX.count("click") + MIX[:rest].count("click")


# -- the requests --------------------------------------------------------------------------
@dataclass
class Mix:
    """Builds request i of the mix, signed now (so a long run never goes stale)."""

    clients: int
    clinicians: int
    prompts: list[tuple[int, str, str]]  # (outbox id, chart id, clinician) per click
    due: int  # clients 0..due-1 are in outreach (their prompts are clicked)

    def __post_init__(self) -> None:
        self.slack = SlackRequests(signing_secret=SECRET)
        self._counts = dict.fromkeys(set(MIX), 0)
        self._lock = threading.Lock()

    def clinician_of(self, client: int) -> str:
        return f"U{client % self.clinicians:08d}"

    def request(self, i: int) -> SlackRequest:
        kind = MIX[i % len(MIX)]
        with self._lock:
            k = self._counts[kind]
            self._counts[kind] = k + 1
        if kind == "note":
            c = (k * 7919) % self.clients
            return self.slack.slash_command(
                f"note R-{c} endurance note {i}", user_id=self.clinician_of(c)
            )
        if kind == "status":
            c = (k * 31337) % self.clients
            return self.slack.slash_command(f"status R-{c}", user_id=self.clinician_of(c))
        if kind == "help":
            return self.slack.slash_command("help", user_id=self.clinician_of(k))
        if kind == "home":
            return self.slack.app_home_opened(self.clinician_of(k))
        if kind == "click":
            outbox_id, chart, user = self.prompts[k]
            value = json.dumps({"o": outbox_id, "c": chart}, separators=(",", ":"))
            return self.slack.block_actions("checkin_mark_sent", value=value, user_id=user)
        # a webhook on a client not in outreach (so it never overtakes a prompt to be clicked)
        c = self.due + (k * 104729) % (self.clients - self.due)
        now = datetime.now(UTC)
        body = json.dumps(
            {
                "event_id": f"endurance-{i}",
                "type": "session.attended",
                "client_id": f"R-{c}",
                "occurred_at": (now - timedelta(minutes=5)).isoformat(),
                "session_at": (now - timedelta(minutes=5)).isoformat(),
            }
        ).encode()
        ts = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "X-Platform-Timestamp": str(ts),
            "X-Platform-Signature": sign_generic(WEBHOOK_SECRET, ts, body),
        }
        return SlackRequest(body=body, headers=headers, path="/platform/events")


# -- the data ------------------------------------------------------------------------------
def prepare(url: str, clients: int, clinicians: int, due: int) -> list[tuple[int, str, str]]:
    """Seed the caseload (the first `due` have check-in 1 due) and queue their prompts."""
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as c:
            Base.metadata.drop_all(c)
            c.execute(text("DROP TABLE IF EXISTS alembic_version"))
    migrate(engine)
    uow = UnitOfWork(make_session_factory(engine))
    # A Monday 11:00 in Toronto, a few days back: every prompt is due in working hours, and
    # a click (on the real clock) comes after it.
    today = datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday() + 7)
    now = datetime(monday.year, monday.month, monday.day, 15, 0, tzinfo=UTC)
    seed_caseload(uow, size=clients, due=due, clinicians=clinicians, now=now)
    settings = Settings(_env_file=None, database_url=url, cct_channel_id="C0CCT")
    services = build_services(uow, FixedClock(now), settings, PhraseLibrary.load())
    services.outreach.tick(now)
    with uow() as repo:
        rows = repo.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "checkin").order_by(OutboxMessage.id)
        ).all()
        prompts = [(r.id, str(r.payload["chart_id"]), str(r.recipient)) for r in rows]
    with engine.begin() as c:
        if engine.dialect.name == "sqlite":  # the seed's WAL is the import's cost
            c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:  # no planner statistics for the whole run, as right after a bulk import
            for table in Base.metadata.sorted_tables:
                c.execute(text(f'ALTER TABLE "{table.name}" SET (autovacuum_enabled = false)'))
    engine.dispose()
    if len(prompts) < due:
        raise SystemExit(f"only {len(prompts)} prompts queued for {due} clicks")
    return prompts


def database_url(backend: str, postgres_url: str, folder: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{folder / 'endurance.db'}"
    if backend == "postgresql":
        return ensure_postgres_database(postgres_url)
    raise SystemExit(f"unknown backend {backend!r} (sqlite or postgresql)")


# -- the processes -------------------------------------------------------------------------
FAKE_SLACK = """
import sys
sys.path.insert(0, {root!r})
from tests.fakes.slack_api import FakeSlackAPI
with FakeSlackAPI(bot_token={token!r}) as fake:
    for c in range({clinicians}):
        fake.add_user(f"U{{c:08d}}", tz="America/Toronto")
    print(fake.url, flush=True)
    sys.stdin.read()
"""


@contextmanager
def fake_slack(clinicians: int) -> Iterator[str]:
    """The loopback fake Slack Web API in a process of its own (its recording of every call
    grows; it is not the server's memory)."""
    script = FAKE_SLACK.format(root=str(ROOT), token=TOKEN, clinicians=clinicians)
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().decode().strip()
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def server_env(url: str, slack_url: str, port: int, threads: int, workers: int) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCHARGE_"))},
        "DATABASE_URL": url,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack_url,
        "PLATFORM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "CCT_CHANNEL_ID": "C0CCT",
        "PORT": str(port),
        "DISCHARGE_HTTP_THREADS": str(threads),
        "DISCHARGE_HTTP_WORKERS": str(workers),
    }


@contextmanager
def serve(env: dict[str, str], port: int) -> Iterator[int]:
    """`discharge-bot serve --no-scheduler`; yields its pid once /healthz answers."""
    keep = os.environ.get("BENCH_SERVER_LOG")  # a path: keep the server's output there
    with open(keep, "ab") if keep else tempfile.TemporaryFile() as log:
        args = [str(VENV / "discharge-bot"), "serve", "--no-scheduler"]
        proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while True:
                if proc.poll() is not None:
                    raise SystemExit(f"serve exited with {proc.returncode}")
                try:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    c.request("GET", "/healthz")
                    c.getresponse().read()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit("serve did not start") from None
                    time.sleep(0.2)
            yield proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def process_tree(root: int) -> list[int]:
    """`root` and every descendant, from /proc (serve's workers are forked children)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(parents.get(pid, []))
    return tree


@dataclass(frozen=True)
class Sample:
    rss_kb: int  # summed VmRSS of the server's processes
    anon_kb: int  # of which anonymous (the heap) ...
    file_kb: int  # ... mapped files ...
    shmem_kb: int  # ... and shared memory (SQLite's WAL index)
    cpu_s: float  # their summed user + system CPU time so far
    load: float  # the machine's 1-minute load average


def sample(root: int) -> Sample:
    """The summed VmRSS (KB) and CPU time of `root` and its descendants, and the load."""
    kb = dict.fromkeys(("VmRSS:", "RssAnon:", "RssFile:", "RssShmem:"), 0)
    ticks = 0
    for pid in process_tree(root):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    name = line.split(maxsplit=1)[0] if line.strip() else ""
                    if name in kb:
                        kb[name] += int(line.split()[1])
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        except OSError:
            continue
    return Sample(
        kb["VmRSS:"],
        kb["RssAnon:"],
        kb["RssFile:"],
        kb["RssShmem:"],
        ticks / os.sysconf("SC_CLK_TCK"),
        os.getloadavg()[0],
    )


# -- the run -------------------------------------------------------------------------------
@dataclass
class Result:
    done_at: list[float]  # completion time of the n-th answer (seconds from the start)
    latencies: list[float]
    statuses: dict[int, int]
    samples: dict[int, Sample]  # answers so far -> the server's memory and CPU

    @property
    def rss(self) -> dict[int, int]:
        return {n: s.rss_kb for n, s in self.samples.items()}


def drive(
    port: int, requests: int, concurrency: int, build: Callable[[int], SlackRequest], pid: int
) -> Result:
    done_at: list[float] = []
    latencies = [0.0] * requests
    statuses: dict[int, int] = {}
    samples = {0: sample(pid)}
    lock = threading.Lock()
    cursor = itertools.count()
    started = time.perf_counter()

    def worker() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                i = next(cursor)
            if i >= requests:
                break
            request = build(i)
            began = time.perf_counter()
            try:
                connection.request("POST", request.path, request.body, dict(request.headers))
                answer = connection.getresponse()
                answer.read()
                status = answer.status
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                status = 599
            ended = time.perf_counter()
            latencies[i] = ended - began
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                done_at.append(ended - started)
                if len(done_at) % SAMPLE_EVERY == 0:
                    samples[len(done_at)] = sample(pid)
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Result(done_at, latencies, statuses, samples)


def slope_kb_per_1000(points: dict[int, int]) -> float:
    xs, ys = list(points), list(points.values())
    if len(xs) < 2:
        return 0.0
    mx, my = statistics.mean(xs), statistics.mean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den * 1000


def report(result: Result, requests: int, tolerance_mb: float) -> list[str]:
    missed: list[str] = []
    windows = range(0, requests - requests % WINDOW or requests, WINDOW)
    rates, cpus = [], []
    print(
        f"  {'requests':>15} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/req':>11} "
        f"{'load':>5} {'RSS at end MB':>14}"
    )
    for start in windows:
        end = min(start + WINDOW, requests)
        t0 = result.done_at[start - 1] if start else 0.0
        rate = (end - start) / (result.done_at[end - 1] - t0)
        rates.append(rate)
        lat = sorted(result.latencies[start:end])
        first, last = result.samples.get(start), result.samples.get(end)
        cpu = (last.cpu_s - first.cpu_s) / (end - start) * 1000 if first and last else 0.0
        cpus.append(cpu)
        print(
            f"  {start:>6,}-{end:<8,} {rate:8.1f} {lat[len(lat) // 2] * 1000:8.1f} "
            f"{lat[int(len(lat) * 0.99)] * 1000:8.1f} {cpu:11.1f} "
            f"{(last.load if last else 0.0):5.1f} "
            f"{(f'{last.rss_kb / 1024:.1f}' if last else '-'):>14}"
        )
    samples = " ".join(f"{n // 1000}k:{kb / 1024:.1f}" for n, kb in sorted(result.rss.items()))
    print(f"  RSS samples (MB, all server processes): {samples}")
    parts = " ".join(
        f"{n // 1000}k:{x.anon_kb / 1024:.1f}/{x.file_kb / 1024:.1f}/{x.shmem_kb / 1024:.1f}"
        for n, x in sorted(result.samples.items())
        if n % WINDOW == 0
    )
    print(f"  of which anonymous/file/shared (MB): {parts}")
    codes = ",".join(f"{k}:{v}" for k, v in sorted(result.statuses.items()))
    print(f"  answers: [{codes}]")
    # A write refused under overload (item 0: "not saved", the webhook's 500 that its sender
    # retries) is the plain refusal it should be; more than one in a thousand is a failure.
    others = sum(n for status, n in result.statuses.items() if status != 200)
    if others > requests // 1000:
        missed.append(f"{others} answers were not 200 (at most {requests // 1000})")
    ratio = rates[-1] / rates[0]
    ok = ratio >= 0.9
    print(
        f"  throughput last/first window: {rates[-1]:.1f} / {rates[0]:.1f} req/s = "
        f"{ratio:.2f}x (target >= 0.9x: {'ok' if ok else 'MISSED'})"
    )
    if not ok:
        missed.append(f"throughput last/first {ratio:.2f}x < 0.9x")
    if cpus[0] and cpus[-1]:
        # The same decay seen without the other processes on the machine: the server's own
        # CPU time per request (a query that slows with the tables shows here too).
        growth = cpus[-1] / cpus[0]
        ok = growth <= 1 / 0.9
        print(
            f"  server CPU per request last/first window: {cpus[-1]:.1f} / {cpus[0]:.1f} ms = "
            f"{growth:.2f}x (target <= {1 / 0.9:.2f}x: {'ok' if ok else 'MISSED'})"
        )
        if not ok:
            missed.append(f"CPU per request last/first {growth:.2f}x > {1 / 0.9:.2f}x")
    flat = {n: kb for n, kb in result.rss.items() if n >= FLAT_FROM}
    if len(flat) >= 2:
        lo, hi = min(flat), max(flat)
        grew = (flat[hi] - flat[lo]) / 1024
        ok = grew <= tolerance_mb
        print(
            f"  RSS {lo:,} -> {hi:,}: {flat[lo] / 1024:.1f} -> {flat[hi] / 1024:.1f} MB, "
            f"growth {grew:+.1f} MB (target <= {tolerance_mb:.0f} MB: "
            f"{'ok' if ok else 'MISSED'}); slope {slope_kb_per_1000(flat):+.0f} KB per 1,000"
        )
        if not ok:
            missed.append(f"RSS grew {grew:.1f} MB between {lo:,} and {hi:,}")
    else:
        print(f"  RSS flatness not judged: fewer than {FLAT_FROM + SAMPLE_EVERY:,} requests")
    return missed


# -- in-process, under tracemalloc ---------------------------------------------------------
def in_process(url: str, slack_url: str, mix: Mix, n: int, *, explain: bool) -> None:
    """Drive n requests straight through the WSGI app; print what grew (tracemalloc), or
    (`explain`) the plan of every distinct statement they ran."""
    import gc
    import io
    import logging
    import tracemalloc

    from slack_sdk import WebClient

    from bot.entrypoints.bootstrap import build_runtime
    from bot.entrypoints.http import create_wsgi_app
    from bot.entrypoints.web import platform_routes
    from bot.slack.app import build_surface, create_app

    logging.basicConfig(level=logging.WARNING)
    settings = Settings(
        _env_file=None,
        database_url=url,
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=slack_url,
        platform_webhook_secret=WEBHOOK_SECRET,
        cct_channel_id="C0CCT",
    )
    runtime = build_runtime(settings)
    client = WebClient(token=TOKEN, base_url=slack_url + "/")
    surface = build_surface(
        settings,
        client=client,
        session_factory=runtime.uow.session_factory,
        clock=runtime.clock,
        phrases=runtime.phrases,
        platform=runtime.chart,
    )
    app = create_app(
        settings,
        client=client,
        session_factory=runtime.uow.session_factory,
        clock=runtime.clock,
        surface=surface,
    )
    wsgi = create_wsgi_app(slack_app=app, routes=platform_routes(runtime, None), health=None)
    statuses: dict[str, int] = {}

    def one(i: int) -> None:
        request = mix.request(i)
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": request.path,
            "QUERY_STRING": "",
            "CONTENT_TYPE": request.headers["Content-Type"],
            "CONTENT_LENGTH": str(len(request.body)),
            "wsgi.input": io.BytesIO(request.body),
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "wsgi.url_scheme": "http",
            **{
                "HTTP_" + k.upper().replace("-", "_"): v
                for k, v in request.headers.items()
                if k != "Content-Type"
            },
        }
        got: list[str] = []
        b"".join(wsgi(environ, lambda status, headers, exc=None: got.append(status)))  # type: ignore[arg-type]
        statuses[got[0]] = statuses.get(got[0], 0) + 1

    if explain:
        engine = runtime.uow.session_factory.kw["bind"]
        seen: dict[str, Any] = {}

        @event.listens_for(engine, "before_cursor_execute")
        def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            if statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "WITH")):
                seen.setdefault(statement, parameters)

        for i in range(n):
            one(i)
        print(f"answers: {statuses}")
        slow = check_plans(engine, seen)
        runtime.close()
        if slow:
            raise SystemExit(f"{slow} statements scan a table (see above)")
        return

    third = n // 3
    for i in range(third):
        one(i)
    gc.collect()
    tracemalloc.start(8)
    before = tracemalloc.take_snapshot()
    for i in range(third, n):
        one(i)
        if i % 500 == 0:
            traced = tracemalloc.get_traced_memory()[0] / 1024
            print(f"  {i:,} requests, traced {traced:.0f} KB", flush=True)
    gc.collect()
    after = tracemalloc.take_snapshot()
    print(f"answers: {statuses}")
    print(f"tracemalloc, requests {third:,} -> {n:,}: top growth by traceback")
    for stat in after.compare_to(before, "traceback")[:15]:
        print(f"  {stat.size_diff / 1024:+8.1f} KB  {stat.count_diff:+6d} blocks")
        for line in stat.traceback.format():
            print("      " + line)
    runtime.close()


#: Tables that grow with the caseload or with traffic: a scan of one is a missing index.
BIG_TABLES = (
    "clients", "episodes", "events", "admin_notes", "audit_log", "outbox",
    "processed_deliveries", "headsups",
)  # fmt: skip


def check_plans(engine: Engine, statements: dict[str, Any]) -> int:
    """EXPLAIN each statement (with the parameters it first ran with); print the plans that
    scan a big table whole. Returns how many do."""
    postgres = engine.dialect.name == "postgresql"
    prefix = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
    scans = 0
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters in statements.items():
            cursor.execute(prefix + statement, parameters)
            plan = [str(r[0] if postgres else r[-1]) for r in cursor.fetchall()]
            bad = [
                line.strip()
                for line in plan
                if any(
                    (f"Seq Scan on {t} " in line + " ")
                    if postgres
                    else (line.startswith(f"SCAN {t}") and "INDEX" not in line)
                    for t in BIG_TABLES
                )
            ]
            if bad:
                scans += 1
                print("  SCAN: " + " ".join(statement.split())[:400])
                for line in plan:
                    print("      " + line)
        raw.rollback()
    finally:
        raw.close()
    print(f"  {len(statements)} distinct statements explained, {scans} scan a big table")
    return scans


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", default="sqlite", choices=("sqlite", "postgresql"))
    parser.add_argument("--requests", type=int, default=30_000)
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--clinicians", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="serve's processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per server process")
    parser.add_argument("--rss-tolerance-mb", type=float, default=4.0)
    parser.add_argument(
        "--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test_endurance"
    )
    parser.add_argument("--in-process", type=int, metavar="N", help="tracemalloc mode")
    parser.add_argument(
        "--explain", action="store_true", help="with --in-process: check every query's plan"
    )
    args = parser.parse_args()
    n = args.in_process or args.requests
    clicks = clicks_in(n)
    if clicks >= args.clients:
        raise SystemExit("--clients must exceed the number of clicks (one prompt each)")
    load = os.getloadavg()
    print(
        f"# endurance {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"{args.backend}, {args.clients:,} clients over {args.clinicians:,} clinicians, "
        f"{n:,} requests at c={args.concurrency}, serve --workers {args.workers} x "
        f"{args.threads} threads; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as folder, fake_slack(args.clinicians) as slack_url:
        url = database_url(args.backend, args.postgres_url, Path(folder))
        started = time.perf_counter()
        prompts = prepare(url, args.clients, args.clinicians, clicks)
        print(
            f"  seeded and queued {len(prompts):,} prompts in {time.perf_counter() - started:.0f} s"
        )
        mix = Mix(args.clients, args.clinicians, prompts, clicks)
        if args.in_process:
            in_process(url, slack_url, mix, n, explain=args.explain)
            return 0
        port = free_port()
        env = server_env(url, slack_url, port, args.threads, args.workers)
        with serve(env, port) as pid:
            result = drive(port, n, args.concurrency, mix.request, pid)
    missed = report(result, n, args.rss_tolerance_mb)
    load = os.getloadavg()
    print(f"  load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    for line in missed:
        print("MISSED: " + line)
    if missed:
        return 1
    print("every target met")
    return 0


if __name__ == "__main__":
    sys.exit(main())

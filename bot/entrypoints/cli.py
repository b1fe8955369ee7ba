"""The `discharge-bot` command line: install, migrate, import, inspect and run the bot."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError

from bot import __version__
from bot.clock import FixedClock, ensure_utc
from bot.domain.errors import DomainError
from bot.domain.model import EventKind
from bot.domain.plausibility import ImplausibleDate
from bot.entrypoints.bootstrap import Runtime, build_runtime
from bot.entrypoints.ops import commands as ops_commands
from bot.entrypoints.ops.errors import OpsUsageError
from bot.entrypoints.pager import output_pager
from bot.entrypoints.progress import ProgressLine
from bot.logging_setup import configure_logging
from bot.logsafe import escape_line, quiet_libraries
from bot.services.caseload_file import CaseloadError, parse_sessions, read_caseload
from bot.services.reads import CaseloadRow, Timeline
from bot.services.types import Actor, Source
from bot.settings import Settings, load_settings
from smart_phrases import PhraseLibrary, PhraseSetError, lint, sample_context
from storage import outbox as outbox_store
from storage.crypto import EncryptionError
from storage.db import (
    NotMigrated,
    current_revision,
    head_revision,
    make_engine,
    migrate,
    normalise_url,
)

log = logging.getLogger("discharge-bot")

Handler = Callable[[argparse.Namespace, Settings], int]


class UsageError(Exception):
    """Bad input on the command line; printed as is, exit status 2."""


def _admin() -> Actor:
    import getpass

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "admin"
    return Actor(f"cli:{user}", Source.CLI)


def _parse_now(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--now {text!r} is not an ISO 8601 instant (like 2026-03-16T14:00Z)"
        ) from None
    if value.tzinfo is None:
        raise UsageError(f"--now {text!r} needs a time zone offset (like Z or -05:00)")
    return ensure_utc(value)


def _runtime(settings: Settings, *, now: datetime | None = None) -> Runtime:
    return build_runtime(settings, clock=FixedClock(now) if now else None)


def _fmt(value: datetime | None, zone: ZoneInfo) -> str:
    if value is None:
        return "-"
    try:
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
    except OverflowError:  # a stored date at the edge of the calendar: show it as stored
        return value.strftime("%Y-%m-%d %H:%M %Z")


def _reader_zone(args: argparse.Namespace, settings: Settings) -> ZoneInfo:
    name = getattr(args, "tz", None) or settings.practice_timezone
    try:
        return ZoneInfo(name)
    except Exception:
        raise UsageError(f"unknown time zone {name!r}") from None


# -- commands -----------------------------------------------------------------------------
def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    try:
        before = current_revision(engine)
        migrate(engine)
        after = current_revision(engine)
    finally:
        engine.dispose()
    if before == after:
        print(f"Database already at revision {after}; nothing to do.")
    else:
        print(f"Database migrated from {before or 'empty'} to {after}.")
    return 0


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    try:
        rows = read_caseload(path, practice_timezone=settings.practice_timezone)
    except CaseloadError as exc:
        print(f"{path}: refused, nothing was imported:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {path}:{problem}", file=sys.stderr)
        return 1
    runtime = _runtime(settings)
    progress = ProgressLine(sys.stderr, label=f"{path}: importing")
    try:
        report = runtime.services.caseload.import_caseload(
            rows, actor=_admin(), progress=progress.update
        )
    finally:
        progress.finish()
        runtime.close()
    print(f"{path}: {report}")
    return 0


def cmd_import_sessions(args: argparse.Namespace, settings: Settings) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    try:
        rows = parse_sessions(
            path.read_text(encoding="utf-8"), practice_timezone=settings.practice_timezone
        )
    except (CaseloadError, UnicodeDecodeError) as exc:
        problems = (
            exc.problems
            if isinstance(exc, CaseloadError)
            else [f"line 1: not UTF-8 ({exc.reason})"]
        )
        print(f"{path}: refused, nothing was imported:", file=sys.stderr)
        for problem in problems:
            print(f"  {path}:{problem}", file=sys.stderr)
        return 1
    runtime = _runtime(settings)
    try:
        service = runtime.services
        now = runtime.clock.now()
        known = {row.chart_id for row in service.reads.caseload()}
        problems = [
            f"line {r.line}, column client_id: no client {r.client_id} on the caseload"
            for r in rows
            if r.client_id not in known
        ]
        problems += [
            f"line {r.line}, column occurred_at: {r.occurred_at.isoformat()} is in the future"
            for r in rows
            if r.occurred_at > now
        ]
        if problems:
            print(f"{path}: refused, nothing was imported:", file=sys.stderr)
            for problem in problems:
                print(f"  {path}:{problem}", file=sys.stderr)
            return 1
        applied = repeated = 0
        skipped: list[str] = []
        actor = _admin()
        for row in rows:
            try:
                outcome = service.recording.record_session(
                    row.client_id,
                    EventKind(row.outcome),
                    occurred_at=row.occurred_at,
                    actor=actor,
                    delivery_id=row.delivery_id,
                )
            except ImplausibleDate as refused:
                # Older than the client's current episode: history the caseload already
                # accounts for. Each row is its own fact, so the others still apply.
                skipped.append(f"line {row.line}, column occurred_at: {refused}")
                continue
            repeated += outcome.duplicate
            applied += not outcome.duplicate
    finally:
        runtime.close()
    print(f"{path}: {applied} session outcome(s) recorded, {repeated} already known.")
    if skipped:
        print(f"{len(skipped)} not applied:")
        for problem in skipped:
            print(f"  {path}:{problem}")
    return 0


def cmd_phrases(args: argparse.Namespace, settings: Settings) -> int:
    action = args.phrases_action
    if action == "lint":
        folder = Path(args.dir) if args.dir else settings.smart_phrases_dir
        problems = lint(folder)
        for problem in problems:
            print(problem, file=sys.stderr)
        where = f"{folder} (over the defaults)" if folder else "the default phrases"
        if problems:
            print(f"{len(problems)} problem(s) in {where}.", file=sys.stderr)
            return 1
        print(f"All phrases in {where} are fine.")
        return 0
    library = PhraseLibrary.load(settings.smart_phrases_dir)
    if action == "list":
        for name in library.names():
            meta = library.get(name).meta
            mark = " (overridden)" if library.get(name).overridden else ""
            print(f"{name:<24} {meta.audience:<9} {meta.format:<12} {meta.title}{mark}")
        return 0
    if args.name not in library.names():
        raise UsageError(f"no phrase named {args.name!r}; `discharge-bot phrases list` shows them")
    meta = library.get(args.name).meta
    if args.client:
        runtime = _runtime(settings)
        try:
            context = runtime.services.reads.phrase_context(
                args.client, audience=meta.audience, actor=_admin()
            )
        finally:
            runtime.close()
    else:
        context = sample_context(meta.audience)
    print(library.render(args.name, context, channel=args.channel))
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    zone = _reader_zone(args, settings)
    if args.client and (args.page or args.clinician):
        raise UsageError("--page and --clinician list the caseload; leave out CLIENT_ID")
    runtime = _runtime(settings, now=_parse_now(args.now))
    try:
        if args.client:
            _print_timeline(runtime.services.reads.timeline(args.client, actor=_admin()), zone)
            return 0
        reads = runtime.services.reads
        offset, limit = 0, None
        total: int | None = None
        if args.page:
            offset, limit = (args.page - 1) * args.page_size, args.page_size
            total = reads.caseload_count(clinician_slack_id=args.clinician)
        rows = reads.caseload_rows(clinician_slack_id=args.clinician, offset=offset, limit=limit)
        with output_pager(enabled=not args.no_pager) as out:
            shown = write_caseload(out, rows, zone)
            if shown == 0 and total is None:
                whose = f"{args.clinician}'s caseload" if args.clinician else "The caseload"
                out.write(f"{whose} is empty. Import one with `discharge-bot import FILE.csv`.\n")
            elif total is not None:
                out.write(_page_footer(args.page, args.page_size, shown, total, zone))
            else:
                out.write(f"\n{shown:,} client(s); times in {zone.key}.\n")
    finally:
        runtime.close()
    return 0


STATUS_HEADERS = (
    "CLIENT",
    "CLINICIAN",
    "STATE",
    "CHECK-INS",
    "NEXT STEP",
    "DUE AT",
    "LAST CONTACT",
)


def write_caseload(out: TextIO, rows: Iterable[CaseloadRow], zone: ZoneInfo) -> int:
    """The caseload table, written as the rows arrive (a pager shows the first screen at
    once). Column widths come from the first rows and the headers; a longer cell later
    only pushes its line to the right. Returns how many rows were written."""
    template: str | None = None  # each cell padded to its column's width
    buffered: list[tuple[str, ...]] = []
    shown = 0
    shown_as: dict[datetime | None, str] = {}  # schedules repeat: format each instant once

    def fmt(value: datetime | None) -> str:
        text = shown_as.get(value)
        if text is None:
            text = shown_as[value] = _fmt(value, zone)
        return text

    def start(sample: list[tuple[str, ...]]) -> str:
        widths = _widths(sample)
        template = "  ".join(f"{{:<{w}}}" for w in widths)  # a longer cell is not cut
        for cells in (STATUS_HEADERS, *sample):
            out.write(template.format(*cells).rstrip() + "\n")
        return template

    for r in rows:
        cells = (
            r.chart_id,
            r.clinician,
            r.state.value.replace("_", " "),
            str(r.checkins_sent),
            r.next_title or r.next_step or "-",
            fmt(r.due_at),
            fmt(r.last_contact_at),
        )
        shown += 1
        if template is not None:
            out.write(template.format(*cells).rstrip() + "\n")
            continue
        buffered.append(cells)
        if len(buffered) == WIDTH_SAMPLE:
            template = start(buffered)
    if template is None and buffered:
        start(buffered)
    return shown


#: Rows that set the table's column widths.
WIDTH_SAMPLE = 200


def _widths(rows: list[tuple[str, ...]]) -> list[int]:
    return [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(STATUS_HEADERS)]


def _page_footer(page: int, size: int, shown: int, total: int, zone: ZoneInfo) -> str:
    pages = max(1, -(-total // size))
    if shown == 0:
        return f"Page {page} is past the end: {total:,} client(s) make {pages} page(s).\n"
    first = (page - 1) * size + 1
    text = (
        f"\nClients {first:,}-{first + shown - 1:,} of {total:,} (page {page} of {pages:,}); "
        f"times in {zone.key}."
    )
    if page < pages:
        text += f" Next: --page {page + 1}."
    return text + "\n"


def _print_timeline(timeline: Timeline, zone: ZoneInfo) -> None:
    print(f"{timeline.chart_id} — clinician {timeline.clinician} ({timeline.timezone})")
    for view in timeline.episodes:
        a = view.assessment
        closed = f", closed {_fmt(view.closed_at, zone)}" if view.closed_at else ""
        print(
            f"\nEpisode {view.episode_id}: opened {_fmt(view.opened_at, zone)} ({view.opened_reason}){closed}"
        )
        print(
            f"  state: {a.state.value.replace('_', ' ')}"
            + (f" ({a.closure.value})" if a.closure else "")
        )
        print(
            f"  last contact: {_fmt(a.last_contact_at, zone)}; check-ins documented: {a.checkins_sent}"
        )
        if a.booked_session_at:
            print(f"  next booked session: {_fmt(a.booked_session_at, zone)}")
        upcoming = a.due[0] if a.due else a.next
        if upcoming and view.closed_at is None:
            label = upcoming.kind.value.replace("_", " ") + (
                f" {upcoming.number}" if upcoming.number else ""
            )
            print(f"  next step: {label}, due {_fmt(upcoming.due_at, zone)}")
        print("  why:")
        for reason in a.reasons:
            print(f"    - {reason}")
        print("  log:")
        for event in view.events:
            extra = ", ".join(f"{k}={v}" for k, v in (event.data or {}).items())
            print(
                f"    {_fmt(event.occurred_at, zone)}  {event.kind:<18} by {event.actor} via {event.source}"
                + (f"  ({extra})" if extra else "")
            )


def cmd_tick(args: argparse.Namespace, settings: Settings) -> int:
    now = _parse_now(args.now)
    runtime = _runtime(settings, now=now)
    zone = _reader_zone(args, settings)
    try:
        if runtime.inbound is not None:
            applied = runtime.inbound.drain(wait=False)
            if applied.applied or applied.failed:
                print(
                    f"Platform events applied: {applied.applied}"
                    + (f" ({applied.failed} to be tried again)" if applied.failed else "")
                )
        result = runtime.services.outreach.tick(now)
        print(
            f"Tick at {_fmt(result.now, zone)}: {result.episodes} episode(s) due, {len(result.queued)} message(s) queued."
        )
        for q in result.queued:
            to = q.recipient or "(CCT_CHANNEL_ID not set)"
            print(
                f"  {q.key:<32} {q.kind:<22} {q.chart_id or '-':<10} to {q.recipient_kind} {to}, deliver after {_fmt(q.deliver_after, zone)}"
            )
        _deliver(runtime)
    finally:
        runtime.close()
    return 0


def _deliver(runtime: Runtime) -> None:
    """Send what is due to Slack when a bot token is configured; otherwise say it waits."""
    if runtime.settings.slack_bot_token is None:
        print("SLACK_BOT_TOKEN is not set: messages stay queued in the outbox, not delivered.")
        return
    from bot.delivery.slack_client import make_web_client
    from bot.slack.directory import SlackDirectory
    from bot.slack.dispatch import Dispatcher

    client = make_web_client(runtime.settings)
    report = Dispatcher(
        runtime.services, client, SlackDirectory(client, runtime.settings)
    ).deliver_due(timeout=3600)  # everything due now, retries included; then exit
    print(f"Slack: {report}.")
    for key, error in report.failed:
        print(f"  {key}: {error}")


def cmd_digest(args: argparse.Namespace, settings: Settings) -> int:
    now = _parse_now(args.now)
    runtime = _runtime(settings, now=now)
    try:
        key = runtime.services.digest.queue_weekly_digest(now)
        if key is None:
            print("Nothing to report (or this week's digest was already queued); nothing posted.")
        else:
            print(f"Queued the CCT digest {key}.")
        _deliver(runtime)
    finally:
        runtime.close()
    return 0


def cmd_gen_key(args: argparse.Namespace, settings: Settings) -> int:
    from storage.crypto import generate_key

    print(generate_key())
    return 0


def cmd_rotate_key(args: argparse.Namespace, settings: Settings) -> int:
    from bot.entrypoints.bootstrap import keyring_from_settings
    from bot.services.retention import rotate_keys

    keyring = keyring_from_settings(settings)
    if keyring is None:
        raise UsageError(
            "set DATA_ENCRYPTION_KEY to the new key (and DATA_ENCRYPTION_OLD_KEYS to the "
            "previous ones) first; `discharge-bot gen-key` makes a key"
        )
    runtime = _runtime(settings)
    try:
        report = rotate_keys(runtime.engine, keyring)
    finally:
        runtime.close()
    print(report)
    if keyring.encrypting:
        print("Every row now opens with DATA_ENCRYPTION_KEY alone; old keys may be retired.")
    return 0


def cmd_purge(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services.retention import purge_closed

    zone = ZoneInfo(settings.practice_timezone)
    try:
        day = date.fromisoformat(args.before)
    except ValueError:
        raise UsageError(f"--before {args.before!r} is not a date (like 2025-01-01)") from None
    before = datetime.combine(day, time(0), tzinfo=zone)
    runtime = _runtime(settings)
    try:
        now = runtime.clock.now()
        if before > now:
            raise UsageError("--before must be a date in the past")
        report = purge_closed(runtime.engine, before=before, now=now, actor=_admin().id)
    finally:
        runtime.close()
    print(report)
    return 0


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from bot.entrypoints.report_formats import render
    from bot.services.report import UnknownClinician, compile_report

    now = _parse_now(args.now)
    zone = ZoneInfo(settings.practice_timezone)
    since = None
    if args.since:
        try:
            day = date.fromisoformat(args.since)
        except ValueError:
            raise UsageError(f"--since {args.since!r} is not a date like 2026-01-31") from None
        since = ensure_utc(datetime.combine(day, time(0), tzinfo=zone))
    runtime = _runtime(settings, now=now)
    try:
        at = now or runtime.clock.now()
        if since is not None and since >= at:
            raise UsageError("--since must be before today")
        try:
            report = compile_report(
                runtime.uow,
                settings,
                now=at,
                since=since,
                clinician_slack_id=args.clinician,
                own_view=args.format == "table",
            )
        except UnknownClinician as exc:
            raise UsageError(str(exc)) from None
    finally:
        runtime.close()
    text = render(report, args.format)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"Wrote the {args.format} report to {args.output}.")
    else:
        sys.stdout.write(text)
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.entrypoints.serve import MissingSlackConfig, serve

    try:
        if args.workers is not None:
            settings = settings.model_copy(update={"http_workers": args.workers})
        serve(settings, scheduler_on=not args.no_scheduler)
    except MissingSlackConfig as exc:
        print(f"discharge-bot serve: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from bot.entrypoints.serve import worker

    worker(settings)
    return 0


def cmd_manifest(args: argparse.Namespace, settings: Settings) -> int:
    from bot.slack.manifest import manifest_yaml

    try:
        print(manifest_yaml(settings, request_url=args.url, socket_mode=args.socket_mode), end="")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return 0


def cmd_outbox(args: argparse.Namespace, settings: Settings) -> int:
    zone = _reader_zone(args, settings)
    runtime = _runtime(settings)
    try:
        if args.outbox_action == "retry":
            with runtime.uow() as repo:
                try:
                    row = outbox_store.requeue(
                        repo.session, row_id=args.id, now=runtime.clock.now()
                    )
                except ValueError as exc:
                    raise UsageError(str(exc)) from None
                if row is None:
                    raise UsageError(f"there is no outbox message {args.id}")
                repo.audit(
                    at=runtime.clock.now(),
                    actor=_admin().id,
                    action="outbox_retry",
                    episode_id=row.episode_id,
                    details={"outbox_id": row.id},
                )
                key = row.idempotency_key
            print(f"Message {args.id} ({key}) is queued again; the next delivery pass sends it.")
            return 0
        statuses = ["dead"] if args.dead else ["pending", "in_flight"]
        rows = runtime.services.reads.outbox(statuses=statuses)
    finally:
        runtime.close()
    if not rows:
        print("No dead-lettered messages." if args.dead else "Nothing waiting in the outbox.")
        return 0
    print(f"{'ID':>6}  {'STATUS':<9} {'KIND':<22} {'KEY':<32} {'TRIES':>5}  TO / WHEN / LAST ERROR")
    for row in rows:
        print(
            f"{row.id:>6}  {row.status:<9} {row.kind:<22} {row.idempotency_key:<32} {row.attempts:>5}  "
            f"{row.recipient or '-'} after {_fmt(row.deliver_after, zone)}"
            + (f"  error: {row.last_error}" if row.last_error else "")
        )
    if args.dead:
        print("\nRe-queue one with `discharge-bot outbox retry ID` once its cause is fixed.")
    return 0


# -- parser ---------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="discharge-bot",
        description=(
            "Carries clinicians through the practice's policy for closing a client's file "
            "when therapy ends through inactivity, and keeps the Care Coordination Team in the "
            "loop. Configuration comes from environment variables (see the README)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"discharge-bot {__version__}")
    parser.add_argument(
        "--settings",
        metavar="FILE",
        type=Path,
        help="a KEY=value settings file (environment variables win over it)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    command("migrate", cmd_migrate, "Create or upgrade the database schema (safe to run again).")
    p = command(
        "import",
        cmd_import,
        "Import the caseload from a CSV file: client_id, clinician_slack_id, first_name, "
        "last_contact_at, next_session_at, clinician_timezone. The whole file is checked "
        "first; a bad row is reported with its line and column and nothing is written. "
        "Then it is written in one transaction (all or nothing), with a progress line on a "
        "terminal. Importing the same file again changes nothing.",
    )
    p.add_argument("file", metavar="FILE.csv")
    p = command(
        "status",
        cmd_status,
        "Show the caseload (each client's state, check-ins, next step, due time and last "
        "contact), or one client's timeline with reasons. On a terminal a long caseload "
        "opens in a pager ($PAGER, else less); --page shows one page of it.",
    )
    p.add_argument("client", nargs="?", metavar="CLIENT_ID", help="a chart id, e.g. R-1042")
    p.add_argument("--now", metavar="ISO8601", help="assess at this instant instead of now")
    p.add_argument(
        "--tz", metavar="ZONE", help="show times in this zone (default: the practice zone)"
    )
    p.add_argument(
        "--clinician", metavar="SLACK_ID", help="only this clinician's clients (their Slack id)"
    )
    p.add_argument(
        "--page",
        type=_positive,
        metavar="N",
        help="show only page N of the caseload (1 is the first), with the total",
    )
    p.add_argument(
        "--page-size",
        type=_positive,
        default=50,
        metavar="ROWS",
        help="clients per page with --page (default 50)",
    )
    p.add_argument(
        "--no-pager",
        action="store_true",
        help="print straight to the terminal (by default a long caseload opens in $PAGER, "
        "else less, as git does)",
    )
    p = command(
        "tick",
        cmd_tick,
        "Run one scheduler pass at an instant: decide what is due, queue it in the outbox "
        "(each message once, however often this runs), deliver what is due to Slack when "
        "SLACK_BOT_TOKEN is set, then exit.",
    )
    p.add_argument("--now", metavar="ISO8601", help="the instant to run at (default: the clock)")
    p.add_argument("--tz", metavar="ZONE", help="show times in this zone")
    p = command(
        "import-sessions",
        cmd_import_sessions,
        "Backfill session outcomes from a CSV file (client_id, occurred_at, outcome with outcome "
        "one of attended, cancelled, no_show) for practices without a platform webhook. The "
        "whole file is checked first; rows already imported are skipped.",
    )
    p.add_argument("file", metavar="FILE.csv")
    p = command(
        "phrases",
        cmd_phrases,
        "Work with the Smart Phrase library: list the phrases, lint a folder of overrides, or "
        "render one phrase with sample data or a real client's.",
    )
    phrases = p.add_subparsers(dest="phrases_action", metavar="ACTION", required=True)
    phrases.add_parser(
        "list",
        help="list the phrases with their titles",
        description="List the phrases with their audience, format and title.",
    )
    lint_p = phrases.add_parser(
        "lint",
        help="check a phrase folder",
        description="Check every phrase: it parses, its header is complete, it uses only "
        "declared variables, renders against sample data and fits Slack's limits. Errors name "
        "the file and line.",
    )
    lint_p.add_argument(
        "dir",
        nargs="?",
        metavar="DIR",
        help="a folder of overrides (default: SMART_PHRASES_DIR, else the defaults)",
    )
    render_p = phrases.add_parser(
        "render",
        help="render one phrase",
        description="Print one phrase rendered with sample data, or with a real client's "
        "record (--client).",
    )
    render_p.add_argument("name", metavar="NAME")
    render_p.add_argument(
        "--client",
        metavar="CLIENT_ID",
        help="render for this client (chart id) instead of sample data",
    )
    render_p.add_argument(
        "--channel",
        choices=["slack", "chat", "plain"],
        help="escape for this channel (default: the phrase's own format)",
    )
    p = command(
        "serve",
        cmd_serve,
        "Run the bot: Slack over Socket Mode when SLACK_APP_TOKEN is set, else HTTP on PORT "
        "(POST /slack/events, /platform/*, GET /healthz); the scheduler ticks and delivers "
        "every DISCHARGE_TICK_SECONDS and posts the weekly CCT digest. Needs SLACK_BOT_TOKEN "
        "(and SLACK_SIGNING_SECRET for HTTP). SIGTERM stops it gracefully.",
    )
    p.add_argument(
        "--no-scheduler",
        action="store_true",
        help="serve only; a separate `discharge-bot worker` ticks and delivers",
    )
    p.add_argument(
        "--workers",
        type=_positive,
        metavar="N",
        help="answer HTTP with N processes sharing the port (default DISCHARGE_HTTP_WORKERS, 1)",
    )
    command(
        "worker",
        cmd_worker,
        "Run only the scheduler: every DISCHARGE_TICK_SECONDS queue what is due and deliver "
        "it to Slack, and post the weekly CCT digest. Any number of workers may run against "
        "one PostgreSQL database. SIGTERM stops claiming work and exits within 10 seconds.",
    )
    p = command(
        "manifest",
        cmd_manifest,
        "Print the Slack app manifest (YAML) to paste into api.slack.com: the /care command, "
        "scopes, events and interactivity.",
    )
    p.add_argument("--url", metavar="URL", help="the bot's public https:// base URL (HTTP mode)")
    p.add_argument("--socket-mode", action="store_true", help="a Socket Mode app (no request URLs)")
    p = command(
        "digest",
        cmd_digest,
        "Post the weekly CCT digest now (for the week that ended yesterday); skipped when "
        "there is nothing to report, and posted once per week however often it runs.",
    )
    p.add_argument("--now", metavar="ISO8601", help="the instant to run at (default: the clock)")
    p = command(
        "report",
        cmd_report,
        "The re-engagement report, per practice and per clinician: outreach opened by path "
        "(silence, attendance, manual), clients who came back (after which check-in, which "
        "wording, or after an early heads-up), files discharged, care-team removals, "
        "rematches, the median days from last contact to a closed file, steps that went "
        "overdue and how often Send for me was used. Counts only, never names; counts from 1 "
        "to 4 are shown as <5 except in one clinician's own on-screen table (--clinician with "
        "--format table).",
    )
    p.add_argument(
        "--since", metavar="DATE", help="first day counted, YYYY-MM-DD (default: 90 days ago)"
    )
    p.add_argument("--clinician", metavar="ID", help="only this clinician (their Slack user id)")
    p.add_argument(
        "--format",
        choices=["table", "csv", "html"],
        default="table",
        help="output format (default: table)",
    )
    p.add_argument("--output", metavar="FILE", help="write to FILE instead of the screen")
    p.add_argument(
        "--now", metavar="ISO8601", help="the instant the report ends (default: the clock)"
    )
    p = command(
        "outbox",
        cmd_outbox,
        "List messages waiting to be delivered (or, with --dead, the dead-lettered ones), or "
        "re-queue a dead-lettered message with `outbox retry ID`.",
    )
    p.add_argument("--dead", action="store_true", help="list dead-lettered messages")
    p.add_argument("--tz", metavar="ZONE", help="show times in this zone")
    p.set_defaults(outbox_action="list")
    outbox_sub = p.add_subparsers(dest="outbox_action", metavar="ACTION")
    retry_p = outbox_sub.add_parser(
        "retry",
        help="re-queue one dead-lettered message",
        description="Re-queue one dead-lettered (or skipped) message so the next delivery pass "
        "sends it. It is looked for in Slack first, so it is never posted twice.",
    )
    retry_p.add_argument("id", type=int, metavar="ID", help="the message id from `outbox --dead`")
    command(
        "gen-key",
        cmd_gen_key,
        "Print a new encryption key for DATA_ENCRYPTION_KEY (keep it with the database "
        "backups' secrets: without it encrypted notes cannot be read).",
    )
    command(
        "rotate-key",
        cmd_rotate_key,
        "Re-encrypt every note body, summary and first name under DATA_ENCRYPTION_KEY, "
        "reading older rows with DATA_ENCRYPTION_OLD_KEYS (comma-separated); rows stored "
        "before encryption was on are encrypted too. One transaction: all or nothing.",
    )
    p = command(
        "purge",
        cmd_purge,
        "Retention: remove the text of admin notes and discharge summaries of episodes "
        "closed before DATE (in the practice's zone). Dates, states, events and the audit "
        "trail are kept, and each purge is audited. Says what it removed.",
    )
    p.add_argument("--before", required=True, metavar="DATE", help="e.g. 2019-01-01")
    ops_commands.register(sub, command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(verbose=args.verbose)
    quiet_libraries()  # bodies and SQL parameters stay out of the log, even with --verbose
    if not args.verbose:
        logging.getLogger("alembic").setLevel(logging.WARNING)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        settings = load_settings(args.settings)
    except ValidationError as exc:
        print("discharge-bot: the configuration is not valid:", file=sys.stderr)
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "settings"
            print(f"  {where}: {error['msg']}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"discharge-bot: {exc}", file=sys.stderr)
        return 2
    try:
        handler: Handler = args.handler
        return handler(args, settings)
    except (UsageError, OpsUsageError) as exc:
        print(f"discharge-bot {args.command}: {exc}", file=sys.stderr)
        return 2
    except NotMigrated as exc:
        print(f"discharge-bot: {exc}", file=sys.stderr)
        return 1
    except PhraseSetError as exc:
        print(
            "discharge-bot: the Smart Phrase set is broken, so the bot will not start:",
            file=sys.stderr,
        )
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        print("Fix the files named above (see `discharge-bot phrases lint`).", file=sys.stderr)
        return 1
    except DomainError as exc:
        print(f"discharge-bot {args.command}: {exc}", file=sys.stderr)
        return 1
    except EncryptionError as exc:
        print(f"discharge-bot {args.command}: {exc}", file=sys.stderr)
        return 1
    except (OperationalError, InterfaceError) as exc:
        if _answers(settings.database_url):
            raise  # the database is there: this is a real error, not a connection problem
        print(
            f"discharge-bot {args.command}: {unreachable(settings.database_url, exc)}",
            file=sys.stderr,
        )
        return 1


def _answers(url: str) -> bool:
    engine = make_engine(url)
    try:
        with engine.connect():
            return True
    except Exception:
        return False
    finally:
        engine.dispose()


def unreachable(url: str, exc: Exception) -> str:
    """One line: which database (never its password) and why, from the driver's own words."""
    try:
        parsed = make_url(normalise_url(url))
        where = (
            parsed.database or "?"
            if parsed.get_backend_name() == "sqlite"
            else f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"
        )
        secret = parsed.password
    except Exception:
        where, secret = "named by DATABASE_URL", None
    cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    reason = cause[0].strip() if cause else type(exc).__name__
    if secret:
        reason = reason.replace(str(secret), "***")
    return f"cannot reach the database at {where} ({escape_line(reason)[:200]})"


__all__ = ["build_parser", "head_revision", "main"]

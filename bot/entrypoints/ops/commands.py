"""The `demo`, `doctor`, `audit` and `export` subcommands, registered into the CLI's parser."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bot.entrypoints.ops.errors import OpsUsageError
from bot.settings import Settings

Handler = Callable[[argparse.Namespace, Settings], int]


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-03-02") from None


def _since(text: str) -> datetime | date:
    try:
        if "T" in text:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if value.tzinfo is None:
                raise argparse.ArgumentTypeError(f"{text!r} needs a zone offset (Z or -05:00)")
            return value
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (2026-03-02) or an instant (2026-03-02T09:00-05:00)"
        ) from None


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.entrypoints.demo.run import DemoOptions, NotADemoDatabase, main_demo

    if args.weeks < 1 or args.weeks > 52:
        raise OpsUsageError("--weeks must be between 1 and 52")
    if args.speed < 0:
        raise OpsUsageError("--speed must be 0 (as fast as possible) or more")
    if args.start is not None and args.start.weekday() != 0:
        raise OpsUsageError(f"--start {args.start} is not a Monday")
    if not args.verbose:
        # The app's own INFO lines (one per request) would drown the timeline.
        logging.getLogger().setLevel(logging.WARNING)
    options = DemoOptions(
        weeks=args.weeks,
        seed=args.seed,
        speed=args.speed,
        start=args.start,
        db=args.db,
        html=args.html,
    )
    try:
        return main_demo(settings, options)
    except NotADemoDatabase as exc:
        raise OpsUsageError(str(exc)) from None


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    from bot.entrypoints.ops.doctor import print_report, run_checks

    results = run_checks(settings, timeout=args.timeout)
    return print_report(results, sys.stdout)


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    from bot.entrypoints.ops.records import print_audit

    return print_audit(
        settings, client=args.client, since=args.since, tz=args.tz, limit=args.limit, out=sys.stdout
    )


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from bot.entrypoints.ops.records import export_discharges

    out = sys.stdout
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="") as handle:
            count = export_discharges(settings, since=args.since, tz=args.tz, out=handle)
        print(f"{count} discharge(s) written to {args.output}.", file=sys.stderr)
        return 0
    export_discharges(settings, since=args.since, tz=args.tz, out=out)
    return 0


def register(sub: Any, command: Callable[[str, Handler, str], argparse.ArgumentParser]) -> None:
    """Add the subcommands to the CLI's subparsers (`command` is the CLI's own helper)."""
    p = command(
        "demo",
        cmd_demo,
        "Watch the whole policy work in a few seconds, with no Slack workspace, no tokens and "
        "no network: the real bot runs against a fake Slack and a fake clinical platform on "
        "this machine, on a throw-away SQLite database, while a virtual clock moves through a "
        "synthetic caseload's weeks and the clinicians and CCT click the buttons. Prints the "
        "timeline and each client's outcome.",
    )
    p.add_argument("--weeks", type=int, default=12, help="weeks of virtual time (default 12)")
    p.add_argument(
        "--seed",
        type=int,
        default=1,
        help="chooses the synthetic chart ids, names and click timings (default 1)",
    )
    p.add_argument(
        "--speed",
        type=float,
        default=0.0,
        metavar="DAYS",
        help="virtual days per real second, to watch it unfold (default: as fast as it goes)",
    )
    p.add_argument(
        "--start",
        type=_date,
        metavar="DATE",
        help="the first day, a Monday (default: the coming Monday)",
    )
    p.add_argument(
        "--db",
        type=Path,
        metavar="FILE",
        help="keep the demo's SQLite database in FILE (replaced if it exists) to "
        "look at it afterwards with --settings/DATABASE_URL; default: a "
        "temporary file, removed at the end",
    )
    p.add_argument(
        "--html",
        type=Path,
        metavar="FILE",
        help="also write the transcript as a web page showing each Slack message "
        "as Slack would (self-contained, works offline)",
    )

    p = command(
        "doctor",
        cmd_doctor,
        "Check the installation and say what to fix: configuration, database migrations, the "
        "Smart Phrase set, the Slack token and its scopes, the CCT channel, the clinical "
        "platform. Exits non-zero when a check fails.",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long to wait for Slack or the platform to answer (default 10)",
    )

    p = command(
        "audit",
        cmd_audit,
        "Print the audit trail (who changed what, when, from where), oldest first: the whole "
        "practice's, or one client's.",
    )
    p.add_argument("client", nargs="?", metavar="CLIENT_ID", help="a chart id, e.g. R-1042")
    p.add_argument(
        "--since",
        type=_since,
        metavar="DATE",
        help="only entries from this date (practice zone) or instant on",
    )
    p.add_argument("--limit", type=int, default=None, metavar="N", help="only the last N entries")
    p.add_argument("--tz", metavar="ZONE", help="show times in this zone")

    p = command(
        "export",
        cmd_export,
        "Export records for the practice's files. `export discharges` writes one CSV row per "
        "discharge (chart id, clinician, dates, reason, check-ins, CCT archive) -- no names "
        "and no note text.",
    )
    p.add_argument("what", choices=["discharges"], help="what to export")
    p.add_argument(
        "--since",
        type=_since,
        required=True,
        metavar="DATE",
        help="discharges closed on or after this date (practice zone)",
    )
    p.add_argument("--format", choices=["csv"], default="csv", help="the file format (csv)")
    p.add_argument("--tz", metavar="ZONE", help="write dates in this zone (default: practice)")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of the screen")

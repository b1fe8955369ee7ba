"""Run the demo: the stage, the synthetic caseload, the timeline as it happens, the outcomes."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from bot.entrypoints.demo.caseload import PEOPLE, demo_clients
from bot.entrypoints.demo.engine import DEMO_MARK, Entry, Stage
from bot.entrypoints.demo.result import DemoResult, outcome_table
from bot.entrypoints.demo.scenario import run_scenario
from bot.settings import Settings


@dataclass(frozen=True)
class DemoOptions:
    weeks: int = 12
    seed: int = 1
    speed: float = 0.0  # virtual days per real second; 0 = as fast as it goes
    start: date | None = None  # a Monday; default: the coming Monday
    db: Path | None = None
    html: Path | None = None


class NotADemoDatabase(Exception):
    """`--db` names a file the demo did not make: it is never replaced."""


def is_demo_database(path: Path) -> bool:
    """True when `path` is a SQLite file an earlier demo made (it carries the demo's mark)."""
    import sqlite3

    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        row = connection.execute(
            "SELECT 1 FROM runtime_marks WHERE name = ?", (DEMO_MARK,)
        ).fetchone()
    except sqlite3.Error:
        return False
    finally:
        connection.close()
    return row is not None


def default_start(today: date) -> date:
    """The Monday of the coming week (today when today is a Monday)."""
    return today + timedelta(days=(7 - today.weekday()) % 7)


def run_demo(
    settings: Settings,
    options: DemoOptions,
    *,
    on_entry: Callable[[Entry], None] | None = None,
    on_step: Callable[[datetime, datetime, datetime], None] | None = None,
    today: date | None = None,
) -> DemoResult:
    """Run the whole demo; `on_entry` sees each transcript entry as it happens and `on_step`
    (start, now, end) each move of the clock."""
    zone = ZoneInfo(settings.practice_timezone)
    first = options.start or default_start(today or datetime.now(UTC).astimezone(zone).date())
    start = datetime.combine(first, datetime.min.time(), tzinfo=zone).replace(hour=8)
    end = start + timedelta(weeks=options.weeks)
    folder = None
    if options.db is None:
        # In memory-backed storage when the system has it: the demo writes a lot, briefly.
        shm = Path("/dev/shm")  # noqa: S108 - mkdtemp below makes a private folder in it
        base = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
        folder = Path(tempfile.mkdtemp(prefix="discharge-bot-demo-", dir=base))
        db_path = folder / "demo.db"
    else:
        db_path = options.db
        if db_path.exists():
            if not is_demo_database(db_path):
                raise NotADemoDatabase(
                    f"{db_path} exists and is not a database an earlier demo made; the demo "
                    "replaces its --db file, so give it a new file name"
                )
            db_path.unlink()  # the demo starts from an empty practice every time
    started = time.monotonic()
    try:
        with Stage(
            settings,
            database_url=f"sqlite:///{db_path}",
            start=start.astimezone(UTC),
            people=PEOPLE,
        ) as stage:
            if on_entry is not None:
                stage.transcript.listeners.append(on_entry)

            def step(now: datetime) -> None:
                if options.speed > 0:
                    virtual_days = (now - start).total_seconds() / 86400
                    wait = virtual_days / options.speed - (time.monotonic() - started)
                    if wait > 0:
                        time.sleep(wait)
                if on_step is not None:
                    on_step(start, now, end)

            found = run_scenario(
                stage, demo_clients(options.seed), end=end, seed=options.seed, on_step=step
            )
            entries = list(stage.transcript.entries)
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    return DemoResult(
        entries, found, start, end, time.monotonic() - started, settings.practice_timezone
    )


# --------------------------------------------------------------------------- terminal output


def fmt_when(value: datetime, zone: str) -> str:
    return value.astimezone(ZoneInfo(zone)).strftime("%a %d %b %H:%M %Z")


ICONS = {
    "message": "->",
    "update": "~>",
    "ephemeral": "->",
    "modal": "[]",
    "click": "**",
    "submit": "**",
    "platform": "<=",
    "note": "--",
    "home": "[]",
}


def timeline_line(entry: Entry) -> str | None:
    """One readable line per entry; in-place updates are left to the click that caused them."""
    if entry.kind == "update":
        return None
    when = fmt_when(entry.at, entry.zone)
    icon = ICONS.get(entry.kind, "  ")
    if entry.kind in {"message", "ephemeral"}:
        return f"{when}  {icon} {entry.where}: {entry.summary}"
    if entry.kind == "home":
        return f"{when}  {icon} {entry.summary} (the caseload dashboard)"
    if entry.kind == "modal":
        return f"{when}  {icon} {entry.summary}"
    if entry.kind in {"click", "submit"}:
        about = f" ({entry.chart_id})" if entry.chart_id else ""
        return f"{when}  {icon} {entry.actor} {entry.summary}{about}"
    if entry.kind == "platform":
        return f"{when}  {icon} platform: {entry.summary} [{entry.chart_id}]"
    return f"{when}  {icon} {entry.summary}"


class Progress:
    """A one-line progress bar on a terminal (redrawn under the timeline); plain lines, one per
    week, anywhere else."""

    def __init__(self, out: TextIO, *, tty: bool | None = None, width: int = 30) -> None:
        self.out = out
        self.tty = out.isatty() if tty is None else tty
        self.width = width
        self.shown = False
        self.last_week = -1

    def entry(self, line: str) -> None:
        if self.tty and self.shown:
            self.out.write("\r\033[K")
        self.out.write(line + "\n")
        self.shown = False

    def step(self, start: datetime, now: datetime, end: datetime) -> None:
        total = (end - start).total_seconds() or 1
        share = min(1.0, max(0.0, (now - start).total_seconds() / total))
        week = min(int((now - start).days // 7) + 1, int(total // (7 * 86400)))
        if self.tty:
            filled = int(share * self.width)
            bar = "#" * filled + "." * (self.width - filled)
            self.out.write(f"\r\033[K[{bar}] {share:4.0%}  week {week}  {now.date().isoformat()}")
            self.out.flush()
            self.shown = True
        elif week != self.last_week:
            self.last_week = week
            self.out.write(f"-- week {week} of {int(total // (7 * 86400))} --\n")

    def done(self) -> None:
        if self.tty and self.shown:
            self.out.write("\r\033[K")
            self.shown = False


def print_intro(out: TextIO, options: DemoOptions, settings: Settings) -> None:
    out.write(
        "discharge-bot demo: the real bot (scheduler, Slack listeners, outbox) against a fake\n"
        "Slack and a fake clinical platform on this machine. A synthetic caseload of six\n"
        f"clients goes through {options.weeks} weeks of a virtual clock; the clinicians and the\n"
        "Care Coordination Team click the buttons the bot gives them. No network, no tokens.\n"
        "Times are shown in the zone of whoever reads them "
        f"(practice: {settings.practice_timezone}).\n\n"
    )


def main_demo(settings: Settings, options: DemoOptions, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    print_intro(out, options, settings)
    progress = Progress(out)

    def on_entry(entry: Entry) -> None:
        line = timeline_line(entry)
        if line is not None:
            progress.entry(line)

    result = run_demo(settings, options, on_entry=on_entry, on_step=progress.step)
    progress.done()
    out.write("\nOutcomes after " + f"{options.weeks} weeks:\n\n")
    out.write(outcome_table(result.outcomes) + "\n\n")
    reached = sum(o.reached for o in result.outcomes)
    out.write(
        f"{reached} of {len(result.outcomes)} paths reached their end; "
        f"{sum(e.kind == 'message' for e in result.entries)} Slack messages, "
        f"{sum(e.kind in {'click', 'submit'} for e in result.entries)} clicks, "
        f"{sum(e.kind == 'platform' for e in result.entries)} platform events, "
        f"in {result.seconds:.1f} s.\n"
    )
    if options.html is not None:
        from bot.entrypoints.demo.html import write_html

        write_html(result, options.html)
        out.write(f"The transcript, rendered as Slack shows it: {options.html}\n")
    return 0 if reached == len(result.outcomes) or options.weeks < 12 else 1

"""The re-engagement report: what brought clients back, per practice and per clinician.

This module computes it (from storage.reporting's grouped SQL aggregates) and applies the
small-cell rule; `bot.entrypoints.report_formats` draws it as a table, CSV or HTML.

Counts only: no client names, chart ids or note text ever appear. Small cells are protected:
a count from 1 to `min_cell - 1` (DISCHARGE_REPORT_MIN_CELL, default 5) is shown as "<5" in
everything shared beyond one clinician's own view -- the practice row, other clinicians'
rows, the CSV and HTML exports and the CCT digest line. The only exact small counts are a
clinician's own row in the on-screen table asked for with `--clinician` (their own view).
A median over fewer than `min_cell` files is suppressed the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.settings import Settings
from storage import reporting
from storage.reporting import Window
from storage.repository import UnitOfWork

PATHS = ("silence", "attendance", "manual")
DEFAULT_DAYS = 90


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    chart: str | None = None  # the HTML chart the column belongs to


def checkin_label(n: int, total: int) -> str:
    if n <= 0:
        return "before check-in 1"
    if n >= total:
        return "after the final check-in"
    return f"after check-in {n}"


def columns(total_checkins: int) -> list[Column]:
    cols = [Column(f"outreach_{p}", f"outreach by {p}", "Outreach opened, by path") for p in PATHS]
    cols.append(Column("reengaged", "re-engaged"))
    cols += [
        Column(
            f"reengaged_{n}",
            f"re-engaged {checkin_label(n, total_checkins)}",
            "What brought clients back",
        )
        for n in range(total_checkins + 1)
    ]
    cols += [
        Column("headsups", "heads-ups sent"),
        Column("headsup_returned", "came back after a heads-up", "What brought clients back"),
        Column("headsup_expected", "heads-ups marked expected"),
        Column("headsup_dismissed", "heads-ups dismissed"),
        Column("discharged", "discharged (file closed)", "How files ended"),
        Column("care_team_removed", "care-team removals", "How files ended"),
        Column("rematched", "rematches", "How files ended"),
        Column("median_days", "median days last contact to closed file"),
        Column("overdue_nudged", "steps overdue (re-nudged)"),
        Column("overdue_escalated", "steps escalated to CCT"),
        Column("checkins", "check-ins documented"),
        Column("send_for_me", "sent with Send for me"),
    ]
    return cols


@dataclass
class Row:
    scope: Literal["practice", "clinician"]
    who: str  # the practice's name, or the clinician's Slack id
    name: str | None = None  # the clinician's display name (never a client's)
    counts: dict[str, int] = field(default_factory=dict)
    days: list[float] = field(default_factory=list)  # last contact -> closed file
    phrases: dict[str, int] = field(default_factory=dict)  # "checkin_2@1a2b3c4d" -> count
    exact: bool = False  # the clinician's own view: no small-cell protection

    def add(self, key: str, n: int) -> None:
        self.counts[key] = self.counts.get(key, 0) + n


@dataclass(frozen=True)
class Report:
    since: datetime
    until: datetime
    practice: Row
    clinicians: tuple[Row, ...]
    columns: tuple[Column, ...]
    min_cell: int
    total_checkins: int
    zone: str = "UTC"  # the practice's: the dates a reader sees

    @property
    def period(self) -> str:
        zone = ZoneInfo(self.zone)
        return f"{self.since.astimezone(zone):%Y-%m-%d} to {self.until.astimezone(zone):%Y-%m-%d}"

    @property
    def rows(self) -> tuple[Row, ...]:
        return (self.practice, *self.clinicians)

    def cell(self, row: Row, key: str) -> str:
        """What a shared (or own) view may show for one count."""
        if key == "median_days":
            if not row.days:
                return "-"
            if not row.exact and len(row.days) < self.min_cell:
                return f"n<{self.min_cell}"
            return f"{median(row.days):.1f}"
        return self.protect(row.counts.get(key, 0), exact=row.exact)

    def protect(self, n: int, *, exact: bool = False) -> str:
        if exact or n == 0 or n >= self.min_cell:
            return str(n)
        return f"<{self.min_cell}"


def build(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    practice_name: str,
    total_checkins: int,
    min_cell: int,
    clinician_id: int | None = None,
    own_view: bool = False,
    zone: str = "UTC",
) -> Report:
    """Run the aggregates for [since, until) and arrange them per clinician and practice.

    `clinician_id` narrows everything to one clinician; `own_view` (only with it) shows that
    clinician's own row without small-cell protection.
    """
    window = Window(since, until, clinician_id)
    people = reporting.clinicians(session, clinician_id=clinician_id)
    rows = {
        cid: Row("clinician", slack, name, exact=own_view and clinician_id == cid)
        for cid, slack, name in people
    }
    practice = Row("practice", practice_name)

    def spread(found: dict[tuple[int, str], int], key: Callable[[str], str | None]) -> None:
        for (cid, raw), n in found.items():
            name = key(raw)
            if name is None or cid not in rows:
                continue
            rows[cid].add(name, n)
            practice.add(name, n)

    spread(reporting.outreach_started(session, window), lambda t: f"outreach_{t}")
    spread(
        reporting.closures(session, window),
        lambda c: {
            "archived": "discharged",
            "care_team_removed": "care_team_removed",
            "rematched": "rematched",
        }.get(c),
    )
    reengaged = reporting.reengaged_after_checkin(session, window)
    spread(reengaged, lambda n: "reengaged")
    spread(reengaged, lambda n: f"reengaged_{min(int(n), total_checkins)}")
    told = reporting.headsups(session, window)
    spread(
        told,
        lambda s: {
            "returned": "headsup_returned",
            "expected": "headsup_expected",
            "dismissed": "headsup_dismissed",
        }.get(s),
    )
    spread(told, lambda s: None if s == "returned" else "headsups")
    spread(reporting.overdue_steps(session, window), lambda k: f"overdue_{k}")
    documented = reporting.checkins_documented(session, window)
    spread(documented, lambda v: "checkins")
    spread(documented, lambda v: "send_for_me" if v == "platform" else None)
    for (cid, key), n in reporting.reengaged_by_phrase(session, window).items():
        if cid in rows:
            rows[cid].phrases[key] = rows[cid].phrases.get(key, 0) + n
            practice.phrases[key] = practice.phrases.get(key, 0) + n
    for cid, days in reporting.days_to_closed_file(session, window):
        if cid in rows:
            rows[cid].days.append(days)
            practice.days.append(days)
    return Report(
        since=since,
        until=until,
        practice=practice,
        clinicians=tuple(rows.values()),
        columns=tuple(columns(total_checkins)),
        min_cell=min_cell,
        total_checkins=total_checkins,
        zone=zone,
    )


def digest_line(report: Report) -> str:
    """The CCT digest's weekly line: practice-wide, protected, no names."""
    p = report.practice
    opened = sum(p.counts.get(f"outreach_{x}", 0) for x in PATHS)
    parts = [
        f"outreach opened {report.protect(opened)}",
        f"re-engaged {report.protect(p.counts.get('reengaged', 0))}",
        f"came back after a heads-up {report.protect(p.counts.get('headsup_returned', 0))}",
        f"discharged {report.protect(p.counts.get('discharged', 0))}",
        f"care-team removals {report.protect(p.counts.get('care_team_removed', 0))}",
        f"rematches {report.protect(p.counts.get('rematched', 0))}",
    ]
    return "Re-engagement this week: " + ", ".join(parts)


def is_empty(report: Report) -> bool:
    return not any(report.practice.counts.values()) and not report.practice.days


# -- the use case -------------------------------------------------------------------------------
class UnknownClinician(Exception):
    """`--clinician` names nobody on the caseload."""


def compile_report(
    uow: UnitOfWork,
    settings: Settings,
    *,
    now: datetime,
    since: datetime | None = None,
    clinician_slack_id: str | None = None,
    own_view: bool = False,
) -> Report:
    """The report for [since, now) (default: the last DEFAULT_DAYS days), in one read-only
    unit of work. `own_view` lifts the small-cell protection for the named clinician's row."""
    start = since or now - timedelta(days=DEFAULT_DAYS)
    with uow() as repo:
        clinician_id = None
        if clinician_slack_id is not None:
            found = reporting.clinician_ids(repo.session, [clinician_slack_id])
            if clinician_slack_id not in found:
                raise UnknownClinician(f"no clinician {clinician_slack_id} on the caseload")
            clinician_id = found[clinician_slack_id]
        return build(
            repo.session,
            since=start,
            until=now,
            practice_name=settings.practice_name or "the practice",
            total_checkins=settings.checkins,
            min_cell=settings.report_min_cell,
            clinician_id=clinician_id,
            own_view=own_view and clinician_id is not None,
            zone=settings.practice_timezone,
        )

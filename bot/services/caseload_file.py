"""The caseload CSV: parsed and checked whole before anything is written, then applied once.

Columns (header row, UTF-8):
client_id,clinician_slack_id,first_name,last_contact_at,next_session_at,clinician_timezone
and, optionally, last_session_at (the last attended session, for the discharge summary) and
clinician_name (how client messages are signed; else the clinician's Slack name) and
clinician_platform_id (the clinician's own id in the platform: sessions with other providers
are then told apart).

Dates are ISO 8601. A date alone means midnight, and a time without an offset means local time,
in the clinician's zone (the row's clinician_timezone, else the practice zone).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

COLUMNS = (
    "client_id",
    "clinician_slack_id",
    "first_name",
    "last_contact_at",
    "next_session_at",
    "clinician_timezone",
)
OPTIONAL_COLUMNS = ("last_session_at", "clinician_name", "clinician_platform_id")
REQUIRED = ("client_id", "clinician_slack_id", "last_contact_at")
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
_CHART_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Problem:
    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


class CaseloadError(ValueError):
    """The file was refused; nothing of it was written."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class CaseloadRow:
    line: int
    client_id: str
    clinician_slack_id: str
    first_name: str | None
    last_contact_at: datetime
    next_session_at: datetime | None
    clinician_timezone: str | None
    last_session_at: datetime | None = None
    clinician_name: str | None = None
    clinician_platform_id: str | None = None


@dataclass(frozen=True)
class ImportReport:
    created: int
    updated: int
    unchanged: int
    clinicians_created: int

    def __str__(self) -> str:
        return (
            f"{self.created} client(s) added, {self.updated} updated, {self.unchanged} unchanged; "
            f"{self.clinicians_created} new clinician(s)."
        )


def parse_instant(value: str, zone: ZoneInfo) -> datetime:
    """ISO 8601 date or date-time; a bare date is local midnight, a naive time is local."""
    text = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return datetime.combine(date.fromisoformat(text), time(0), tzinfo=zone)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed


#: Dates outside these years are typos (9999, 0001), never real contacts or sessions.
EARLIEST_YEAR = 2000
LATEST_YEAR = 2100


def _open_csv(content: str) -> tuple[csv.DictReader[str], list[str]]:
    """The reader and the stripped header; a NUL character or a repeated column refuses the
    file (csv would silently keep only the last of two same-named columns)."""
    if content.startswith("\ufeff"):
        content = content[1:]
    if "\x00" in content:
        lines = content.split("\n")
        line = next(i for i, text in enumerate(lines, 1) if "\x00" in text)
        raise CaseloadError(
            [Problem(line, None, "contains a NUL character (an invisible control code)")]
        )
    reader = csv.DictReader(io.StringIO(content))
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise CaseloadError([Problem(1, None, f"the header row cannot be read ({exc})")]) from None
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise CaseloadError([Problem(1, name, f"column {name!r} appears twice in the header")])
        seen.add(name)
    return reader, header


def _rows(reader: csv.DictReader[str]) -> Iterator[dict[str | Any, str | Any]]:
    """The reader's rows; a line csv cannot take apart refuses the file at that line."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # csv's messages name the problem, never the cell's text.
            raise CaseloadError(
                [Problem(reader.line_num, None, f"this line cannot be read as CSV ({exc})")]
            ) from None
        yield row


def _plausible(value: datetime) -> bool:
    return EARLIEST_YEAR <= value.year <= LATEST_YEAR


def parse_caseload(content: str, *, practice_timezone: str) -> list[CaseloadRow]:
    """Every row checked; all problems reported together with line and column.

    Problems name the line and column, never the cell's text: a shifted row would otherwise
    print a client's name into a terminal or a log."""
    reader, header = _open_csv(content)
    problems: list[Problem] = []
    missing = [c for c in COLUMNS if c not in header]
    if not header:
        raise CaseloadError([Problem(1, None, "the file is empty; a header row is needed")])
    if missing:
        raise CaseloadError(
            [
                Problem(1, c, f"missing column {c!r} (expected: {','.join(COLUMNS)})")
                for c in missing
            ]
        )
    unknown = [h for h in header if h not in COLUMNS and h not in OPTIONAL_COLUMNS]
    if unknown:
        problems.append(Problem(1, unknown[0], f"unknown column {unknown[0]!r}"))
    rows: list[CaseloadRow] = []
    seen: dict[str, int] = {}
    zones: dict[str, tuple[str, int]] = {}
    platform_ids: dict[str, tuple[str, int]] = {}
    for raw in _rows(reader):
        line = reader.line_num
        values = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if None in raw:
            problems.append(Problem(line, None, "more fields than the header has columns"))
            continue
        row_problems = [Problem(line, c, f"{c} is required") for c in REQUIRED if not values.get(c)]
        client_id = values.get("client_id", "")
        if client_id and not _CHART_ID.fullmatch(client_id):
            row_problems.append(
                Problem(line, "client_id", "not a chart id (letters, digits, . _ -, like R-1042)")
            )
        if client_id in seen:
            row_problems.append(
                Problem(
                    line,
                    "client_id",
                    f"duplicate client id (first on line {seen[client_id]})",
                )
            )
        elif client_id:
            seen[client_id] = line
        clinician = values.get("clinician_slack_id", "")
        if clinician and not _SLACK_USER.fullmatch(clinician):
            row_problems.append(
                Problem(line, "clinician_slack_id", "not a Slack user id (like U012ABC)")
            )
        zone_name = values.get("clinician_timezone") or None
        zone = ZoneInfo(practice_timezone)
        if zone_name:
            try:
                zone = ZoneInfo(zone_name)
            except (ZoneInfoNotFoundError, ValueError):
                row_problems.append(
                    Problem(
                        line,
                        "clinician_timezone",
                        "unknown time zone (use an IANA name like America/Toronto)",
                    )
                )
            else:
                earlier = zones.get(clinician)
                if earlier and earlier[0] != zone_name:
                    row_problems.append(
                        Problem(
                            line,
                            "clinician_timezone",
                            f"{clinician} is in {earlier[0]} on line {earlier[1]}",
                        )
                    )
                zones.setdefault(clinician, (zone_name, line))
        platform_id = values.get("clinician_platform_id") or None
        if platform_id and not _CHART_ID.match(platform_id):
            row_problems.append(Problem(line, "clinician_platform_id",
                                        f"{platform_id!r} is not a platform user id"))
        elif platform_id:
            earlier_id = platform_ids.get(clinician)
            if earlier_id and earlier_id[0] != platform_id:
                row_problems.append(Problem(
                    line, "clinician_platform_id",
                    f"{clinician} is platform user {earlier_id[0]} on line {earlier_id[1]}"))
            platform_ids.setdefault(clinician, (platform_id, line))
        instants: dict[str, datetime | None] = {}
        for column in ("last_contact_at", "next_session_at", "last_session_at"):
            value = values.get(column, "")
            instants[column] = None
            if value:
                try:
                    instants[column] = parse_instant(value, zone)
                except (ValueError, OverflowError):
                    row_problems.append(
                        Problem(
                            line,
                            column,
                            "not an ISO 8601 date (like 2026-03-02 or 2026-03-02T10:00-05:00)",
                        )
                    )
                    continue
                parsed = instants[column]
                if parsed is not None and not _plausible(parsed):
                    row_problems.append(
                        Problem(
                            line,
                            column,
                            f"the year {parsed.year} cannot be right "
                            f"(dates from {EARLIEST_YEAR} to {LATEST_YEAR})",
                        )
                    )
        problems.extend(row_problems)
        if row_problems:
            continue
        last_contact = instants["last_contact_at"]
        assert last_contact is not None
        rows.append(
            CaseloadRow(
                line=line,
                client_id=client_id,
                clinician_slack_id=clinician,
                first_name=values.get("first_name") or None,
                last_contact_at=last_contact,
                next_session_at=instants["next_session_at"],
                clinician_timezone=zone_name,
                last_session_at=instants["last_session_at"],
                clinician_name=values.get("clinician_name") or None,
                clinician_platform_id=platform_id,
            )
        )
    if problems:
        raise CaseloadError(problems)
    if not rows:
        raise CaseloadError([Problem(2, None, "the file has a header but no clients")])
    return rows


def read_caseload(path: Path, *, practice_timezone: str) -> list[CaseloadRow]:
    try:
        content = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CaseloadError([Problem(1, None, f"the file is not UTF-8 ({exc.reason})")]) from exc
    return parse_caseload(content, practice_timezone=practice_timezone)


SESSION_COLUMNS = ("client_id", "occurred_at", "outcome")
OUTCOMES = {
    "attended": "session_attended",
    "cancelled": "session_cancelled",
    "canceled": "session_cancelled",
    "late_cancellation": "session_cancelled",
    "no_show": "session_no_show",
    "noshow": "session_no_show",
    "no-show": "session_no_show",
}


@dataclass(frozen=True)
class SessionRow:
    line: int
    client_id: str
    occurred_at: datetime
    outcome: str  # an EventKind value

    @property
    def delivery_id(self) -> str:
        """Stable per fact, so importing the same file again changes nothing."""
        return f"csv:{self.client_id}:{self.occurred_at.isoformat()}:{self.outcome}"


def parse_sessions(content: str, *, practice_timezone: str) -> list[SessionRow]:
    """Session outcomes for a backfill: every row checked, problems reported together."""
    reader, header = _open_csv(content)
    if not header:
        raise CaseloadError([Problem(1, None, "the file is empty; a header row is needed")])
    missing = [c for c in SESSION_COLUMNS if c not in header]
    if missing:
        raise CaseloadError(
            [
                Problem(1, c, f"missing column {c!r} (expected: {','.join(SESSION_COLUMNS)})")
                for c in missing
            ]
        )
    zone = ZoneInfo(practice_timezone)
    problems: list[Problem] = []
    rows: list[SessionRow] = []
    seen: dict[tuple[str, str, str], int] = {}
    for raw in _rows(reader):
        line = reader.line_num
        if None in raw:
            problems.append(Problem(line, None, "more fields than the header has columns"))
            continue
        values = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
        row_problems = [
            Problem(line, c, f"{c} is required") for c in SESSION_COLUMNS if not values.get(c)
        ]
        outcome = OUTCOMES.get(values.get("outcome", "").lower())
        if values.get("outcome") and outcome is None:
            row_problems.append(
                Problem(
                    line,
                    "outcome",
                    "not one of attended, cancelled, no_show",
                )
            )
        occurred: datetime | None = None
        if values.get("occurred_at"):
            try:
                occurred = parse_instant(values["occurred_at"], zone)
            except (ValueError, OverflowError):
                row_problems.append(Problem(line, "occurred_at", "not an ISO 8601 date"))
            else:
                if not _plausible(occurred):
                    row_problems.append(
                        Problem(
                            line,
                            "occurred_at",
                            f"the year {occurred.year} cannot be right "
                            f"(dates from {EARLIEST_YEAR} to {LATEST_YEAR})",
                        )
                    )
                    occurred = None
        problems.extend(row_problems)
        if row_problems or occurred is None or outcome is None:
            continue
        key = (values["client_id"], occurred.isoformat(), outcome)
        if key in seen:
            problems.append(Problem(line, None, f"the same session outcome is on line {seen[key]}"))
            continue
        seen[key] = line
        rows.append(SessionRow(line, values["client_id"], occurred, outcome))
    if problems:
        raise CaseloadError(problems)
    if not rows:
        raise CaseloadError([Problem(2, None, "the file has a header but no sessions")])
    return sorted(rows, key=lambda r: (r.occurred_at, r.line))

"""The re-engagement report: what brought clients back, per practice and per clinician.

Counts only: no client names, chart ids or note text ever appear. Small cells are protected:
a count from 1 to `min_cell - 1` (DISCHARGE_REPORT_MIN_CELL, default 5) is shown as "<5" in
everything shared beyond one clinician's own view -- the practice row, other clinicians'
rows, the CSV and HTML exports and the CCT digest line. The only exact small counts are a
clinician's own row in the on-screen table asked for with `--clinician` (their own view).
A median over fewer than `min_cell` files is suppressed the same way.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Callable, Iterable, Sequence
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

Format = Literal["table", "csv", "html"]
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


# -- formats --------------------------------------------------------------------------------
def render(report: Report, fmt: Format) -> str:
    if fmt == "csv":
        return to_csv(report)
    if fmt == "html":
        return to_html(report)
    return to_table(report)


def _phrase_rows(report: Report) -> list[tuple[str, str, str]]:
    """(phrase, version, count) for the practice, biggest first."""
    found = []
    for key, n in sorted(report.practice.phrases.items(), key=lambda kv: (-kv[1], kv[0])):
        name, _, version = key.partition("@")
        found.append((name, version, report.protect(n, exact=report.practice.exact)))
    return found


def to_table(report: Report) -> str:
    heads = ["", *(r.who if r.scope == "clinician" else "practice" for r in report.rows)]
    body = [[c.title, *(report.cell(r, c.key) for r in report.rows)] for c in report.columns]
    widths = [max(len(line[i]) for line in [heads, *body]) for i in range(len(heads))]

    def fmt(line: Sequence[str]) -> str:
        first = line[0].ljust(widths[0])
        rest = (v.rjust(w) for v, w in zip(line[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    out = [
        f"Re-engagement report, {report.period} "
        f"(counts from 1 to {report.min_cell - 1} shown as <{report.min_cell} outside a "
        "clinician's own view)",
        "",
        fmt(heads),
        *(fmt(line) for line in body),
    ]
    phrases = _phrase_rows(report)
    if phrases:
        out += ["", "Which check-in wording brought clients back (practice):"]
        out += [f"  {name} (version {version}): {n}" for name, version, n in phrases]
    return "\n".join(out) + "\n"


def to_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["scope", "clinician", "measure", "value", "since", "until"])
    since, until = report.since.isoformat(), report.until.isoformat()
    for row in report.rows:
        who = row.who if row.scope == "clinician" else ""
        for col in report.columns:
            writer.writerow([row.scope, who, col.key, report.cell(row, col.key), since, until])
    for name, version, n in _phrase_rows(report):
        writer.writerow(["practice", "", f"reengaged_phrase:{name}@{version}", n, since, until])
    return buffer.getvalue()


# -- HTML with inline SVG charts --------------------------------------------------------------
_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d1d1f;background:#fff}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin-top:8px}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}
th{background:#f4f4f6;cursor:pointer}
.charts{display:flex;flex-wrap:wrap;gap:24px}
figure{margin:0}figcaption{font-weight:600;margin-bottom:4px}
.note{color:#555}
"""

# Sorting by a column (click its header); sets data-ready when it ran, data-script-error when
# anything threw, so a headless browser test can tell.
_SCRIPT = """
window.addEventListener('error', function (e) {
  document.body.setAttribute('data-script-error', String(e.message));
});
(function () {
  var table = document.getElementById('per-clinician');
  if (table) {
    var heads = table.querySelectorAll('thead th');
    heads.forEach(function (th, index) {
      th.addEventListener('click', function () {
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var value = function (r) {
          var t = r.cells[index].textContent.trim();
          var n = parseFloat(t.replace('<', ''));
          return isNaN(n) ? t : n;
        };
        rows.sort(function (a, b) {
          var x = value(a), y = value(b);
          return x < y ? 1 : x > y ? -1 : 0;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }
  document.body.setAttribute('data-ready', 'yes');
})();
"""


def _bar_chart(title: str, bars: Iterable[tuple[str, int, str]], min_cell: int) -> str:
    """A small horizontal bar chart. A protected count is drawn as a dashed stub labelled
    with its text ("<5"), never at its true length."""
    items = list(bars)
    width, label_w, bar_h, gap = 480, 240, 18, 6
    top = max([n for _, n, shown in items if shown == str(n)] + [min_cell, 1])
    height = len(items) * (bar_h + gap) + gap
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{html.escape(title)}">'
    ]
    for i, (label, n, shown) in enumerate(items):
        y = gap + i * (bar_h + gap)
        protected = shown != str(n)
        value = min_cell / 2 if protected else n
        length = (width - label_w - 50) * value / top
        style = (
            'fill="none" stroke="#7a7a85" stroke-dasharray="3 2"' if protected else 'fill="#3b6ea5"'
        )
        parts.append(
            f'<text x="0" y="{y + 13}" font-size="12">{html.escape(label)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{length:.1f}" height="{bar_h}" {style}/>'
            f'<text x="{label_w + length + 6:.1f}" y="{y + 13}" font-size="12">'
            f"{html.escape(shown)}</text>"
        )
    parts.append("</svg>")
    return f"<figure><figcaption>{html.escape(title)}</figcaption>{''.join(parts)}</figure>"


def to_html(report: Report) -> str:
    p = report.practice
    charts: dict[str, list[tuple[str, int, str]]] = {}
    for col in report.columns:
        if col.chart:
            n = p.counts.get(col.key, 0)
            charts.setdefault(col.chart, []).append((col.title, n, report.cell(p, col.key)))
    phrase_bars = [
        (f"{name} ({version})", report.practice.phrases.get(f"{name}@{version}", 0), n)
        for name, version, n in _phrase_rows(report)
    ]
    if phrase_bars:
        charts["Which wording brought clients back"] = phrase_bars
    figures = "".join(_bar_chart(t, bars, report.min_cell) for t, bars in charts.items())

    def table(rows: Sequence[Row], table_id: str) -> str:
        head = "".join(
            f"<th>{html.escape(c)}</th>"
            for c in [
                "",
                *(r.who if r.scope == "clinician" else "practice" for r in rows),
            ]
        )
        body = "".join(
            "<tr><td>"
            + html.escape(c.title)
            + "</td>"
            + "".join(f"<td>{html.escape(report.cell(r, c.key))}</td>" for r in rows)
            + "</tr>"
            for c in report.columns
        )
        return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'

    # One row per clinician in the sortable table: measures as columns.
    cols = list(report.columns)
    clin_head = "".join(
        f"<th>{html.escape(c)}</th>" for c in ["clinician", *(c.title for c in cols)]
    )
    clin_body = "".join(
        f"<tr><td>{html.escape(r.who)}</td>"
        + "".join(f"<td>{html.escape(report.cell(r, c.key))}</td>" for c in cols)
        + "</tr>"
        for r in report.clinicians
    )
    csp = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        "<title>Re-engagement report</title>"
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>Re-engagement report, {html.escape(report.period)}</h1>"
        f'<p class="note">Counts only. Counts from 1 to {report.min_cell - 1} are shown as '
        f"&lt;{report.min_cell}.</p>"
        f'<div class="charts">{figures}</div>'
        "<h2>Practice</h2>"
        f"{table([p], 'practice')}"
        "<h2>Per clinician</h2>"
        f'<table id="per-clinician"><thead><tr>{clin_head}</tr></thead>'
        f"<tbody>{clin_body}</tbody></table>"
        f"<script>{_SCRIPT}</script></body></html>\n"
    )


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
            practice_name=settings.practice_name,
            total_checkins=settings.checkins,
            min_cell=settings.report_min_cell,
            clinician_id=clinician_id,
            own_view=own_view and clinician_id is not None,
            zone=settings.practice_timezone,
        )

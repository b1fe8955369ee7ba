"""The re-engagement report drawn for people: an aligned table for the screen, CSV, and a
self-contained HTML page with small inline-SVG charts (no network, no external files).

Every cell comes through `Report.cell`/`Report.protect`, so the small-cell rule holds in
every format.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Iterable, Sequence
from typing import Literal

from bot.services.report import Report, Row

Format = Literal["table", "csv", "html"]


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

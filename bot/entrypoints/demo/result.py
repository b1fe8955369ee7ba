"""What a demo run produced: its transcript and each client's outcome, and the outcome table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.entrypoints.demo.engine import Entry
from bot.entrypoints.demo.scenario import Outcome


@dataclass
class DemoResult:
    entries: list[Entry]
    outcomes: list[Outcome]
    start: datetime
    end: datetime
    seconds: float
    practice_zone: str


def outcome_table(outcomes: list[Outcome]) -> str:
    headers = ("CLIENT", "CLINICIAN", "PATH", "CHECK-INS", "WHAT HAPPENED", "END REACHED")
    rows = [
        (
            o.client.chart_id,
            o.client.clinician.name,
            o.client.path,
            str(o.checkins),
            o.story,
            "yes" if o.reached else "not yet",
        )
        for o in outcomes
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = [
        "  ".join(c.ljust(widths[i]) for i, c in enumerate(line)).rstrip()
        for line in (headers, *rows)
    ]
    return "\n".join(lines)

"""`discharge-bot audit` and `discharge-bot export discharges`: the practice's records.

Both read only, through the services' own timeline where the policy has something to say
(last contact, check-ins), and never print a client's name or note text.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date, datetime, time
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select

from bot.domain.errors import UnknownClient
from bot.domain.model import ChecklistStep, Closure, EventKind, State
from bot.entrypoints.bootstrap import build_runtime
from bot.entrypoints.ops.errors import OpsUsageError
from bot.services.types import Actor, Source
from bot.settings import Settings
from storage.models import AdminNote, AuditEntry, Client, Clinician, Episode, EventRecord

ADMIN = Actor("cli:records", Source.CLI)
DISCHARGE_REASON = "Unplanned Discontinuation / Client Inactivity"


def _zone(settings: Settings, tz: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(tz or settings.practice_timezone)
    except Exception:
        raise OpsUsageError(f"unknown time zone {tz!r}") from None


def _start(since: datetime | date | None, zone: ZoneInfo) -> datetime | None:
    if since is None or isinstance(since, datetime):
        return since
    return datetime.combine(since, time(0), tzinfo=zone)


def _fmt(value: datetime | None, zone: ZoneInfo) -> str:
    return "" if value is None else value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _details(details: dict[str, Any] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted((details or {}).items()) if v is not None)


def print_audit(
    settings: Settings,
    *,
    client: str | None,
    since: datetime | date | None,
    tz: str | None,
    limit: int | None,
    out: IO[str],
) -> int:
    zone = _zone(settings, tz)
    start = _start(since, zone)
    runtime = build_runtime(settings)
    try:
        with runtime.uow() as repo:
            query = (
                select(AuditEntry, Client.chart_id)
                .join(Client, AuditEntry.client_id == Client.id, isouter=True)
                .order_by(AuditEntry.at, AuditEntry.id)
            )
            if client is not None:
                found = repo.client_by_chart_id(client)
                if found is None:
                    raise UnknownClient(client)
                query = query.where(AuditEntry.client_id == found.id)
            if start is not None:
                query = query.where(AuditEntry.at >= start)
            rows = list(repo.session.execute(query).all())
            names = {
                c.slack_user_id: c.display_name
                for c in repo.session.scalars(select(Clinician))
                if c.display_name
            }
    finally:
        runtime.close()
    if limit is not None:
        rows = rows[-limit:] if limit > 0 else []
    if not rows:
        out.write("No audit entries" + (f" for {client}" if client else "") + ".\n")
        return 0
    headers = ("WHEN", "WHO", "ACTION", "CLIENT", "EPISODE", "DETAILS")
    table = []
    for entry, chart_id in rows:
        who = entry.actor + (f" ({names[entry.actor]})" if entry.actor in names else "")
        table.append(
            (
                _fmt(entry.at, zone),
                who,
                entry.action,
                chart_id or "-",
                str(entry.episode_id or "-"),
                _details(entry.details),
            )
        )
    widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(headers[:-1])]
    for line in (headers, *table):
        cells = [c.ljust(widths[i]) for i, c in enumerate(line[:-1])] + [line[-1]]
        out.write("  ".join(cells).rstrip() + "\n")
    out.write(f"\n{len(table)} entr{'y' if len(table) == 1 else 'ies'}; times in {zone.key}.\n")
    return 0


EXPORT_COLUMNS = (
    "chart_id",
    "clinician_slack_id",
    "clinician_name",
    "episode_id",
    "status",
    "reason",
    "outreach_trigger",
    "outreach_started",
    "checkins_documented",
    "last_contact",
    "last_attended_session",
    "checklist_opened",
    "summary_written",
    "moved_to_discharged_group",
    "moved_by",
    "cct_archived",
    "cct_archived_by",
)


def _when(value: datetime | None, zone: ZoneInfo) -> str:
    return "" if value is None else value.astimezone(zone).isoformat(timespec="minutes")


def discharge_rows(
    settings: Settings, *, since: datetime | date, tz: str | None = None
) -> list[dict[str, str]]:
    """One row per discharge moved to the group since `since`: archived by CCT, or waiting
    for CCT's chart check. Care-team removals and rematches are not discharges."""
    zone = _zone(settings, tz)
    start = _start(since, zone)
    assert start is not None
    runtime = build_runtime(settings)
    rows: list[dict[str, str]] = []
    try:
        reads = runtime.services.reads
        with runtime.uow() as repo:
            episodes = list(
                repo.session.scalars(
                    select(Episode)
                    .where(
                        or_(
                            Episode.closure == Closure.ARCHIVED.value,
                            Episode.state == State.DISCHARGED.value,
                        )
                    )
                    .order_by(Episode.id)
                )
            )
            picked: list[tuple[int, str, str, str | None]] = []
            for episode in episodes:
                events = list(repo.events_of(episode.id))
                moved = _step_event(events, ChecklistStep.MOVED_TO_GROUP)
                when = moved.occurred_at if moved else episode.closed_at
                if when is None or when < start:
                    continue
                clinician = episode.client.clinician
                picked.append(
                    (
                        episode.id,
                        episode.client.chart_id,
                        clinician.slack_user_id,
                        clinician.display_name,
                    )
                )
            notes = {
                n.episode_id: n.created_at
                for n in repo.session.scalars(
                    select(AdminNote).where(AdminNote.kind == "discharge_summary")
                )
            }
        for episode_id, chart_id, clinician_id, clinician_name in picked:
            timeline = reads.timeline(chart_id, actor=ADMIN)
            view = next(v for v in timeline.episodes if v.episode_id == episode_id)
            a = view.assessment
            moved = _step_event(view.events, ChecklistStep.MOVED_TO_GROUP)
            done = next((e for e in view.events if e.kind == EventKind.CCT_DONE.value), None)
            rows.append(
                {
                    "chart_id": chart_id,
                    "clinician_slack_id": clinician_id,
                    "clinician_name": clinician_name or "",
                    "episode_id": str(episode_id),
                    "status": "archived"
                    if a.closure is Closure.ARCHIVED
                    else "awaiting CCT archive",
                    "reason": DISCHARGE_REASON,
                    "outreach_trigger": a.trigger.value if a.trigger else "",
                    "outreach_started": _when(a.outreach_started_at, zone),
                    "checkins_documented": str(a.checkins_sent),
                    "last_contact": _when(a.last_contact_at, zone),
                    "last_attended_session": _when(a.last_session_at, zone),
                    "checklist_opened": _when(a.inactive_at, zone),
                    "summary_written": _when(notes.get(episode_id), zone),
                    "moved_to_discharged_group": _when(moved.occurred_at if moved else None, zone),
                    "moved_by": moved.actor if moved else "",
                    "cct_archived": _when(done.occurred_at if done else None, zone),
                    "cct_archived_by": done.actor if done else "",
                }
            )
    finally:
        runtime.close()
    return rows


def _step_event(events: Sequence[EventRecord], step: ChecklistStep) -> EventRecord | None:
    return next(
        (
            e
            for e in events
            if e.kind == EventKind.STEP_COMPLETED.value and (e.data or {}).get("step") == step.value
        ),
        None,
    )


def export_discharges(
    settings: Settings, *, since: datetime | date, tz: str | None, out: IO[str]
) -> int:
    """Write the CSV (a header row, then one row per discharge); the number of rows."""
    rows = discharge_rows(settings, since=since, tz=tz)
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return len(rows)

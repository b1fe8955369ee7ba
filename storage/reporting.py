"""The re-engagement report's queries: grouped SQL aggregates over indexed columns.

Every query returns counts keyed by clinician id (the practice total is their sum, or its own
query where a client could be counted twice). Nothing here returns a client's name, a chart
id or note text; the one per-episode read (days from last contact to a closed file) returns
numbers only, for a median the two databases do not compute alike.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session, aliased

from storage.models import (
    AdminNote,
    Client,
    Clinician,
    Episode,
    EventRecord,
    HeadsUpRecord,
    OutboxMessage,
)

#: Closures that mean the client came back during outreach (they attended, booked or wrote
#: and the clinician classified the reply as continuing care).
REENGAGED_CLOSURES = ("reengaged", "continuing")
CONTACT_KINDS = ("session_attended", "session_scheduled", "client_message")
PROMPT_KINDS = ("checkin", "classify_reply", "checklist")

Counts = dict[int, int]
Keyed = dict[tuple[int, str], int]


@dataclass(frozen=True)
class Window:
    since: datetime
    until: datetime
    clinician_id: int | None = None


def _by_clinician(session: Session, query: object) -> Counts:
    found: Counts = defaultdict(int)
    for clinician_id, count in session.execute(query):  # type: ignore[call-overload]
        found[int(clinician_id)] += int(count)
    return dict(found)


def _keyed(session: Session, query: object) -> Keyed:
    found: Keyed = defaultdict(int)
    for clinician_id, key, count in session.execute(query):  # type: ignore[call-overload]
        found[(int(clinician_id), str(key))] += int(count)
    return dict(found)


def _scope(query, window: Window):  # type: ignore[no-untyped-def]
    if window.clinician_id is not None:
        query = query.where(Client.clinician_id == window.clinician_id)
    return query


def clinicians(
    session: Session, *, clinician_id: int | None = None
) -> list[tuple[int, str, str | None]]:
    query = select(Clinician.id, Clinician.slack_user_id, Clinician.display_name).order_by(
        Clinician.slack_user_id
    )
    if clinician_id is not None:
        query = query.where(Clinician.id == clinician_id)
    return [(int(i), s, d) for i, s, d in session.execute(query)]


def outreach_started(session: Session, window: Window) -> Keyed:
    """Outreach episodes opened in the window, by path (silence, attendance, manual)."""
    query = (
        select(Client.clinician_id, Episode.trigger, func.count(Episode.id))
        .join(Client, Client.id == Episode.client_id)
        .where(
            Episode.outreach_started_at >= window.since,
            Episode.outreach_started_at < window.until,
            Episode.trigger.is_not(None),
        )
        .group_by(Client.clinician_id, Episode.trigger)
    )
    return _keyed(session, _scope(query, window))


def closures(session: Session, window: Window) -> Keyed:
    """Episodes closed in the window, by how they ended."""
    query = (
        select(Client.clinician_id, Episode.closure, func.count(Episode.id))
        .join(Client, Client.id == Episode.client_id)
        .where(
            Episode.closed_at >= window.since,
            Episode.closed_at < window.until,
            Episode.closure.is_not(None),
        )
        .group_by(Client.clinician_id, Episode.closure)
    )
    return _keyed(session, _scope(query, window))


def reengaged_after_checkin(session: Session, window: Window) -> Keyed:
    """Re-engaged episodes by how many check-ins had been documented when the client came back."""
    query = (
        select(Client.clinician_id, Episode.checkins_sent, func.count())
        .join(Client, Client.id == Episode.client_id)
        .where(
            Episode.closed_at >= window.since,
            Episode.closed_at < window.until,
            Episode.closure.in_(REENGAGED_CLOSURES),
        )
        .group_by(Client.clinician_id, Episode.checkins_sent)
    )
    return _keyed(session, _scope(query, window))


def reengaged_by_phrase(session: Session, window: Window) -> Keyed:
    """Re-engaged episodes by the phrase and version of the last check-in before the return,
    keyed "checkin_2@1a2b3c4d" (or "-" when the version was not recorded)."""
    # Correlated on (episode_id, kind): only the re-engaged episodes' notes are read.
    last_note = (
        select(func.max(AdminNote.id))
        .where(AdminNote.episode_id == Episode.id, AdminNote.kind == "checkin")
        .correlate(Episode)
        .scalar_subquery()
    )
    note = aliased(AdminNote)
    phrase = note.fields["phrase"].as_string()
    version = note.fields["phrase_version"].as_string()
    query = (
        select(Client.clinician_id, phrase, version, func.count())
        .select_from(Episode)
        .join(Client, Client.id == Episode.client_id)
        .join(note, note.id == last_note)
        .where(
            Episode.closed_at >= window.since,
            Episode.closed_at < window.until,
            Episode.closure.in_(REENGAGED_CLOSURES),
        )
        .group_by(Client.clinician_id, phrase, version)
    )
    found: Keyed = defaultdict(int)
    for clinician_id, name, ver, count in session.execute(_scope(query, window)):
        found[(int(clinician_id), f"{name or 'checkin'}@{ver or '-'}")] += int(count)
    return dict(found)


def headsups(session: Session, window: Window) -> Keyed:
    """Heads-ups sent in the window by what the clinician did ("open" = nothing yet), plus
    "returned": those followed by an attended session in the same episode."""
    query = (
        select(Client.clinician_id, HeadsUpRecord.status, func.count(HeadsUpRecord.id))
        .join(Client, Client.id == HeadsUpRecord.client_id)
        .where(HeadsUpRecord.created_at >= window.since, HeadsUpRecord.created_at < window.until)
        .group_by(Client.clinician_id, HeadsUpRecord.status)
    )
    found = _keyed(session, _scope(query, window))
    came_back = exists().where(
        EventRecord.episode_id == HeadsUpRecord.episode_id,
        EventRecord.kind == "session_attended",
        EventRecord.occurred_at > HeadsUpRecord.created_at,
    )
    returned = (
        select(Client.clinician_id, func.count(HeadsUpRecord.id))
        .join(Client, Client.id == HeadsUpRecord.client_id)
        .where(
            HeadsUpRecord.created_at >= window.since,
            HeadsUpRecord.created_at < window.until,
            came_back,
        )
        .group_by(Client.clinician_id)
    )
    for clinician_id, count in _by_clinician(session, _scope(returned, window)).items():
        found[(clinician_id, "returned")] = count
    return found


def overdue_steps(session: Session, window: Window) -> Keyed:
    """Steps that went overdue in the window: the first re-nudge of an unanswered prompt
    ("nudged") and the steps escalated to CCT ("escalated")."""
    attempt = OutboxMessage.payload["attempt"].as_integer()
    label = case((OutboxMessage.kind == "cct_escalation", "escalated"), else_="nudged")
    query = (
        select(Client.clinician_id, label, func.count(OutboxMessage.id))
        .select_from(OutboxMessage)
        .join(Episode, Episode.id == OutboxMessage.episode_id)
        .join(Client, Client.id == Episode.client_id)
        .where(
            OutboxMessage.created_at >= window.since,
            OutboxMessage.created_at < window.until,
            (and_(OutboxMessage.kind.in_(PROMPT_KINDS), attempt == 1))
            | (OutboxMessage.kind == "cct_escalation"),
        )
        .group_by(Client.clinician_id, label)
    )
    return _keyed(session, _scope(query, window))


def checkins_documented(session: Session, window: Window) -> Keyed:
    """Check-ins documented in the window, by how: "platform" (Send for me) or "clinician"."""
    via = func.coalesce(AdminNote.fields["via"].as_string(), "clinician")
    query = (
        select(Client.clinician_id, via, func.count(AdminNote.id))
        .join(Client, Client.id == AdminNote.client_id)
        .where(
            AdminNote.kind == "checkin",
            AdminNote.created_at >= window.since,
            AdminNote.created_at < window.until,
        )
        .group_by(Client.clinician_id, via)
    )
    return _keyed(session, _scope(query, window))


def days_to_closed_file(session: Session, window: Window) -> list[tuple[int, float]]:
    """(clinician id, days from the last client contact to the closed file) for every file
    discharged and archived in the window."""
    # Correlated on the (episode_id, occurred_at) index: only archived episodes' events.
    last_contact = (
        select(func.max(EventRecord.occurred_at))
        .where(EventRecord.episode_id == Episode.id, EventRecord.kind.in_(CONTACT_KINDS))
        .correlate(Episode)
        .scalar_subquery()
    )
    query = (
        select(Client.clinician_id, Episode.closed_at, last_contact, Episode.baseline_contact_at)
        .select_from(Episode)
        .join(Client, Client.id == Episode.client_id)
        .where(
            Episode.closed_at >= window.since,
            Episode.closed_at < window.until,
            Episode.closure == "archived",
        )
    )
    rows: list[tuple[int, float]] = []
    for clinician_id, closed_at, contact, baseline in session.execute(_scope(query, window)):
        known = [c for c in (_aware(contact), baseline) if c is not None]
        if not known or closed_at is None:
            continue
        rows.append((int(clinician_id), (closed_at - max(known)).total_seconds() / 86400))
    return rows


def _aware(value: datetime | str | None) -> datetime | None:
    """max() over a UtcDateTime column comes back untyped on SQLite: read it as UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def clinician_ids(session: Session, slack_ids: Sequence[str]) -> dict[str, int]:
    query = select(Clinician.slack_user_id, Clinician.id).where(
        Clinician.slack_user_id.in_(list(slack_ids))
    )
    return {s: int(i) for s, i in session.execute(query)}

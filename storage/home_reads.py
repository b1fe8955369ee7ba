"""App Home's read model: the columns it needs as plain rows, never ORM entities.

Opening App Home reads a clinician's whole caseload. Loading every client and episode as an
ORM entity (identity map, instrumentation, decrypting names nobody shows) cost most of the
time; these queries select only what the policy and the view read, and leave out the
*settled* episodes altogether (active, open, next step not yet due: the schedule the tick
keeps says nothing can have moved them since they were stored), which App Home only counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, not_, or_, select
from sqlalchemy.orm import Session

from storage.models import Client, Clinician, Episode, EventRecord

ACTIVE = "active"  # the domain's State.ACTIVE, as stored


@dataclass(frozen=True)
class OpenRow:
    """A client with the columns of its current episode (None: it has none yet)."""

    client_id: int
    chart_id: str
    clinician_id: int
    episode_id: int | None
    opened_at: datetime | None
    opened_reason: str | None
    baseline_contact_at: datetime | None
    baseline_session_at: datetime | None
    handed_over_from: int | None
    booked_sessions: list[str] | None
    closed_at: datetime | None


@dataclass(frozen=True)
class EventRow:
    """An event as the policy reads it (`bot.services.episodes.to_event` takes it)."""

    episode_id: int
    kind: str
    occurred_at: datetime
    recorded_at: datetime
    session_at: datetime | None
    data: dict[str, Any]


@dataclass(frozen=True)
class QueueRow:
    chart_id: str
    state: str
    updated_at: datetime
    clinician: str


def _current_episode() -> Any:
    return (
        select(func.max(Episode.id))
        .where(Episode.client_id == Client.id)
        .correlate(Client)
        .scalar_subquery()
    )


def _settled(at: datetime) -> ColumnElement[bool]:
    """Active, open, and nothing due by `at` (as `Episodes.caseload_pages` decides)."""
    return and_(
        Episode.state == ACTIVE,
        Episode.closed_at.is_(None),
        Episode.next_due_at.is_not(None),
        Episode.next_due_at > at,
    )


def count_settled(session: Session, *, clinician_id: int, at: datetime) -> int:
    """How many of the clinician's clients are settled at `at` (one query, no rows)."""
    query = (
        select(func.count())
        .select_from(Client)
        .join(Episode, Episode.id == _current_episode())
        .where(Client.clinician_id == clinician_id, _settled(at))
    )
    return int(session.scalar(query) or 0)


def unsettled_page(
    session: Session, *, clinician_id: int, at: datetime, after_chart: str | None, limit: int
) -> list[OpenRow]:
    """One page (chart-id order, keyset paging) of the clinician's clients that are not
    settled at `at`, including any without an episode."""
    query = (
        select(
            Client.id,
            Client.chart_id,
            Client.clinician_id,
            Episode.id,
            Episode.opened_at,
            Episode.opened_reason,
            Episode.baseline_contact_at,
            Episode.baseline_session_at,
            Episode.handed_over_from,
            Episode.booked_sessions,
            Episode.closed_at,
        )
        .outerjoin(Episode, Episode.id == _current_episode())
        .where(Client.clinician_id == clinician_id, or_(Episode.id.is_(None), not_(_settled(at))))
        .order_by(Client.chart_id)
        .limit(limit)
    )
    if after_chart is not None:
        query = query.where(Client.chart_id > after_chart)
    return [OpenRow(*row) for row in session.execute(query)]


def events_of(
    session: Session, episode_ids: Sequence[int], *, kinds: Sequence[str]
) -> dict[int, list[EventRow]]:
    """The events of `kinds` of many episodes in one query, each list in recording order."""
    found: dict[int, list[EventRow]] = {i: [] for i in episode_ids}
    if not episode_ids:
        return found
    query = (
        select(
            EventRecord.episode_id,
            EventRecord.kind,
            EventRecord.occurred_at,
            EventRecord.recorded_at,
            EventRecord.session_at,
            EventRecord.data,
        )
        .where(EventRecord.episode_id.in_(list(episode_ids)), EventRecord.kind.in_(list(kinds)))
        .order_by(EventRecord.id)
    )
    for row in session.execute(query):
        found[row[0]].append(EventRow(*row))
    return found


def waiting_for_cct(session: Session, *, states: Sequence[str]) -> list[QueueRow]:
    """Open episodes in `states` with their chart id and clinician, in one query."""
    query = (
        select(Client.chart_id, Episode.state, Episode.updated_at, Clinician.slack_user_id)
        .select_from(Episode)
        .join(Client, Client.id == Episode.client_id)
        .join(Clinician, Clinician.id == Client.clinician_id)
        .where(Episode.closed_at.is_(None), Episode.state.in_(list(states)))
        .order_by(Episode.id)
    )
    return [QueueRow(*row) for row in session.execute(query)]

"""Outbox claiming and bookkeeping: leases so that any number of dispatchers share the work.

A row is *pending* until a dispatcher claims it (one atomic UPDATE; on PostgreSQL the rows are
picked with FOR UPDATE SKIP LOCKED), which makes it *in_flight* with a lease. The dispatcher
then ends it as *sent*, *dead* or *skipped*, or puts it back to *pending* for a later retry.
A dispatcher that dies leaves its rows in flight; once the lease expires another claims them,
and because `attempts` shows they were tried, it first looks in Slack for the message.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from storage.models import OutboxMessage

PENDING = "pending"
IN_FLIGHT = "in_flight"
SENT = "sent"
DEAD = "dead"
SKIPPED = "skipped"


def claim(
    session: Session,
    *,
    owner: str,
    now: datetime,
    lease_until: datetime,
    limit: int,
    keys: Sequence[str] | None = None,
) -> Sequence[OutboxMessage]:
    """Claim up to `limit` due rows (or rows whose lease expired) for `owner`; only the rows
    with these idempotency `keys` when given (a listener sending its own follow-ups)."""
    due = or_(
        and_(OutboxMessage.status == PENDING, OutboxMessage.deliver_after <= now),
        and_(OutboxMessage.status == IN_FLIGHT, OutboxMessage.lease_until < now),
    )
    if keys is not None:
        if not keys:
            return []
        due = and_(due, OutboxMessage.idempotency_key.in_(list(keys)))
    pick = (
        select(OutboxMessage.id)
        .where(due)
        .order_by(OutboxMessage.deliver_after, OutboxMessage.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    ids = list(
        session.scalars(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(pick.scalar_subquery()), due)
            .values(
                status=IN_FLIGHT,
                lease_owner=owner,
                lease_until=lease_until,
                attempts=OutboxMessage.attempts + 1,
            )
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)
        )
    )
    if not ids:
        return []
    return session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.id.in_(ids))
        .order_by(OutboxMessage.deliver_after, OutboxMessage.id)
        .execution_options(populate_existing=True)
    ).all()


def _mine(session: Session, row_id: int, owner: str) -> OutboxMessage | None:
    """The row, if this owner still holds its lease (another may have taken it over)."""
    row = session.get(OutboxMessage, row_id, populate_existing=True, with_for_update=True)
    if row is None or row.status != IN_FLIGHT or row.lease_owner != owner:
        return None
    return row


def mark_sent(
    session: Session, *, row_id: int, owner: str, channel: str | None, ts: str | None, now: datetime
) -> bool:
    row = _mine(session, row_id, owner)
    if row is None:
        return False
    row.status, row.channel, row.ts, row.sent_at = SENT, channel, ts, now
    row.lease_owner = row.lease_until = None
    row.last_error = None
    return True


def release(
    session: Session,
    *,
    row_id: int,
    owner: str,
    retry_at: datetime,
    error: str | None,
    channel: str | None = None,
    refund_attempt: bool = False,
) -> bool:
    """Put a row back for a later try (`refund_attempt` when the try never counted, e.g. 429
    or a row handed back untried; `error` None keeps the last one)."""
    row = _mine(session, row_id, owner)
    if row is None:
        return False
    row.status, row.deliver_after = PENDING, retry_at
    if error is not None:
        row.last_error = error[:500]
    if channel:
        row.channel = channel
    if refund_attempt:
        row.attempts = max(0, row.attempts - 1)
    row.lease_owner = row.lease_until = None
    return True


def finish(session: Session, *, row_id: int, owner: str, status: str, error: str | None) -> bool:
    """End a row as dead (cannot succeed) or skipped (nothing to say any more)."""
    row = _mine(session, row_id, owner)
    if row is None:
        return False
    row.status, row.last_error = status, (error or "")[:500] or None
    row.lease_owner = row.lease_until = None
    return True


def requeue(session: Session, *, row_id: int, now: datetime) -> OutboxMessage | None:
    """An operator's retry of a dead (or skipped) row: pending again, attempts reset."""
    row = session.get(OutboxMessage, row_id)
    if row is None:
        return None
    if row.status not in (DEAD, SKIPPED):
        raise ValueError(
            f"message {row_id} is {row.status}; only dead or skipped ones can be retried"
        )
    row.status, row.deliver_after, row.attempts = PENDING, now, 0
    row.lease_owner = row.lease_until = None
    return row

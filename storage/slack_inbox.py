"""The Slack inbox's rows: store what was asked, claim it with a lease, end it.

Plain Core statements on a connection: storing a row is on the path of Slack's answer, so
it is one INSERT, with no unit of work around it. Claiming mirrors the outbox (one atomic
UPDATE; FOR UPDATE SKIP LOCKED on PostgreSQL), so any number of appliers share the rows and a
row whose applier died is taken over once its lease has run out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.models import SlackInboxItem

PENDING = "pending"
IN_FLIGHT = "in_flight"
DONE = "done"
REFUSED = "refused"
DEAD = "dead"

_table = cast(Table, SlackInboxItem.__table__)


@dataclass(frozen=True)
class Item:
    id: int
    kind: str
    user_id: str
    body: dict[str, Any]
    attempts: int
    received_at: datetime
    #: Why the last try did not finish; None on a first try, or when an applier died holding it.
    last_error: str | None

    @property
    def taken_over(self) -> bool:
        """Tried before by an applier that stopped mid-way: it may have made the change."""
        return self.attempts > 1 and self.last_error is None


_VALUES = {
    "kind": bindparam("kind"),
    "user_id": bindparam("user_id"),
    "body": bindparam("body", type_=_table.c.body.type),
    "status": PENDING,
    "attempts": 0,
    "received_at": bindparam("now", type_=_table.c.received_at.type),
    "not_before": bindparam("now_", type_=_table.c.not_before.type),
    "once_key": bindparam("once_key"),
}
#: Built once per dialect: on the path of Slack's answer, not rebuilt (and re-keyed) per
#: request. A row whose once_key is stored already is not inserted (nothing comes back).
_PUTS: dict[str, Any] = {}


def _put_statement(dialect: str) -> Any:
    statement = _PUTS.get(dialect)
    if statement is None:
        make = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = _PUTS[dialect] = (
            make(_table)
            .values(**_VALUES)
            .on_conflict_do_nothing(index_elements=["once_key"])
            .returning(_table.c.id)
        )
    return statement


def put(
    connection: Connection,
    *,
    kind: str,
    user_id: str,
    body: dict[str, Any],
    now: datetime,
    once: str | None = None,
) -> int | None:
    """Store one request; its id, or None when a request with the same `once` key (a slash
    command's trigger_id) is stored already. The caller commits before answering Slack."""
    params = {
        "kind": kind,
        "user_id": user_id,
        "body": body,
        "now": now,
        "now_": now,
        "once_key": once[:240] if once else None,
    }
    row_id = connection.scalar(_put_statement(connection.dialect.name), params)
    return None if row_id is None else int(row_id)


def claim(
    connection: Connection,
    *,
    owner: str,
    now: datetime,
    lease_until: datetime,
    limit: int,
    ids: Sequence[int] | None = None,
) -> list[Item]:
    """Claim up to `limit` rows that are due (or whose lease ran out), oldest first; only
    these `ids` when given (the applier taking the row its own request just stored)."""
    c = _table.c
    due = or_(
        and_(c.status == PENDING, c.not_before <= now),
        and_(c.status == IN_FLIGHT, c.lease_until < now),
    )
    if ids is not None:
        due = and_(due, c.id.in_(list(ids)))
    pick = select(c.id).where(due).order_by(c.id).limit(limit)
    if connection.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    claimed = connection.execute(
        update(_table)
        .where(c.id.in_(pick.scalar_subquery()), due)
        .values(
            status=IN_FLIGHT,
            lease_owner=owner,
            lease_until=lease_until,
            attempts=c.attempts + 1,
        )
        .returning(c.id, c.kind, c.user_id, c.body, c.attempts, c.received_at, c.last_error)
    ).all()
    return sorted((Item(*row) for row in claimed), key=lambda item: item.id)


def end(
    connection: Connection,
    *,
    row_ids: Sequence[int],
    owner: str,
    status: str,
    now: datetime,
    error: str | None = None,
) -> int:
    """Finish rows this owner holds (done, refused or dead), in one UPDATE; how many it
    still held (a row another applier took over is left to it)."""
    if not row_ids:
        return 0
    c = _table.c
    result = connection.execute(
        update(_table)
        .where(c.id.in_(list(row_ids)), c.status == IN_FLIGHT, c.lease_owner == owner)
        .values(
            status=status,
            body={},  # what was asked is applied (or refused): no second copy of a note
            finished_at=now,
            lease_owner=None,
            lease_until=None,
            last_error=(error or None) and error[:200],
        )
    )
    return int(result.rowcount)


def retry(connection: Connection, *, row_id: int, owner: str, at: datetime, error: str) -> bool:
    """Put a row this owner holds back for another try at `at`."""
    c = _table.c
    result = connection.execute(
        update(_table)
        .where(c.id == row_id, c.status == IN_FLIGHT, c.lease_owner == owner)
        .values(
            status=PENDING,
            not_before=at,
            lease_owner=None,
            lease_until=None,
            last_error=error[:200],
        )
    )
    return result.rowcount == 1


def waiting(connection: Connection) -> int:
    """Rows not yet applied (pending or in flight): the health check and the drain use it."""
    c = _table.c
    return int(
        connection.scalar(
            select(func.count()).select_from(_table).where(c.status.in_([PENDING, IN_FLIGHT]))
        )
        or 0
    )


def next_due(connection: Connection) -> datetime | None:
    """When the earliest waiting row may be tried (a lease's end for one in flight)."""
    c = _table.c
    pending = connection.scalar(select(func.min(c.not_before)).where(c.status == PENDING))
    flying = connection.scalar(select(func.min(c.lease_until)).where(c.status == IN_FLIGHT))
    times = [t for t in (pending, flying) if t is not None]
    return min(times) if times else None

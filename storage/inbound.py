"""Platform events received and not yet applied: stored in one short transaction, read in order.

A webhook is acknowledged once its event is stored here (`receive`: one look-up of the client,
one insert that a repeated delivery id turns into nothing). The applier then reads what waits
(`pending`, in the order received), applies each event through the services and marks it
(`mark`). `applier_turn` lets one applier at a time work through the queue, across threads and
processes, so a client's events are applied in the order they arrived.
"""

from __future__ import annotations

import contextlib
import fcntl
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    Engine,
    String,
    Table,
    bindparam,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.models import Client, InboundEvent
from storage.types import UtcDateTime

inbound: Table = InboundEvent.__table__  # type: ignore[assignment]
clients: Table = Client.__table__  # type: ignore[assignment]

#: The PostgreSQL advisory lock key of the applier's turn (any fixed 64-bit number).
APPLIER_LOCK_KEY = 0x64697363_68617267  # "discharg"


class Receipt(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"  # this delivery id was received before; nothing was stored
    UNKNOWN_CLIENT = "unknown_client"  # no client with that chart id; nothing was stored


@dataclass(frozen=True)
class Pending:
    id: int
    delivery_id: str
    source: str
    client_id: int
    payload: dict[str, Any]
    attempts: int
    received_at: datetime


def _receive_statement(dialect: str) -> Any:
    """INSERT ... SELECT the client's id ... ON CONFLICT (delivery_id) DO NOTHING RETURNING id:
    one statement, built once per dialect (building it is most of a receipt's Python)."""
    insert_ = pg_insert if dialect == "postgresql" else sqlite_insert
    chosen = select(
        bindparam("delivery_id", type_=String()),
        bindparam("source", type_=String()),
        clients.c.id,
        bindparam("payload", type_=JSON()),
        bindparam("received_at", type_=UtcDateTime()),
        literal(0),
    ).where(clients.c.chart_id == bindparam("chart_id", type_=String()))
    columns = ["delivery_id", "source", "client_id", "payload", "received_at", "attempts"]
    return (
        insert_(inbound)
        .from_select(columns, chosen)
        .on_conflict_do_nothing(index_elements=["delivery_id"])
        .returning(inbound.c.id)
    )


_RECEIVE = {name: _receive_statement(name) for name in ("postgresql", "sqlite")}
_CLIENT_ID = select(clients.c.id).where(clients.c.chart_id == bindparam("chart_id"))


def receive(
    connection: Connection,
    *,
    delivery_id: str,
    source: str,
    chart_id: str,
    payload: dict[str, Any],
    now: datetime,
) -> Receipt:
    """Store one received event unless its delivery id is known (race-free on both backends:
    the unique delivery id turns a second insert into nothing)."""
    new_id = connection.scalar(
        _RECEIVE[connection.dialect.name],
        {
            "delivery_id": delivery_id,
            "source": source,
            "payload": payload,
            "received_at": now,
            "chart_id": chart_id,
        },
    )
    if new_id is not None:
        return Receipt.STORED
    if connection.scalar(_CLIENT_ID, {"chart_id": chart_id}) is None:
        return Receipt.UNKNOWN_CLIENT
    return Receipt.DUPLICATE


def pending(
    connection: Connection, *, now: datetime, limit: int, lane: tuple[int, int] = (0, 1)
) -> list[Pending]:
    """The oldest events not yet applied, in the order received. A client with an event
    waiting for its retry time is left out whole, so its later events do not overtake it.
    `lane` (n, of): only the clients whose id is n modulo `of`."""
    waiting = select(inbound.c.client_id).where(
        inbound.c.applied_at.is_(None), inbound.c.retry_at > now
    )
    rows = connection.execute(
        select(
            inbound.c.id,
            inbound.c.delivery_id,
            inbound.c.source,
            inbound.c.client_id,
            inbound.c.payload,
            inbound.c.attempts,
            inbound.c.received_at,
        )
        .where(
            inbound.c.applied_at.is_(None),
            or_(inbound.c.retry_at.is_(None), inbound.c.retry_at <= now),
            inbound.c.client_id.not_in(waiting),
            *([inbound.c.client_id % lane[1] == lane[0]] if lane[1] > 1 else []),
        )
        .order_by(inbound.c.id)
        .limit(limit)
    ).all()
    return [
        Pending(r.id, r.delivery_id, r.source, r.client_id, r.payload, r.attempts, r.received_at)
        for r in rows
    ]


def mark(connection: Connection, outcomes: Sequence[tuple[int, str]], *, now: datetime) -> None:
    """Record what became of each (id, outcome); an event already marked keeps its mark."""
    if not outcomes:
        return
    connection.execute(
        update(inbound)
        .where(inbound.c.id == bindparam("row_id"), inbound.c.applied_at.is_(None))
        .values(applied_at=now, outcome=bindparam("result"), retry_at=None),
        [{"row_id": row_id, "result": outcome} for row_id, outcome in outcomes],
    )


def defer(connection: Connection, row_id: int, *, attempts: int, retry_at: datetime) -> None:
    """A failed attempt: try the event again at `retry_at` (its client's later events wait)."""
    connection.execute(
        update(inbound).where(inbound.c.id == row_id).values(attempts=attempts, retry_at=retry_at)
    )


def count_pending(connection: Connection) -> int:
    return int(
        connection.scalar(
            select(func.count()).select_from(inbound).where(inbound.c.applied_at.is_(None))
        )
        or 0
    )


class ApplierTurn:
    """One applier at a time per database (and lane): a thread lock within the process, and across
    processes PostgreSQL's session advisory lock or an exclusive lock on a file beside the
    SQLite database. Both are let go by the operating system or the server when a process
    dies, so a crashed applier never blocks the next one."""

    def __init__(self, engine: Engine, *, lane: int = 0) -> None:
        self.engine = engine
        self.key = APPLIER_LOCK_KEY + lane
        self._thread_lock = threading.Lock()
        database = engine.url.database
        self._lock_file: Path | None = None
        if engine.dialect.name == "sqlite" and database and database != ":memory:":
            name = Path(database).name + ("-applier.lock" if lane == 0 else f"-applier{lane}.lock")
            self._lock_file = Path(database).with_name(name)

    @contextlib.contextmanager
    def __call__(self, *, wait: bool) -> Iterator[bool]:
        """Yield True while this caller holds the turn; False when another has it (only
        without `wait`)."""
        if not self._thread_lock.acquire(blocking=wait):
            yield False
            return
        try:
            with self._across_processes(wait=wait) as held:
                yield held
        finally:
            self._thread_lock.release()

    @contextlib.contextmanager
    def _across_processes(self, *, wait: bool) -> Iterator[bool]:
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect() as connection:
                connection = connection.execution_options(isolation_level="AUTOCOMMIT")
                if wait:
                    connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": self.key})
                    held = True
                else:
                    held = bool(
                        connection.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key})
                    )
                try:
                    yield held
                finally:
                    if held:
                        connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            return
        if self._lock_file is None:  # an in-memory database lives in this process only
            yield True
            return
        with open(self._lock_file, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

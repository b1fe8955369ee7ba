"""Repository over one SQLAlchemy session: the queries the services need, keyword-only."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, Integer, and_, bindparam, func, select, true
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, joinedload, selectinload, sessionmaker

from storage.models import (
    AdminNote,
    AuditEntry,
    Client,
    Clinician,
    Episode,
    EventRecord,
    HeadsUpRecord,
    OutboxMessage,
    ProcessedDelivery,
    RuntimeMark,
)


class Repository:
    """All reads and writes of one unit of work. Commit/rollback belong to the caller."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def is_postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    # -- clinicians and clients ----------------------------------------------------------
    def clinician_by_slack_id(self, slack_user_id: str) -> Clinician | None:
        return self.session.scalar(
            select(Clinician).where(Clinician.slack_user_id == slack_user_id)
        )

    def client_by_chart_id(self, chart_id: str, *, lock: bool = False) -> Client | None:
        query = select(Client).where(Client.chart_id == chart_id)
        if lock and self.is_postgres:
            query = query.with_for_update()
        return self.session.scalar(query)

    def clients(self, *, clinician_id: int | None = None) -> Sequence[Client]:
        query = select(Client).order_by(Client.chart_id)
        if clinician_id is not None:
            query = query.where(Client.clinician_id == clinician_id)
        return self.session.scalars(query).all()

    def clients_with_current_episode(
        self, *, clinician_id: int | None = None, after_chart: str | None = None, limit: int = 500
    ) -> list[tuple[Client, Episode | None]]:
        """One page of clients in chart-id order with their clinician and current episode,
        in one query (keyset paging: pass the last chart id seen as `after_chart`)."""
        latest = (
            select(func.max(Episode.id))
            .where(Episode.client_id == Client.id)
            .correlate(Client)
            .scalar_subquery()
        )
        query = (
            select(Client, Episode)
            .outerjoin(Episode, Episode.id == latest)
            .options(joinedload(Client.clinician))
            .order_by(Client.chart_id)
            .limit(limit)
        )
        if clinician_id is not None:
            query = query.where(Client.clinician_id == clinician_id)
        if after_chart is not None:
            query = query.where(Client.chart_id > after_chart)
        return [(client, episode) for client, episode in self.session.execute(query).all()]

    def add(self, row: Any) -> None:
        self.session.add(row)

    def flush(self) -> None:
        self.session.flush()

    # -- episodes and events ---------------------------------------------------------------
    def current_episode(self, client_id: int) -> Episode | None:
        return self.session.scalar(
            select(Episode)
            .where(Episode.client_id == client_id)
            .order_by(Episode.id.desc())
            .limit(1)
        )

    def episodes_of(self, client_id: int) -> Sequence[Episode]:
        return self.session.scalars(
            select(Episode).where(Episode.client_id == client_id).order_by(Episode.id)
        ).all()

    def events_of(
        self, episode_id: int, *, kinds: Sequence[str] | None = None
    ) -> Sequence[EventRecord]:
        """An episode's events in recording order; only those of `kinds` when given (one
        seek per kind in the (episode_id, kind) index, however many other events there are)."""
        query = select(EventRecord).where(EventRecord.episode_id == episode_id)
        if kinds is not None:
            query = query.where(EventRecord.kind.in_(list(kinds)))
        return self.session.scalars(query.order_by(EventRecord.id)).all()

    def events_of_episodes(
        self, episode_ids: Sequence[int], *, kinds: Sequence[str] | None = None
    ) -> dict[int, list[EventRecord]]:
        """The events of many episodes in one query, each list in recording order.

        On PostgreSQL one index seek per episode, whatever the planner knows: without
        statistics (autovacuum off, or right after a bulk import) it takes `episode_id IN
        (a page of ids)` to match half the table and scans all of it (39 ms for 100 ids at
        100k events, growing with the table). The ids are unnested and each joined
        LATERAL to its own events; OFFSET 0 keeps the planner from flattening that back
        into the same hash join over a full scan. SQLite seeks the index for IN anyway."""
        found: dict[int, list[EventRecord]] = {i: [] for i in episode_ids}
        if not episode_ids:
            return found
        if self.is_postgres:
            ids = (
                func.unnest(bindparam("episode_ids", list(episode_ids), type_=ARRAY(Integer)))
                .table_valued("id")
                .render_derived(name="ids")
            )
            own = select(EventRecord).where(EventRecord.episode_id == ids.c.id)
            if kinds is not None:
                own = own.where(EventRecord.kind.in_(list(kinds)))
            per_episode = own.offset(0).subquery().lateral("own_events")
            record = aliased(EventRecord, per_episode)
            query = select(record).select_from(ids).join(per_episode, true()).order_by(record.id)
        else:
            query = select(EventRecord).where(EventRecord.episode_id.in_(list(episode_ids)))
            if kinds is not None:
                query = query.where(EventRecord.kind.in_(list(kinds)))
            query = query.order_by(EventRecord.id)
        for row in self.session.scalars(query):
            found[row.episode_id].append(row)
        return found

    def events_of_client(self, client_id: int) -> Sequence[EventRecord]:
        return self.session.scalars(
            select(EventRecord).where(EventRecord.client_id == client_id).order_by(EventRecord.id)
        ).all()

    def due_episodes(self, *, now: datetime, limit: int) -> Sequence[Episode]:
        """Episodes whose next step is due, oldest first; row-locked and skipped on PostgreSQL
        (so replicas share the work); their clients and clinicians come along in two queries."""
        query = (
            select(Episode)
            .where(Episode.next_due_at <= now, Episode.closed_at.is_(None))
            .order_by(Episode.next_due_at, Episode.id)
            .limit(limit)
            .options(selectinload(Episode.client).selectinload(Client.clinician))
        )
        if self.is_postgres:
            query = query.with_for_update(skip_locked=True, of=Episode)
        return self.session.scalars(query).all()

    def due_headsups(self, *, now: datetime, limit: int) -> Sequence[Episode]:
        """Open episodes whose early heads-up must be looked at (the indexed headsup_due_at),
        claimed like `due_episodes`."""
        query = (
            select(Episode)
            .where(Episode.headsup_due_at <= now, Episode.closed_at.is_(None))
            .order_by(Episode.headsup_due_at, Episode.id)
            .limit(limit)
            .options(selectinload(Episode.client).selectinload(Client.clinician))
        )
        if self.is_postgres:
            query = query.with_for_update(skip_locked=True, of=Episode)
        return self.session.scalars(query).all()

    def client_by_id(self, client_id: int) -> Client | None:
        return self.session.get(Client, client_id)

    def headsup_by_id(self, headsup_id: int, *, lock: bool = False) -> HeadsUpRecord | None:
        query = select(HeadsUpRecord).where(HeadsUpRecord.id == headsup_id)
        if lock and self.is_postgres:
            query = query.with_for_update()
        return self.session.scalar(query)

    def headsups_of(self, *, episode_id: int, stretch: str) -> Sequence[HeadsUpRecord]:
        return self.session.scalars(
            select(HeadsUpRecord).where(
                HeadsUpRecord.episode_id == episode_id, HeadsUpRecord.stretch == stretch
            )
        ).all()

    def headsup_exists(self, *, episode_id: int, stretch: str) -> bool:
        return bool(self.headsups_of(episode_id=episode_id, stretch=stretch))

    def open_headsups(self, *, slack_user_id: str, limit: int) -> Sequence[HeadsUpRecord]:
        return self.session.scalars(
            select(HeadsUpRecord)
            .join(Clinician, Clinician.id == HeadsUpRecord.clinician_id)
            .where(Clinician.slack_user_id == slack_user_id, HeadsUpRecord.status == "open")
            .order_by(HeadsUpRecord.created_at.desc())
            .limit(limit)
        ).all()

    def attended_since(self, *, episode_id: int, since: datetime) -> bool:
        return (
            self.session.scalar(
                select(EventRecord.id)
                .where(
                    EventRecord.episode_id == episode_id,
                    EventRecord.occurred_at > since,
                    EventRecord.kind == "session_attended",
                )
                .limit(1)
            )
            is not None
        )

    def lock_episode(self, episode_id: int) -> Episode | None:
        query = select(Episode).where(Episode.id == episode_id)
        if self.is_postgres:
            query = query.with_for_update()
        return self.session.scalar(query)

    # -- notes ----------------------------------------------------------------------------
    def notes_of(self, client_id: int) -> Sequence[AdminNote]:
        return self.session.scalars(
            select(AdminNote).where(AdminNote.client_id == client_id).order_by(AdminNote.id)
        ).all()

    # -- outbox -----------------------------------------------------------------------------
    def outbox_key_exists(self, key: str) -> bool:
        found = self.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.idempotency_key == key)
        )
        return bool(found)

    def add_outbox(self, message: OutboxMessage) -> bool:
        """Insert unless the idempotency key exists (one statement, race-free on both
        backends: INSERT ... ON CONFLICT DO NOTHING); True when a row was written."""
        columns = {
            c.key: getattr(message, c.key)
            for c in OutboxMessage.__table__.columns
            if c.key != "id" and getattr(message, c.key) is not None
        }
        insert_ = pg_insert if self.is_postgres else sqlite_insert
        statement = (
            insert_(OutboxMessage)
            .values(**columns)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(OutboxMessage.id)
        )
        new_id = self.session.scalar(statement)
        if new_id is None:
            return False
        message.id = new_id
        return True

    def outbox(
        self, *, statuses: Sequence[str] | None = None, limit: int = 200
    ) -> Sequence[OutboxMessage]:
        query = select(OutboxMessage).order_by(OutboxMessage.id).limit(limit)
        if statuses:
            query = query.where(OutboxMessage.status.in_(statuses))
        return self.session.scalars(query).all()

    def outbox_by_id(self, message_id: int) -> OutboxMessage | None:
        return self.session.get(OutboxMessage, message_id)

    def outbox_by_key(self, key: str) -> OutboxMessage | None:
        return self.session.scalar(
            select(OutboxMessage).where(OutboxMessage.idempotency_key == key)
        )

    def due_outbox(
        self, *, now: datetime, limit: int, keys: Sequence[str] | None = None
    ) -> Sequence[OutboxMessage]:
        """Pending rows whose time has come, oldest first (optionally only these keys)."""
        query = (
            select(OutboxMessage)
            .where(OutboxMessage.status == "pending", OutboxMessage.deliver_after <= now)
            .order_by(OutboxMessage.deliver_after, OutboxMessage.id)
            .limit(limit)
        )
        if keys is not None:
            query = query.where(OutboxMessage.idempotency_key.in_(list(keys)))
        return self.session.scalars(query).all()

    def outbox_of_episode(self, episode_id: int) -> Sequence[OutboxMessage]:
        return self.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.episode_id == episode_id)
            .order_by(OutboxMessage.id)
        ).all()

    def pending_with_prefix(self, prefix: str) -> bool:
        """Whether a row whose key starts with `prefix` still waits to be delivered."""
        return (
            self.session.scalar(
                select(OutboxMessage.id)
                .where(
                    self._key_prefix(prefix),
                    OutboxMessage.status.in_(["pending", "in_flight"]),
                )
                .limit(1)
            )
            is not None
        )

    def _key_prefix(self, prefix: str) -> Any:
        """Keys starting with `prefix`, as an index seek on either backend: PostgreSQL's
        LIKE 'prefix%' uses the text_pattern_ops index whatever the collation; SQLite's LIKE
        uses no index, but a range over its binary-collated key index is exact."""
        if self.is_postgres:
            return OutboxMessage.idempotency_key.startswith(prefix, autoescape=True)
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        return and_(OutboxMessage.idempotency_key >= prefix, OutboxMessage.idempotency_key < upper)

    def count_outbox(self, *, key_prefix: str) -> int:
        return int(
            self.session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(self._key_prefix(key_prefix))
            )
            or 0
        )

    def open_episodes(self, *, states: Sequence[str] | None = None) -> Sequence[Episode]:
        query = select(Episode).where(Episode.closed_at.is_(None)).order_by(Episode.id)
        if states is not None:
            query = query.where(Episode.state.in_(list(states)))
        return self.session.scalars(query).all()

    def episodes_closed_between(self, *, start: datetime, end: datetime) -> Sequence[Episode]:
        return self.session.scalars(
            select(Episode)
            .where(Episode.closed_at >= start, Episode.closed_at < end)
            .order_by(Episode.closed_at)
        ).all()

    def note_by_id(self, note_id: int) -> AdminNote | None:
        return self.session.get(AdminNote, note_id)

    # -- inbound de-duplication ----------------------------------------------------------------
    def claim_delivery(self, *, source: str, delivery_id: str, now: datetime) -> bool:
        """Record an inbound delivery id; False when it was seen before (do nothing then)."""
        seen = self.session.scalar(
            select(ProcessedDelivery.id).where(
                ProcessedDelivery.source == source, ProcessedDelivery.delivery_id == delivery_id
            )
        )
        if seen is not None:
            return False
        try:
            with self.session.begin_nested():
                self.session.add(
                    ProcessedDelivery(source=source, delivery_id=delivery_id, received_at=now)
                )
        except IntegrityError:
            return False
        return True

    def release_delivery(self, *, source: str, delivery_id: str) -> None:
        """Forget a claimed delivery whose side effect failed, so it can be tried again."""
        row = self.session.scalar(
            select(ProcessedDelivery).where(
                ProcessedDelivery.source == source, ProcessedDelivery.delivery_id == delivery_id
            )
        )
        if row is not None:
            self.session.delete(row)

    # -- audit and marks ------------------------------------------------------------------------
    def audit(
        self,
        *,
        at: datetime,
        actor: str,
        action: str,
        client_id: int | None = None,
        episode_id: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.session.add(
            AuditEntry(
                at=at,
                actor=actor,
                action=action,
                client_id=client_id,
                episode_id=episode_id,
                details=details or {},
            )
        )

    def audit_entries(
        self, *, client_id: int | None = None, limit: int = 500
    ) -> Sequence[AuditEntry]:
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if client_id is not None:
            query = query.where(AuditEntry.client_id == client_id)
        return self.session.scalars(query).all()

    def mark(self, *, name: str, at: datetime, detail: str | None = None) -> None:
        row = self.session.get(RuntimeMark, name)
        if row is None:
            self.session.add(RuntimeMark(name=name, at=at, detail=detail))
        else:
            row.at = at
            row.detail = detail

    def get_mark(self, name: str) -> RuntimeMark | None:
        return self.session.get(RuntimeMark, name)


class UnitOfWork:
    """`with uow() as repo:` — one transaction, committed on success, rolled back on error."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    @contextmanager
    def __call__(self) -> Iterator[Repository]:
        with self.session_factory.begin() as session:
            yield Repository(session)

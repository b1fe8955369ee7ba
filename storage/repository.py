"""Repository over one SQLAlchemy session: the queries the services need, keyword-only."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, NamedTuple, cast
from weakref import WeakKeyDictionary

from sqlalchemy import (
    ARRAY,
    Connection,
    Integer,
    Select,
    Table,
    and_,
    bindparam,
    case,
    func,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, aliased, joinedload, selectinload, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from storage.models import (
    AdminNote,
    AuditEntry,
    Base,
    Client,
    Clinician,
    Episode,
    EventRecord,
    HeadsUpRecord,
    OutboxMessage,
    ProcessedDelivery,
    RuntimeMark,
)
from storage.types import UtcDateTime

log = logging.getLogger(__name__)


class CaseloadEntry(NamedTuple):
    """A caseload row as stored: the client, its clinician, its current episode's cache."""

    client_id: int
    chart_id: str
    slack_user_id: str
    clinician_id: int
    episode_id: int | None
    #: Active, open, nothing due by `now`, cached before `now` with its last contact: the
    #: cached columns below are what assessing the episode's history at `now` would say.
    settled: bool
    state: str | None
    trigger: str | None
    checkins_sent: int | None
    next_step: str | None
    next_due_at: datetime | None
    last_contact_at: datetime | None


class EpisodeEntry(NamedTuple):
    """What the policy reads of an episode, without an ORM object."""

    id: int
    opened_at: datetime
    opened_reason: str
    baseline_contact_at: datetime | None
    baseline_session_at: datetime | None
    handed_over_from: int | None
    booked_sessions: list[str]


class EventEntry(NamedTuple):
    """An event's columns as the policy reads them, without an ORM object."""

    id: int
    episode_id: int
    kind: str
    occurred_at: datetime
    recorded_at: datetime
    session_at: datetime | None
    data: dict[str, Any]


class KnownNotes:
    """The manual admin notes (id, when written) this process has read of its most recent
    episodes, committed ones only, so a note's change reads only the notes written since.

    What is kept is always a prefix of the episode's notes in id order: notes are never
    deleted (retention removes a text, not a date), and one episode's manual notes are
    written one at a time, by `log_note` under its client's lock (PostgreSQL) or by SQLite's
    one writer, so none can commit with an id below one already seen."""

    SIZE = 2048
    #: Only a long history is kept: a few notes cost no more to read again than to look
    #: up, and keeping every episode that ever had a note grew `serve`'s memory all
    #: through a 30,000-request run (`endurance.py`: +4.5 MB, a cache still filling).
    LONG = 32

    def __init__(self) -> None:
        self._entries: OrderedDict[int, tuple[tuple[int, datetime], ...]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, episode_id: int) -> tuple[tuple[int, datetime], ...] | None:
        with self._lock:
            notes = self._entries.get(episode_id)
            if notes is not None:
                self._entries.move_to_end(episode_id)
            return notes

    def put(self, episode_id: int, notes: tuple[tuple[int, datetime], ...]) -> None:
        with self._lock:
            self._entries[episode_id] = notes
            self._entries.move_to_end(episode_id)
            while len(self._entries) > self.SIZE:
                self._entries.popitem(last=False)


_KNOWN: WeakKeyDictionary[Any, KnownNotes] = WeakKeyDictionary()
_KNOWN_LOCK = threading.Lock()


def _known_notes(bind: Any) -> KnownNotes:
    """This process's `KnownNotes` of one database (an engine; tests open many)."""
    engine = getattr(bind, "engine", bind)
    with _KNOWN_LOCK:
        known = _KNOWN.get(engine)
        if known is None:
            known = _KNOWN[engine] = KnownNotes()
        return known


class Repository:
    """All reads and writes of one unit of work. Commit/rollback belong to the caller."""

    def __init__(self, session: Session) -> None:
        self.session = session
        #: Notes read ahead for a batch of episodes (`note_dates_of`), this unit of work
        #: only; `note_dates` answers from here first.
        self._note_dates: dict[int, list[tuple[int, datetime]]] = {}
        #: Manual notes this unit of work wrote, by episode: not known to be committed.
        self._own_notes: dict[int, set[int]] = {}

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
        elif not lock:  # a check reads who the clinician is: in the same query
            query = query.options(joinedload(Client.clinician))
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
        query = (
            select(Client, Episode)
            .outerjoin(Episode, Episode.id == _latest_episode_id())
            .options(joinedload(Client.clinician))
            .order_by(Client.chart_id)
            .limit(limit)
        )
        if clinician_id is not None:
            query = query.where(Client.clinician_id == clinician_id)
        if after_chart is not None:
            query = query.where(Client.chart_id > after_chart)
        return [(client, episode) for client, episode in self.session.execute(query).all()]

    def caseload_table(
        self,
        *,
        now: datetime,
        clinician_id: int | None = None,
        after_chart: str | None = None,
        limit: int = 500,
    ) -> list[CaseloadEntry]:
        """One page of the caseload as plain rows (no ORM objects): each client in chart-id
        order with its clinician and its current episode's cached state and schedule, and
        whether that cache is settled at `now` (decided in SQL, so the instants it looks at
        are never read into Python). Keyset paging: pass the last chart id seen."""
        settled = case(
            (
                and_(
                    Episode.state == "active",
                    Episode.closed_at.is_(None),
                    Episode.next_due_at > now,
                    Episode.last_contact_at.is_not(None),
                    Episode.updated_at <= now,
                ),
                True,
            ),
            else_=False,
        )
        query = (
            select(
                Client.id,
                Client.chart_id,
                Clinician.slack_user_id,
                Client.clinician_id,
                Episode.id,
                settled,
                Episode.state,
                Episode.trigger,
                Episode.checkins_sent,
                Episode.next_step,
                Episode.next_due_at,
                Episode.last_contact_at,
            )
            .join(Clinician, Clinician.id == Client.clinician_id)
            .outerjoin(Episode, Episode.id == _latest_episode_id())
            .order_by(Client.chart_id)
            .limit(limit)
        )
        if clinician_id is not None:
            query = query.where(Client.clinician_id == clinician_id)
        if after_chart is not None:
            query = query.where(Client.chart_id > after_chart)
        return [CaseloadEntry._make(row) for row in self.session.execute(query)]

    def episode_entries(self, episode_ids: Sequence[int]) -> dict[int, EpisodeEntry]:
        """What the policy reads of these episodes, as plain rows (one query per IN_CHUNK)."""
        found: dict[int, EpisodeEntry] = {}
        for start in range(0, len(episode_ids), IN_CHUNK):
            query = select(
                Episode.id,
                Episode.opened_at,
                Episode.opened_reason,
                Episode.baseline_contact_at,
                Episode.baseline_session_at,
                Episode.handed_over_from,
                Episode.booked_sessions,
            ).where(Episode.id.in_(list(episode_ids[start : start + IN_CHUNK])))
            found.update((row.id, EpisodeEntry._make(row)) for row in self.session.execute(query))
        return found

    def chart_id_at(self, position: int, *, clinician_id: int | None = None) -> str | None:
        """The chart id at `position` (0 is the first) in chart-id order: where a page that
        starts further on resumes (the offset walks the chart-id index alone, not the join)."""
        query = select(Client.chart_id).order_by(Client.chart_id).offset(position).limit(1)
        if clinician_id is not None:
            query = query.where(Client.clinician_id == clinician_id)
        return self.session.scalar(query)

    def count_clients(self, *, clinician_id: int | None = None) -> int:
        query = select(func.count()).select_from(Client)
        if clinician_id is not None:
            query = query.where(Client.clinician_id == clinician_id)
        return int(self.session.scalar(query) or 0)

    def clinicians_by_slack_ids(self, slack_user_ids: Sequence[str]) -> dict[str, Clinician]:
        found: dict[str, Clinician] = {}
        wanted = sorted(set(slack_user_ids))
        for start in range(0, len(wanted), IN_CHUNK):
            query = select(Clinician).where(
                Clinician.slack_user_id.in_(wanted[start : start + IN_CHUNK])
            )
            found.update((c.slack_user_id, c) for c in self.session.scalars(query))
        return found

    def clients_by_chart_ids(
        self, chart_ids: Sequence[str]
    ) -> dict[str, tuple[Client, Episode | None]]:
        """The clients among `chart_ids` that exist, each with its clinician and current
        episode: one query per IN_CHUNK ids (the batched import's lookup)."""
        found: dict[str, tuple[Client, Episode | None]] = {}
        for start in range(0, len(chart_ids), IN_CHUNK):
            query = (
                select(Client, Episode)
                .outerjoin(Episode, Episode.id == _latest_episode_id())
                .options(joinedload(Client.clinician))
                .where(Client.chart_id.in_(list(chart_ids[start : start + IN_CHUNK])))
            )
            found.update((c.chart_id, (c, e)) for c, e in self.session.execute(query).all())
        return found

    def insert_many(self, model: type[Base], rows: Sequence[dict[str, Any]]) -> None:
        """Insert `rows` (dicts with the same keys) as one executemany, each value through
        its column's type (so encrypted columns are encrypted, instants stored as UTC).

        No RETURNING: SQLite would then insert one row per statement to keep the ids in
        order; read the ids back by a unique key instead (`ids_by`). On SQLite the rows go
        to the driver's own executemany with each distinct instant converted once (what
        SQLAlchemy's per-row parameter handling would spend most of the time on); on
        PostgreSQL SQLAlchemy batches them into multi-row VALUES."""
        if not rows:
            return
        table = cast(Table, model.__table__)
        connection = self.session.connection()
        dialect = connection.dialect
        if dialect.name != "sqlite":
            connection.execute(insert(table), list(rows))
            return
        keys = list(rows[0])
        compiled = insert(table).compile(dialect=dialect, column_keys=keys)
        order = list(compiled.positiontup or ())
        assert sorted(order) == sorted(keys), (order, keys)
        converted = []
        for key in order:
            column_type = table.c[key].type
            process = column_type.dialect_impl(dialect).bind_processor(dialect)
            # Only plain instants are memoised: an encrypted value must be sealed each time.
            memoise = isinstance(column_type, UtcDateTime)
            converted.append(_bind_column([row[key] for row in rows], process, memoise=memoise))
        parameters = list(zip(*converted, strict=True))
        connection.exec_driver_sql(compiled.string, parameters)

    def ids_by(self, column: Any, keys: Sequence[Any]) -> dict[Any, int]:
        """{key: id} of the rows whose unique `column` is among `keys` (one query per
        IN_CHUNK keys)."""
        found: dict[Any, int] = {}
        id_column = column.class_.id
        for start in range(0, len(keys), IN_CHUNK):
            query = select(column, id_column).where(
                column.in_(list(keys[start : start + IN_CHUNK]))
            )
            found.update((key, row_id) for key, row_id in self.session.execute(query))
        return found

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
        """The events of many episodes (one query per IN_CHUNK), each list in recording
        order."""
        found: dict[int, list[EventRecord]] = {i: [] for i in episode_ids}
        for start in range(0, len(episode_ids), IN_CHUNK):
            query = self._events_of(episode_ids[start : start + IN_CHUNK], kinds, _whole)
            for row in self.session.scalars(query):
                found[row.episode_id].append(row)
        return found

    def _events_of(
        self,
        episode_ids: Sequence[int],
        kinds: Sequence[str] | None,
        columns: Callable[[Any], list[Any]],
    ) -> Select[Any]:
        """`columns` (picked from the events entity) of the events of `episode_ids` (of
        `kinds`) in recording order, through an index seek per episode whatever the planner
        knows.

        Without statistics (autovacuum off, or right after a bulk import) PostgreSQL
        guesses that `episode_id IN (a page of ids)` matches a tenth of the table and scans
        all of it (8.7 ms for a caseload page at 100k events, growing with the table). So
        there the ids are unnested and each joined LATERAL to its own events; OFFSET 0
        keeps the planner from flattening that back into the same scan, and the kinds are
        filtered outside it (inside, each seek went through every wanted kind: 2.5 ms for
        a page's 65 episodes against 0.25 ms). SQLite seeks the index for IN anyway."""
        if not self.is_postgres:
            query = select(*columns(EventRecord))
            query = query.where(EventRecord.episode_id.in_(list(episode_ids)))
            if kinds is not None:
                query = query.where(EventRecord.kind.in_(list(kinds)))
            return query.order_by(EventRecord.id)
        ids = (
            func.unnest(bindparam("episode_ids", list(episode_ids), type_=ARRAY(Integer)))
            .table_valued("id")
            .render_derived(name="ids")
        )
        own = select(EventRecord).where(EventRecord.episode_id == ids.c.id).offset(0)
        per_episode = own.subquery().lateral("own_events")
        events = aliased(EventRecord, per_episode)
        query = select(*columns(events)).select_from(ids).join(per_episode, true())
        if kinds is not None:
            query = query.where(events.kind.in_(list(kinds)))
        return query.order_by(events.id)

    def note_dates_of(self, episode_ids: Sequence[int]) -> dict[int, list[tuple[int, datetime]]]:
        """(id, when written) of each episode's manual admin notes, oldest first: two columns
        through the (episode_id, kind) index, not the notes' events and bodies."""
        found: dict[int, list[tuple[int, datetime]]] = {i: [] for i in episode_ids}
        if not episode_ids:
            return found
        query = (
            select(AdminNote.episode_id, AdminNote.id, AdminNote.created_at)
            .where(AdminNote.episode_id.in_(list(episode_ids)), AdminNote.kind == "manual")
            .order_by(AdminNote.id)
        )
        for episode_id, note_id, created_at in self.session.execute(query):
            if episode_id is not None:  # the query asked for these episodes only
                found[episode_id].append((note_id, created_at))
        self._note_dates.update(found)
        return found

    def note_dates(self, episode_id: int) -> Sequence[tuple[int, datetime]]:
        """One episode's manual notes as (id, when written), oldest first: read ahead by
        `note_dates_of` for a batch (a pass that adds no notes), else those this process
        knows already (`KnownNotes`) and the ones written since, in one indexed seek."""
        if episode_id in self._note_dates:
            return tuple(self._note_dates[episode_id])
        cache = _known_notes(self.session.get_bind())
        known = cache.get(episode_id) or ()
        query = (
            select(AdminNote.id, AdminNote.created_at)
            .where(
                AdminNote.episode_id == episode_id,
                AdminNote.kind == "manual",
                AdminNote.id > (known[-1][0] if known else 0),
            )
            .order_by(AdminNote.id)
        )
        since = tuple((int(i), at) for i, at in self.session.execute(query))
        # What this unit of work wrote is kept out until it is committed (it may not be):
        # the rest is what others committed, in order (see `KnownNotes`).
        own = self._own_notes.get(episode_id, ())
        committed = next((n for n, (i, _) in enumerate(since) if i in own), len(since))
        if committed and len(known) + committed >= KnownNotes.LONG:
            cache.put(episode_id, known + since[:committed])
        return known + since

    def wrote_note(self, episode_id: int, note_id: int) -> None:
        """This unit of work added a manual note to `episode_id` (flushed, not committed)."""
        self._own_notes.setdefault(episode_id, set()).add(note_id)

    def event_entries_of_episodes(
        self, episode_ids: Sequence[int], *, kinds: Sequence[str] | None = None
    ) -> dict[int, list[EventEntry]]:
        """`events_of_episodes` as plain rows (one query per IN_CHUNK episodes)."""
        found: dict[int, list[EventEntry]] = {i: [] for i in episode_ids}
        for start in range(0, len(episode_ids), IN_CHUNK):
            query = self._events_of(episode_ids[start : start + IN_CHUNK], kinds, _entry_columns)
            for row in self.session.execute(query):
                found[row.episode_id].append(EventEntry._make(row))
        return found

    def clinicians_by_ids(self, clinician_ids: Sequence[int]) -> dict[int, Clinician]:
        wanted = sorted(set(clinician_ids))
        query = select(Clinician).where(Clinician.id.in_(wanted))
        return {c.id: c for c in self.session.scalars(query)} if wanted else {}

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

    # -- batched writes (a scheduler pass: one statement per kind of row, not per row) --------
    def add_outbox_many(self, messages: Sequence[OutboxMessage]) -> set[str]:
        """Insert each message unless its idempotency key exists, in one statement (INSERT ...
        ON CONFLICT DO NOTHING, many rows); the keys actually written are returned and those
        messages get their ids. The same race-free contract as `add_outbox`."""
        if not messages:
            return set()
        table = cast(Table, OutboxMessage.__table__)
        columns = [c.key for c in table.columns if c.key != "id"]
        insert_ = pg_insert if self.is_postgres else sqlite_insert
        statement = (
            insert_(table)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(table.c.idempotency_key, table.c.id)
        )
        rows = [{c: getattr(m, c) for c in columns} for m in messages]
        written = {key: id_ for key, id_ in self.session.execute(statement, rows)}
        for message in messages:
            if message.idempotency_key in written:
                message.id = written[message.idempotency_key]
        return set(written)

    def add_events(self, records: Sequence[EventRecord]) -> None:
        """Append events in one statement; their ids are not read back (nobody needs them)."""
        if not records:
            return
        table = cast(Table, EventRecord.__table__)
        columns = [c.key for c in table.columns if c.key != "id"]
        rows = [{c: getattr(r, c) for c in columns} for r in records]
        self.session.execute(insert(table), rows)

    def write_episode_columns(self, episodes: Sequence[Episode], columns: Sequence[str]) -> None:
        """Write `columns` of loaded episodes in one statement (many parameter sets) and mark
        them clean, so the session's flush does not write them again one row at a time (it
        still writes any other column changed on them)."""
        if not episodes:
            return
        table = cast(Table, Episode.__table__)
        statement = (
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values({c: bindparam(f"_{c}", type_=table.c[c].type) for c in columns})
        )
        rows = [{"_id": e.id, **{f"_{c}": getattr(e, c) for c in columns}} for e in episodes]
        with self.session.no_autoflush:  # an autoflush would write these rows first, singly
            self.session.execute(statement, rows)
        for episode in episodes:
            for column in columns:
                set_committed_value(episode, column, getattr(episode, column))

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
                select(func.count()).select_from(OutboxMessage).where(self._key_prefix(key_prefix))
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
        """Record an inbound delivery id; False when it was seen before (do nothing then).

        One INSERT … ON CONFLICT DO NOTHING: a first delivery and its concurrent retry
        cannot both win, and no savepoint or prior read is needed."""
        return claim_delivery(self.session, source=source, delivery_id=delivery_id, now=now)

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
        """Set a mark in one statement (INSERT ... ON CONFLICT DO UPDATE): workers that finish
        a tick at the same moment would otherwise both insert it and one would fail."""
        insert_ = pg_insert if self.is_postgres else sqlite_insert
        statement = insert_(cast(Table, RuntimeMark.__table__)).values(
            name=name, at=at, detail=detail
        )
        self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["name"],
                set_={"at": statement.excluded.at, "detail": statement.excluded.detail},
            )
        )
        held = self.session.identity_key(RuntimeMark, name)
        if held in self.session.identity_map:  # a copy this session read before: not stale
            self.session.refresh(self.session.identity_map[held])

    def get_mark(self, name: str) -> RuntimeMark | None:
        return self.session.get(RuntimeMark, name)


#: Built once: a note's permission check is on the path of Slack's answer.
_OWNER = (
    select(Clinician.slack_user_id)
    .select_from(Client)
    .join(Clinician, Clinician.id == Client.clinician_id)
    .where(Client.chart_id == bindparam("chart_id"))
)


def client_owner(connection: Connection, chart_id: str) -> tuple[bool, str | None]:
    """Whether a client with `chart_id` exists, and its clinician's Slack user id: the
    whole of a permission check, as one indexed read in the caller's transaction."""
    row = connection.execute(_OWNER, {"chart_id": chart_id}).first()
    return (False, None) if row is None else (True, row[0])


_CLAIMS: dict[str, Any] = {}


def claim_delivery(
    bind: Session | Connection, *, source: str, delivery_id: str, now: datetime
) -> bool:
    """Record an inbound delivery id in `bind`'s transaction; False when it was there.

    One INSERT … ON CONFLICT DO NOTHING RETURNING id (built once per dialect): a first
    delivery and its concurrent retry cannot both get a row back."""
    dialect = bind.get_bind().dialect.name if isinstance(bind, Session) else bind.dialect.name
    statement = _CLAIMS.get(dialect)
    if statement is None:
        table = cast(Table, ProcessedDelivery.__table__)
        make = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = _CLAIMS[dialect] = (
            make(table)
            .values(
                source=bindparam("source"),
                delivery_id=bindparam("delivery_id"),
                received_at=bindparam("received_at", type_=table.c.received_at.type),
            )
            .on_conflict_do_nothing(index_elements=["source", "delivery_id"])
            .returning(table.c.id)
        )
    params = {"source": source, "delivery_id": delivery_id, "received_at": now}
    return bind.execute(statement, params).scalar() is not None

def _bind_column(values: list[Any], process: Any, *, memoise: bool) -> list[Any]:
    """One column's values as the driver takes them (`process`: the type's bind processor,
    None when there is nothing to do); with `memoise`, each distinct value converted once."""
    if process is None:
        return values
    if not memoise:
        return [None if value is None else process(value) for value in values]
    done: dict[Any, Any] = {None: None}
    out = []
    for value in values:
        found = done.get(value, done)
        if found is done:
            found = done[value] = process(value)
        out.append(found)
    return out


#: Ids per IN (...) list: far below SQLite's and PostgreSQL's parameter limits.
IN_CHUNK = 2000


def _whole(events: Any) -> list[Any]:
    return [events]


def _entry_columns(events: Any) -> list[Any]:
    """The columns of an `EventEntry`, of the events entity or an alias of it."""
    return [
        events.id,
        events.episode_id,
        events.kind,
        events.occurred_at,
        events.recorded_at,
        events.session_at,
        events.data,
    ]


def _latest_episode_id() -> Any:
    """The current episode's id of the client in the enclosing query (the (client_id, id)
    index answers it with one seek)."""
    return (
        select(func.max(Episode.id))
        .where(Episode.client_id == Client.id)
        .correlate(Client)
        .scalar_subquery()
    )


class UnitOfWork:
    """`with uow() as repo:` — one transaction, committed on success, rolled back on error."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    @contextmanager
    def __call__(self) -> Iterator[Repository]:
        with self.session_factory.begin() as session:
            yield Repository(session)

    def after_bulk_write(self, tables: Sequence[str]) -> None:
        """After a bulk write (a large import): on PostgreSQL, `VACUUM (ANALYZE)` the
        tables it filled, so the next reads find the visibility map set (index-only scans
        without a visit to each row) and the planner has statistics, instead of waiting
        for autovacuum; whole-caseload `status` right after importing 100,000 clients:
        5.2-5.7 s -> 4.5-4.9 s, for 0.5 s here. SQLite needs neither.

        The write is committed by then, so this never fails it: a table another session
        holds locked is skipped rather than waited for (autovacuum will come), and an error
        is logged and left at that."""
        engine = self.session_factory.kw["bind"]
        if engine.dialect.name != "postgresql":
            return
        unknown = set(tables) - set(Base.metadata.tables)
        if unknown:
            raise ValueError(f"not our tables: {sorted(unknown)}")
        names = ", ".join(tables)
        try:
            with engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    f"VACUUM (ANALYZE, SKIP_LOCKED) {names}"
                )
        except DBAPIError as error:
            log.warning(
                "the tables a bulk write filled were not vacuumed (%s); autovacuum will "
                "see to them",
                type(error.orig).__name__,
            )

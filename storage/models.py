"""The tables: clinicians, clients, episodes, the append-only event log, notes, outbox, audit."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.crypto import EncryptedJSON, EncryptedText, SealedJSON
from storage.types import UtcDateTime

# Alembic's batch mode (SQLite) can only alter constraints that have names.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JSON()}


class Clinician(Base):
    __tablename__ = "clinicians"

    id: Mapped[int] = mapped_column(primary_key=True)
    slack_user_id: Mapped[str] = mapped_column(String(32), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    #: "caseload" when the import named the clinician (it wins), "slack" when Slack did.
    display_name_source: Mapped[str | None] = mapped_column(String(16))
    timezone: Mapped[str | None] = mapped_column(String(64))
    #: "caseload" when the import set the zone (it wins), "slack" when users.info did.
    timezone_source: Mapped[str | None] = mapped_column(String(16))
    work_start: Mapped[time | None] = mapped_column(Time())
    work_end: Mapped[time | None] = mapped_column(Time())
    platform_user_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]

    clients: Mapped[list[Client]] = relationship(back_populates="clinician")


class Client(Base):
    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The client's id in the clinical platform; the pseudonymous label shown in Slack.
    chart_id: Mapped[str] = mapped_column(String(64), unique=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinicians.id"), index=True)
    #: Only ever used for client-facing text on its way into the platform's chat.
    first_name: Mapped[str | None] = mapped_column(EncryptedText())
    platform_user_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    clinician: Mapped[Clinician] = relationship(back_populates="clients")
    episodes: Mapped[list[Episode]] = relationship(back_populates="client", order_by="Episode.id")


class Episode(Base):
    """A stretch of care that may end in a discharge. `next_due_at` is the schedule."""

    __tablename__ = "episodes"
    # The current episode is `WHERE client_id = ? ORDER BY id DESC LIMIT 1`: this index answers
    # it with one seek on either backend, with or without planner statistics. The tick's two
    # schedules (`<= now AND closed_at IS NULL ORDER BY due, id`) have partial indexes of open
    # episodes: PostgreSQL without statistics otherwise scans every episode on every pass.
    __table_args__ = (
        Index("ix_episodes_client_id_id", "client_id", "id"),
        Index(
            "ix_episodes_open_next_due",
            "next_due_at",
            "id",
            postgresql_where=text("closed_at IS NULL"),
            sqlite_where=text("closed_at IS NULL"),
        ),
        Index(
            "ix_episodes_open_headsup_due",
            "headsup_due_at",
            "id",
            postgresql_where=text("closed_at IS NULL"),
            sqlite_where=text("closed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    opened_at: Mapped[datetime]
    opened_reason: Mapped[str] = mapped_column(String(16))
    baseline_contact_at: Mapped[datetime | None]
    #: The last attended session known when the episode opened (caseload's last_session_at).
    baseline_session_at: Mapped[datetime | None]
    #: After CCT's rematch or care-team removal: the clinician the client left. Nothing is
    #: prompted while the caseload still names them; it starts once it names someone else.
    handed_over_from: Mapped[int | None] = mapped_column(Integer)
    booked_sessions: Mapped[list[str]] = mapped_column(JSON(), default=list)
    state: Mapped[str] = mapped_column(String(24), index=True)
    trigger: Mapped[str | None] = mapped_column(String(16))
    closure: Mapped[str | None] = mapped_column(String(24))
    closed_at: Mapped[datetime | None]
    checkins_sent: Mapped[int] = mapped_column(Integer, default=0)
    next_step: Mapped[str | None] = mapped_column(String(48))
    next_due_at: Mapped[datetime | None] = mapped_column(index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    #: When outreach began (by silence, attendance or the clinician); the report counts these.
    outreach_started_at: Mapped[datetime | None] = mapped_column(index=True)
    #: The last contact as the policy last assessed it (cached with the state and schedule:
    #: a settled episode's caseload row is read from here). NULL: not cached yet.
    last_contact_at: Mapped[datetime | None]
    #: When the early heads-up must next be evaluated (the tick reads this index).
    headsup_due_at: Mapped[datetime | None] = mapped_column(index=True)
    #: The stretch that last had a heads-up; one per stretch, ever.
    headsup_stretch: Mapped[str | None] = mapped_column(String(40))

    client: Mapped[Client] = relationship(back_populates="episodes")


class EventRecord(Base):
    """The append-only log of what happened, with who said so and through which door."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_episode_occurred", "episode_id", "occurred_at"),
        # What the policy reads of an episode skips the admin notes (however many there are).
        Index("ix_events_episode_kind", "episode_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"))
    kind: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    session_at: Mapped[datetime | None]
    data: Mapped[dict[str, Any]] = mapped_column(JSON(), default=dict)


class AdminNote(Base):
    __tablename__ = "admin_notes"
    __table_args__ = (
        Index("ix_admin_notes_client_id_id", "client_id", "id"),
        Index("ix_admin_notes_episode_kind_id", "episode_id", "kind", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    episode_id: Mapped[int | None] = mapped_column(ForeignKey("episodes.id"))
    kind: Mapped[str] = mapped_column(String(24))  # checkin | manual | discharge_summary
    author: Mapped[str] = mapped_column(String(64))
    #: Encrypted at rest when DATA_ENCRYPTION_KEY is set (so is `fields`, the summary's).
    body: Mapped[str] = mapped_column(EncryptedText())
    fields: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON())
    created_at: Mapped[datetime]


class OutboxMessage(Base):
    """What must be said, written in the same transaction as the decision to say it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_deliver_after", "status", "deliver_after"),
        Index("ix_outbox_episode_id_id", "episode_id", "id"),
        # Key-prefix lookups (`upd:<id>:…`) by LIKE on PostgreSQL, whatever its collation.
        Index(
            "ix_outbox_key_pattern",
            "idempotency_key",
            postgresql_ops={"idempotency_key": "text_pattern_ops"},
        ),
        Index("ix_outbox_kind_created_at", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    episode_id: Mapped[int | None] = mapped_column(ForeignKey("episodes.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    recipient_kind: Mapped[str] = mapped_column(String(16))  # clinician | cct
    recipient: Mapped[str | None] = mapped_column(String(32))  # Slack user or channel id
    payload: Mapped[dict[str, Any]] = mapped_column(JSON(), default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    deliver_after: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text())
    channel: Mapped[str | None] = mapped_column(String(32))
    ts: Mapped[str | None] = mapped_column(String(32))
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class SlackInboxItem(Base):
    """A Slack note or button press acknowledged once stored here, applied right after.

    Slack wants its answer within 3 s and a clinician wants it at once: the request stores
    what was asked (encrypted at rest when DATA_ENCRYPTION_KEY is set), answers, and a
    background applier in the same process makes the change. A row left *pending* or in
    flight past its lease (a stop, a crash) is applied by the next applier that looks. Once
    a row is finished its body is emptied: a note lives on in `admin_notes` only.
    """

    __tablename__ = "slack_inbox"
    __table_args__ = (
        Index("ix_slack_inbox_status_not_before", "status", "not_before"),
        Index("uq_slack_inbox_once_key", "once_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(64))
    body: Mapped[dict[str, Any]] = mapped_column(SealedJSON())
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime]
    not_before: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    #: The class of what went wrong and its reference id: never a payload or a message.
    last_error: Mapped[str | None] = mapped_column(String(200))
    #: What makes a request itself, where it has such a thing (a slash command's
    #: trigger_id): Slack sending it again stores nothing twice. Kept once the row is done.
    once_key: Mapped[str | None] = mapped_column(String(240))


class ProcessedDelivery(Base):
    """Inbound delivery ids already applied (webhook event ids, Slack event ids)."""

    __tablename__ = "processed_deliveries"
    __table_args__ = (UniqueConstraint("source", "delivery_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    delivery_id: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime]


class InboundEvent(Base):
    """A platform webhook event as it was received: stored and acknowledged at once, applied
    to the client's episode right after by the inbound applier (`applied_at` says when).

    `delivery_id` is unique, so a redelivery is recognised on receipt; the effect itself is
    still claimed in `processed_deliveries` in the applying transaction, so an event applied
    but not yet marked (a crash in between) is never applied twice.
    """

    __tablename__ = "inbound_events"
    __table_args__ = (
        UniqueConstraint("delivery_id"),
        # What the applier reads: only the events still waiting, however many were applied.
        Index(
            "ix_inbound_events_pending",
            "id",
            sqlite_where=text("applied_at IS NULL"),
            postgresql_where=text("applied_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16))  # generic | healthie
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    #: The event's fields (type, dates, provider and cancellation ids): nothing clinical.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON())
    received_at: Mapped[datetime]
    applied_at: Mapped[datetime | None]
    #: applied | duplicate | unknown_client | given_up (what the applier did with it)
    outcome: Mapped[str | None] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: After a failed attempt: not tried again before then (the client's later events wait).
    retry_at: Mapped[datetime | None]


class AuditEntry(Base):
    """Append-only: every change, who made it and from where."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_client_id_id", "client_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(48))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    episode_id: Mapped[int | None] = mapped_column(ForeignKey("episodes.id"))
    details: Mapped[dict[str, Any]] = mapped_column(JSON(), default=dict)


class RuntimeMark(Base):
    """Small named facts about the running system (e.g. the last successful tick)."""

    __tablename__ = "runtime_marks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime]
    detail: Mapped[str | None] = mapped_column(Text())


class HeadsUpRecord(Base):
    """One early heads-up: which stretch, the pattern (numbers only), what the clinician did.

    `reason` is the clinician's own words for *Expected*: it stays in the database, never in
    a channel, App Home or a log.
    """

    __tablename__ = "headsups"
    __table_args__ = (
        UniqueConstraint("episode_id", "stretch"),
        Index("ix_headsups_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"))
    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinicians.id"), index=True)
    stretch: Mapped[str] = mapped_column(String(40))
    pattern: Mapped[dict[str, Any]] = mapped_column(JSON(), default=dict)
    line: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="open")
    #: Encrypted at rest when DATA_ENCRYPTION_KEY is set.
    reason: Mapped[str | None] = mapped_column(EncryptedText())
    outbox_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(64))

"""Shared episode mechanics: every capability service records through these.

Each use case is one unit of work: it reads the client's episode, asks the pure policy
whether the change is legal and what follows, writes the event, the cached schedule columns,
any messages now due (to the outbox, with idempotency keys) and an audit entry, all in one
transaction. Services never see a Slack payload and never read the wall clock themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.domain.calendar import WorkingHours
from bot.domain.errors import NotAllowed, UnknownClient
from bot.domain.model import (
    Cancellation,
    ChecklistStep,
    Classification,
    Closure,
    EpisodeHistory,
    Event,
    EventKind,
    OpenReason,
    Policy,
    Recipient,
    State,
    StepKind,
)
from bot.domain.policy import INERT_KINDS, SUCCESSOR, Assessment, DueStep, assess, is_return
from bot.services.headsup_rules import outcomes_of_events, rules_from
from bot.services.headsup_rules import schedule as schedule_headsup
from bot.services.readmodels import OutboxKind
from bot.services.types import SCHEDULER, Actor, Outcome, Source
from bot.settings import Settings
from smart_phrases import PhraseLibrary
from storage.models import AdminNote, Client, Clinician, Episode, EventRecord, OutboxMessage
from storage.repository import Repository, UnitOfWork

log = logging.getLogger(__name__)

#: The events the policy reads: a history is loaded without the inert ones (admin notes).
POLICY_KINDS = tuple(k.value for k in EventKind if k not in INERT_KINDS)


def policy_from(settings: Settings) -> Policy:
    return Policy(
        silence_days=settings.silence_days,
        consecutive_missed=settings.consecutive_missed,
        checkins=settings.checkins,
        outreach_interval_days=settings.outreach_interval_days,
        no_reply_weeks=settings.no_reply_weeks,
        reply_window_days=settings.reply_window_days,
        nudge_after_days=settings.nudge_after_days,
        max_nudges=settings.max_nudges,
        escalate_after_days=settings.escalate_after_days,
    )


def check_access(actor: Actor, chart_id: str, *, found: bool, owner: str | None) -> None:
    """Refuse unless `actor` may act on the client `chart_id` (`found`: it exists; `owner`:
    its clinician's Slack id). A stranger gets one refusal whether the chart id exists or
    not: no oracle for strangers."""
    allowed = found and actor.may_act_for(owner)
    if actor.source is Source.SLACK and not actor.is_cct and not allowed:
        raise NotAllowed(not_yours(chart_id))
    if not found:
        raise UnknownClient(chart_id)
    if not allowed:
        raise NotAllowed(not_yours(chart_id))


def not_yours(chart_id: str) -> str:
    """The refusal for a chart id that is not on the asker's caseload (or does not exist)."""
    return (
        f"No client {chart_id} is on your caseload. "
        f"Only {chart_id}'s clinician or the Care Coordination Team can do that."
    )


@dataclass(frozen=True)
class QueuedMessage:
    key: str
    kind: str
    recipient_kind: str
    recipient: str | None
    deliver_after: datetime
    chart_id: str | None


#: What `advance` changes on an episode: its cached state and schedule.
SCHEDULE_COLUMNS = (
    "state",
    "trigger",
    "closure",
    "checkins_sent",
    "outreach_started_at",
    "next_step",
    "next_due_at",
    "updated_at",
    "headsup_due_at",
    "last_contact_at",
)


@dataclass
class _Prompt:
    message: OutboxMessage
    queued: QueuedMessage


@dataclass
class Writes:
    """What one or more `advance` calls decided to write, written together by `flush`: the
    outbox rows in one INSERT ... ON CONFLICT DO NOTHING, the PROMPTED events in one insert
    and the episodes' schedule columns in one update, in the caller's transaction. A pass
    over 200 due episodes is then a handful of statements instead of three per episode.

    Nothing written here is read back before `flush` (the policy is pure; the history is
    extended in memory), so deferring changes only how many statements carry it.
    """

    prompts: list[_Prompt] = field(default_factory=list)
    events: list[EventRecord] = field(default_factory=list)
    episodes: dict[int, Episode] = field(default_factory=dict)

    def flush(self, repo: Repository) -> list[QueuedMessage]:
        """Write everything collected; returns the messages whose outbox row is new (a key
        already in the outbox, from an earlier pass or another worker, is not queued again)."""
        # The schedule first: any other pending change is then flushed, in order, before the
        # inserts (an event's id is its place in the history).
        repo.write_episode_columns(list(self.episodes.values()), SCHEDULE_COLUMNS)
        written = repo.add_outbox_many([p.message for p in self.prompts])
        queued = [p.queued for p in self.prompts if p.queued.key in written]
        for prompt in self.prompts:
            if prompt.queued.key in written and prompt.queued.recipient is None:
                log.warning(
                    "outbox %s has no recipient: CCT_CHANNEL_ID is not set", prompt.queued.key
                )
        repo.add_events(self.events)
        self.prompts.clear()
        self.events.clear()
        self.episodes.clear()
        return queued


def step_label(step: DueStep | None) -> str | None:
    if step is None:
        return None
    if step.number is not None:
        return f"{step.kind.value} {step.number}"
    return step.kind.value


class StoredEvent(Protocol):
    """What `to_event` reads of a stored event: an `EventRecord`, or a plain row of its
    columns (the caseload's and App Home's reads)."""

    @property
    def kind(self) -> str: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def recorded_at(self) -> datetime: ...
    @property
    def session_at(self) -> datetime | None: ...
    @property
    def data(self) -> dict[str, Any]: ...


def to_event(record: StoredEvent) -> Event:
    data = record.data or {}
    return Event(
        kind=EventKind(record.kind),
        at=record.occurred_at,
        session_at=record.session_at,
        number=data.get("number"),
        step=ChecklistStep(data["step"]) if data.get("step") else None,
        answer=data.get("answer"),
        classification=Classification(data["classification"])
        if data.get("classification")
        else None,
        until=datetime.fromisoformat(data["until"]) if data.get("until") else None,
        prompt=data.get("prompt"),
        label=data.get("label"),
        known_at=record.recorded_at,
        provider=data.get("provider"),
        cancellation=Cancellation(data["cancellation"]) if data.get("cancellation") else None,
        moved_to=datetime.fromisoformat(data["moved_to"]) if data.get("moved_to") else None,
    )


def _event_data(event: Event) -> dict[str, Any]:
    data: dict[str, Any] = {
        "number": event.number,
        "step": event.step.value if event.step else None,
        "answer": event.answer,
        "classification": event.classification.value if event.classification else None,
        "until": event.until.isoformat() if event.until else None,
        "prompt": event.prompt,
        "label": event.label,
        "provider": event.provider,
        "cancellation": event.cancellation.value if event.cancellation else None,
        "moved_to": event.moved_to.isoformat() if event.moved_to else None,
    }
    return {k: v for k, v in data.items() if v is not None}


class Episodes:
    """The episode mechanics every capability uses: authorise, assess, apply, queue, store.

    One instance per unit of work, clock and settings; the capability services hold it.
    """

    def __init__(
        self, uow: UnitOfWork, clock: Clock, settings: Settings, phrases: PhraseLibrary
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.settings = settings
        self.phrases = phrases
        self.policy = policy_from(settings)

    def zone_of(self, clinician: Clinician) -> str:
        return clinician.timezone or self.settings.practice_timezone

    def hours_for(self, clinician: Clinician) -> WorkingHours:
        return WorkingHours(
            zone=ZoneInfo(clinician.timezone or self.settings.practice_timezone),
            start=clinician.work_start or self.settings.work_start,
            end=clinician.work_end or self.settings.work_end,
            workdays=frozenset(self.settings.workdays),
            holidays=frozenset(self.settings.holidays),
        )

    def client(
        self, repo: Repository, chart_id: str, actor: Actor, *, lock: bool = True
    ) -> Client:
        """The client `actor` may act on (locked for a change unless `lock` is False)."""
        wanted = chart_id.strip()
        client = None if "\x00" in wanted else repo.client_by_chart_id(wanted, lock=lock)
        owner = client.clinician.slack_user_id if client is not None else None
        check_access(actor, wanted, found=client is not None, owner=owner)
        assert client is not None
        return client

    def history(
        self,
        repo: Repository,
        episode: Episode,
        records: Sequence[EventRecord] | None = None,
    ) -> EpisodeHistory:
        """The policy's view of an episode (`records`: its events, when already loaded)."""
        if records is None:
            records = repo.events_of(episode.id, kinds=POLICY_KINDS)
        return history_of(
            episode, episode.client.clinician_id, records, notes=repo.note_dates(episode.id)
        )

    def assess(
        self, repo: Repository, client: Client, episode: Episode, now: datetime
    ) -> Assessment:
        return assess(
            self.history(repo, episode), self.policy, self.hours_for(client.clinician), now
        )

    def caseload_pages(
        self,
        repo: Repository,
        *,
        clinician_id: int | None,
        page: int = 500,
        settled_at: datetime | None = None,
    ) -> Iterator[tuple[Client, Episode, Sequence[EventRecord] | None]]:
        """Every client (of one clinician, or all) with its current episode and the events
        the policy reads: two queries per `page` clients, not two or three per client.

        With `settled_at`, an episode whose stored state is active and whose next step is
        not due by then comes without its events (None): nothing can have moved it since
        it was last stored (the scheduler relies on the same schedule)."""
        after: str | None = None
        while True:
            rows = repo.clients_with_current_episode(
                clinician_id=clinician_id, after_chart=after, limit=page
            )
            if not rows:
                return
            episodes = {c.id: e or self.episode(repo, c) for c, e in rows}
            settled = {
                e.id
                for e in episodes.values()
                if settled_at is not None and _settled(e, settled_at)
            }
            wanted = [e.id for e in episodes.values() if e.id not in settled]
            records = repo.events_of_episodes(wanted, kinds=POLICY_KINDS)
            repo.note_dates_of(wanted)  # read ahead: `history` finds them there
            for client, _ in rows:
                episode = episodes[client.id]
                yield client, episode, records.get(episode.id)
            if len(rows) < page:
                return
            after = rows[-1][0].chart_id

    def episode(self, repo: Repository, client: Client) -> Episode:
        episode = repo.current_episode(client.id)
        if episode is None:  # every imported client has one; be safe for hand-made rows
            episode = self.open(repo, client, OpenReason.IMPORTED, self.clock.now(), None, ())
        return episode

    def open(
        self,
        repo: Repository,
        client: Client,
        reason: OpenReason,
        at: datetime,
        baseline: datetime | None,
        bookings: Iterable[datetime],
        *,
        last_session: datetime | None = None,
        handed_over_from: int | None = None,
    ) -> Episode:
        episode = Episode(
            client_id=client.id,
            opened_at=at,
            opened_reason=reason.value,
            baseline_contact_at=baseline,
            baseline_session_at=last_session,
            handed_over_from=handed_over_from,
            booked_sessions=[b.isoformat() for b in bookings],
            state=State.ACTIVE.value,
            checkins_sent=0,
            updated_at=at,
        )
        repo.add(episode)
        repo.flush()
        repo.add(
            EventRecord(
                client_id=client.id,
                episode_id=episode.id,
                kind=EventKind.EPISODE_OPENED.value,
                occurred_at=at,
                recorded_at=at,
                actor="system",
                source="system",
                data={"label": reason.value},
            )
        )
        repo.flush()
        return episode

    @staticmethod
    def add_note(
        repo: Repository,
        client: Client,
        episode: Episode,
        *,
        kind: str,
        author: str,
        body: str,
        now: datetime,
        fields: dict[str, Any] | None = None,
    ) -> AdminNote:
        """The one place a note is written (and where encryption at rest will wrap the body)."""
        note = AdminNote(
            client_id=client.id,
            episode_id=episode.id,
            kind=kind,
            author=author,
            body=body,
            fields=fields,
            created_at=now,
        )
        repo.add(note)
        repo.flush()
        if kind == "manual":
            repo.wrote_note(episode.id, note.id)
        return note

    def write_event(
        self, repo: Repository, client: Client, episode: Episode, event: Event, actor: Actor
    ) -> EventRecord:
        record = _event_record(client, episode, event, actor)
        repo.add(record)
        repo.flush()
        return record

    def practice_hours(self) -> WorkingHours:
        """The practice's own working hours: when the CCT channel is written to."""
        return WorkingHours(
            zone=ZoneInfo(self.settings.practice_timezone),
            start=self.settings.work_start,
            end=self.settings.work_end,
            workdays=frozenset(self.settings.workdays),
            holidays=frozenset(self.settings.holidays),
        )

    def recipient(self, client: Client, step: DueStep) -> tuple[str, str | None]:
        if step.recipient is Recipient.CCT:
            return Recipient.CCT.value, self.settings.cct_channel_id
        return Recipient.CLINICIAN.value, client.clinician.slack_user_id

    def advance(
        self,
        repo: Repository,
        client: Client,
        episode: Episode,
        now: datetime,
        records: Sequence[EventRecord] | None = None,
        *,
        history: EpisodeHistory | None = None,
        writes: Writes | None = None,
    ) -> tuple[Assessment, list[QueuedMessage]]:
        """Queue every step due at `now`, then store the state and the next due time.

        The history is read once (or handed over by a caller that holds it); the prompts
        recorded here are added to it in memory, which is all the re-assessment needs (the
        policy is pure). With `writes`, what is decided is collected there and written by the
        caller's `writes.flush` (which says what was queued; the list returned here is then
        empty); without, it is written before returning.
        """
        own = writes is None
        collected = Writes() if writes is None else writes
        if history is None:
            history = self.history(repo, episode, records)
        hours = self.hours_for(client.clinician)
        assessment = assess(history, self.policy, hours, now)
        for _ in range(4):  # each round records its prompts, so the next finds fewer due
            if not assessment.due:
                break
            prompted = []
            for step in assessment.due:
                prompted.append(self.queue(client, episode, step, now, collected))
            history = replace(history, events=(*history.events, *prompted))
            assessment = assess(history, self.policy, hours, now)
        self.store(episode, assessment, now)
        schedule_headsup(
            episode,
            outcomes_of_events(history.events),
            assessment.state,
            rules_from(self.settings),
            now,
        )
        collected.episodes[episode.id] = episode
        return assessment, collected.flush(repo) if own else []

    def queue(
        self, client: Client, episode: Episode, step: DueStep, now: datetime, writes: Writes
    ) -> Event:
        """Collect `step`'s outbox row (keyed per episode and step, so it is written once
        however often it is found due) and its PROMPTED event into `writes`; returns the event."""
        kind, recipient = self.recipient(client, step)
        key = f"ep{episode.id}:{step.idempotency_suffix}"
        # Every delivery waits for its reader's working hours, also a step found overdue
        # late (after an import or downtime): the clinician's own, the practice's for CCT.
        hours = (
            self.hours_for(client.clinician)
            if step.recipient is Recipient.CLINICIAN
            else self.practice_hours()
        )
        deliver_after = hours.next_open(max(step.due_at, now))
        message = OutboxMessage(
            idempotency_key=key,
            episode_id=episode.id,
            kind=step.kind.value,
            recipient_kind=kind,
            recipient=recipient,
            payload={
                "chart_id": client.chart_id,
                "episode_id": episode.id,
                "step": step.key,
                "number": step.number,
                "attempt": step.attempt,
                "due_at": step.due_at.isoformat(),
                **(
                    {"origin_due_at": step.origin_due_at.isoformat()}
                    if step.origin_due_at
                    else {}
                ),
                **({"final": True} if step.final else {}),
            },
            status="pending",
            deliver_after=deliver_after,
            attempts=0,
            created_at=now,
        )
        queued = QueuedMessage(
            key, step.kind.value, kind, recipient, deliver_after, client.chart_id
        )
        writes.prompts.append(_Prompt(message, queued))
        event = Event(EventKind.PROMPTED, now, prompt=step.key, number=step.number, known_at=now)
        writes.events.append(_event_record(client, episode, event, SCHEDULER))
        return event

    def store(self, episode: Episode, assessment: Assessment, now: datetime) -> None:
        """Cache the state and the schedule: `next_due_at` is what the tick's index reads."""
        for column, value in stored_columns(assessment, now).items():
            setattr(episode, column, value)

    def apply(
        self,
        repo: Repository,
        client: Client,
        event: Event,
        actor: Actor,
        *,
        action: str,
        details: dict[str, Any] | None = None,
        episode: Episode | None = None,
    ) -> Outcome:
        """Record one event through the policy (which may refuse it) and follow it through
        (`episode`: the client's current one, when the caller has just read it)."""
        now = self.clock.now()
        event = replace(event, known_at=now)
        episode = episode or self.episode(repo, client)
        hours = self.hours_for(client.clinician)
        # The history is read once per change: what is written below is added in memory.
        history = self.history(repo, episode)
        current = assess(history, self.policy, hours, now)
        reopened = False
        if is_return(current.state, current.closure, event.kind, event):
            if current.state is not State.CLOSED:
                self.close(episode, Closure.RETURNED, now)
            episode = self.open(
                repo, client, OpenReason.RETURNED, now, current.last_contact_at, current.bookings,
                last_session=current.last_session_at,
            )
            history = self.history(repo, episode)
            reopened = True
        with_event = replace(history, events=(*history.events, event))
        # Ask first: an illegal move raises here, before anything is written.
        after = assess(with_event, self.policy, hours, now)
        following: EpisodeHistory | None = with_event
        self.write_event(repo, client, episode, event, actor)
        queued: list[QueuedMessage] = []
        successor = SUCCESSOR.get(after.closure) if after.closure else None
        if after.state is State.CLOSED and successor is not None:
            self.store(episode, after, now)
            self.close(episode, after.closure, now)
            episode = self.open(
                repo, client, successor, now, after.last_contact_at, after.bookings,
                last_session=after.last_session_at,
                handed_over_from=client.clinician_id
                if successor is OpenReason.HANDED_OVER
                else None,
            )
            following = None  # a new episode: its (one-event) history is read afresh
        result, queued = self.advance(repo, client, episode, now, history=following)
        if result.state is State.CLOSED and episode.closed_at is None:
            self.close(episode, result.closure, now)
        keys = [q.key for q in queued]
        if reopened or successor is not None or _progress(current) != _progress(result):
            # Whatever caused it (a click, a webhook, the CLI), prompts already in Slack
            # about this client are re-rendered: buttons that no longer apply go away.
            keys += self.refresh_live(repo, client, now)
        repo.audit(
            at=now,
            actor=actor.id,
            action=action,
            client_id=client.id,
            episode_id=episode.id,
            details={"source": actor.source.value, "state": result.state.value, **(details or {})},
        )
        return Outcome(client.chart_id, result, tuple(keys), reopened=reopened)

    @staticmethod
    def close(episode: Episode, closure: Closure | None, now: datetime) -> None:
        episode.state = State.CLOSED.value
        episode.closure = closure.value if closure else None
        episode.closed_at = now
        episode.next_due_at = None
        episode.next_step = None

    def apply_now(self, chart_id: str, kind: EventKind, actor: Actor, action: str) -> Outcome:
        """Record a `kind` event for the client at the current time, in its own unit of work."""
        with self.uow() as repo:
            client = self.client(repo, chart_id, actor)
            return self.apply(repo, client, Event(kind, self.clock.now()), actor, action=action)

    def refresh_live(
        self, repo: Repository, client: Client, now: datetime, *, skip: set[int] | None = None
    ) -> list[str]:
        """Queue an in-place update of every live prompt about this client in Slack (its
        last two episodes), so what it shows follows the record. Returns the keys queued."""
        keys: list[str] = []
        for episode in repo.episodes_of(client.id)[-2:]:
            for row in repo.outbox_of_episode(episode.id):
                if (
                    row.id not in (skip or set())
                    and row.status == "sent"
                    and row.ts
                    and row.kind in LIVE_KINDS
                    and not (row.payload or {}).get("retired")
                    and not (
                        row.kind == StepKind.CHECKLIST.value
                        and int((row.payload or {}).get("attempt") or 0) > 0
                    )
                ):
                    key = self.queue_update(repo, row, now)
                    if key is not None:
                        keys.append(key)
        return keys

    def queue_update(self, repo: Repository, row: OutboxMessage, now: datetime) -> str | None:
        """An in-place update of `row`'s message; None when one is already waiting (it
        renders the record as it is when sent, so one pending refresh is enough)."""
        prefix = f"upd:{row.id}:"
        if repo.pending_with_prefix(prefix):
            return None
        key = f"{prefix}{repo.count_outbox(key_prefix=prefix)}"
        repo.add_outbox(
            OutboxMessage(
                idempotency_key=key,
                episode_id=row.episode_id,
                kind=OutboxKind.MESSAGE_UPDATE.value,
                recipient_kind=row.recipient_kind,
                recipient=row.recipient,
                payload={"target": row.id},
                status="pending",
                deliver_after=now,
                attempts=0,
                created_at=now,
            )
        )
        return key


class StoredEpisode(Protocol):
    """What `history_of` reads of a stored episode: an `Episode`, or a plain row (an outer
    join's row may say None where an episode never does)."""

    @property
    def opened_at(self) -> datetime | None: ...
    @property
    def opened_reason(self) -> str | None: ...
    @property
    def baseline_contact_at(self) -> datetime | None: ...
    @property
    def baseline_session_at(self) -> datetime | None: ...
    @property
    def handed_over_from(self) -> int | None: ...
    @property
    def booked_sessions(self) -> list[str] | None: ...


def history_of(
    episode: StoredEpisode,
    clinician_id: int,
    records: Iterable[StoredEvent],
    *,
    notes: Iterable[tuple[int, datetime]] = (),
) -> EpisodeHistory:
    """The policy's view of a stored episode of a client now with `clinician_id` (`notes`:
    its manual admin notes as (id, when written), read apart from the events)."""
    if episode.opened_at is None or episode.opened_reason is None:
        raise ValueError("not a stored episode: it has no opening")
    return EpisodeHistory(
        opened_at=episode.opened_at,
        baseline_contact_at=episode.baseline_contact_at,
        opened_reason=OpenReason(episode.opened_reason),
        events=tuple(to_event(r) for r in records),
        booked_sessions=tuple(datetime.fromisoformat(b) for b in episode.booked_sessions or ()),
        baseline_session_at=episode.baseline_session_at,
        awaiting_assignment=episode.handed_over_from is not None
        and episode.handed_over_from == clinician_id,
        notes=tuple(notes),  # a tuple already (a store's cache) is not copied
    )


def stored_columns(assessment: Assessment, now: datetime) -> dict[str, Any]:
    """The episode columns that cache an assessment (what `Episodes.store` writes, and what
    the batched import inserts): the state, the schedule the tick's index reads, and the
    last contact, so a settled episode's caseload row needs no re-assessment."""
    upcoming = assessment.due[0] if assessment.due else assessment.next
    if assessment.state is State.CLOSED:
        upcoming = None
    return {
        "state": assessment.state.value,
        "trigger": assessment.trigger.value if assessment.trigger else None,
        "closure": assessment.closure.value if assessment.closure else None,
        "checkins_sent": assessment.checkins_sent,
        "outreach_started_at": assessment.outreach_started_at,
        "next_step": step_label(upcoming),
        "next_due_at": upcoming.due_at if upcoming else None,
        "last_contact_at": assessment.last_contact_at,
        "updated_at": now,
    }


def _event_record(client: Client, episode: Episode, event: Event, actor: Actor) -> EventRecord:
    return EventRecord(
        client_id=client.id,
        episode_id=episode.id,
        kind=event.kind.value,
        occurred_at=event.at,
        recorded_at=event.learned_at,
        actor=actor.id,
        source=actor.source.value,
        session_at=event.session_at,
        data=_event_data(event),
    )


def _settled(episode: Episode, now: datetime) -> bool:
    """Active, open, and nothing due by `now`: its stored state is its state at `now`."""
    return (
        episode.state == State.ACTIVE.value
        and episode.closed_at is None
        and episode.next_due_at is not None
        and episode.next_due_at > now
    )


def _progress(a: Assessment) -> tuple[object, ...]:
    """What a prompt in Slack shows about an episode; a change means a refresh."""
    return (a.state, a.closure, a.checkins_sent, a.checklist.done_count)


#: Prompts that offer buttons while they apply; they are refreshed in place as the record moves.
LIVE_KINDS = frozenset(
    {
        StepKind.CHECKIN.value,
        StepKind.CLASSIFY_REPLY.value,
        StepKind.CHECKLIST.value,
        StepKind.CCT_ARCHIVE.value,
        StepKind.CCT_CARE_TEAM_REMOVAL.value,
        StepKind.CCT_REMATCH.value,
        StepKind.CCT_ESCALATION.value,
    }
)

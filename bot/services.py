"""Use cases: every entry point (CLI, Slack, platform webhooks, scheduler) calls these.

Each public method is one unit of work: it reads the client's episode, asks the pure policy
whether the change is legal and what follows, writes the event, the cached schedule columns,
any messages now due (to the outbox, with idempotency keys) and an audit entry — all in one
transaction. Services never see a Slack payload and never read the wall clock themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.caseload import CaseloadRow as CaseloadInput
from bot.caseload import ImportReport
from bot.clock import Clock, ensure_utc
from bot.domain.calendar import WorkingHours
from bot.domain.checklist import check_can_complete
from bot.domain.errors import DomainError, NotAllowed, UnknownClient
from bot.domain.model import (
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
from bot.readmodels import (
    OutboxKind,
)
from bot.service_types import (
    SCHEDULER,
    Actor,
    Outcome,
    Source,
    checkin_phrase,
    saved_or_refused,
)
from bot.settings import Settings
from bot.surface_reads import SurfaceReads
from bot.wording import render_context
from smart_phrases import PhraseLibrary, RenderContext, SummaryContext
from storage.models import AdminNote, Client, Clinician, Episode, EventRecord, OutboxMessage
from storage.repository import Repository, UnitOfWork

log = logging.getLogger(__name__)

__all__ = [  # the shared words are re-exported: callers import them from here
    "SCHEDULER",
    "Actor",
    "CareService",
    "Outcome",
    "Source",
    "checkin_phrase",
]

TICK_BATCH = 200
#: The events the policy reads: a history is loaded without the inert ones (admin notes).
POLICY_KINDS = tuple(k.value for k in EventKind if k not in INERT_KINDS)


class PlatformPort(Protocol):
    """What the bot asks of a clinical platform that can act (Healthie's client fits it).

    Every call is made only after the clinician pressed the button that asks for it.
    """

    def send_chat_message(
        self, client_id: str, clinician_platform_id: str | None, text: str
    ) -> str: ...

    def move_to_group(self, client_id: str, group_name: str) -> str: ...

    def other_providers(self, client_id: str, clinician_platform_id: str) -> list[str]: ...


RISK_LEVELS = ("none", "low", "moderate", "high")
SUMMARY_REASON = "Unplanned Discontinuation / Client Inactivity"


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


class SummaryInvalid(DomainError):
    """The summary form has problems; `problems` maps each field to what to fix."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__(" ".join(problems.values()))


@dataclass(frozen=True)
class SummaryPrefill:
    chart_id: str
    reason: str
    last_session_date: date | None
    efforts: tuple[tuple[date, str], ...]
    state: State


def _check_number(asked: int | None, next_number: int) -> None:
    if asked is None or asked == next_number:
        return
    if asked < next_number:
        raise DomainError(f"Check-in {asked} is already documented.")
    raise DomainError(f"Check-in {asked} isn't due yet; check-in {next_number} comes first.")


@dataclass(frozen=True)
class QueuedMessage:
    key: str
    kind: str
    recipient_kind: str
    recipient: str | None
    deliver_after: datetime
    chart_id: str | None


@dataclass
class TickResult:
    now: datetime
    episodes: int = 0
    queued: list[QueuedMessage] = field(default_factory=list)


@dataclass(frozen=True)
class CaseloadRow:
    chart_id: str
    clinician: str
    state: State
    next_step: str | None
    due_at: datetime | None
    last_contact_at: datetime | None
    checkins_sent: int


@dataclass(frozen=True)
class EpisodeView:
    episode_id: int
    opened_at: datetime
    opened_reason: str
    closed_at: datetime | None
    assessment: Assessment
    events: tuple[EventRecord, ...]


@dataclass(frozen=True)
class Timeline:
    chart_id: str
    clinician: str
    timezone: str
    episodes: tuple[EpisodeView, ...]


def step_label(step: DueStep | None) -> str | None:
    if step is None:
        return None
    if step.number is not None:
        return f"{step.kind.value} {step.number}"
    return step.kind.value


def to_event(record: EventRecord) -> Event:
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
    }
    return {k: v for k, v in data.items() if v is not None}


class CoreService:
    """The application's use cases over a unit of work, a clock and the settings."""

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        settings: Settings,
        phrases: PhraseLibrary,
        *,
        platform: PlatformPort | None = None,
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.settings = settings
        self.phrases = phrases
        self.platform = platform
        self.policy = policy_from(settings)

    # -- helpers ---------------------------------------------------------------------------
    def hours_for(self, clinician: Clinician) -> WorkingHours:
        return WorkingHours(
            zone=ZoneInfo(clinician.timezone or self.settings.practice_timezone),
            start=clinician.work_start or self.settings.work_start,
            end=clinician.work_end or self.settings.work_end,
            workdays=frozenset(self.settings.workdays),
            holidays=frozenset(self.settings.holidays),
        )

    def _client(self, repo: Repository, chart_id: str, actor: Actor) -> Client:
        client = repo.client_by_chart_id(chart_id.strip(), lock=True)
        if client is None:
            raise UnknownClient(chart_id.strip())
        if not actor.may_act_on(client):
            raise NotAllowed(
                f"Only {chart_id}'s clinician or the Care Coordination Team can do that."
            )
        return client

    def _history(
        self,
        repo: Repository,
        episode: Episode,
        records: Sequence[EventRecord] | None = None,
    ) -> EpisodeHistory:
        """The policy's view of an episode (`records`: its events, when already loaded)."""
        if records is None:
            records = repo.events_of(episode.id, kinds=POLICY_KINDS)
        return EpisodeHistory(
            opened_at=episode.opened_at,
            baseline_contact_at=episode.baseline_contact_at,
            opened_reason=OpenReason(episode.opened_reason),
            events=tuple(to_event(r) for r in records),
            booked_sessions=tuple(datetime.fromisoformat(b) for b in episode.booked_sessions or ()),
        )

    def _assess(
        self, repo: Repository, client: Client, episode: Episode, now: datetime
    ) -> Assessment:
        return assess(
            self._history(repo, episode), self.policy, self.hours_for(client.clinician), now
        )

    def _caseload_pages(
        self, repo: Repository, *, clinician_id: int | None, page: int = 500
    ) -> Iterator[tuple[Client, Episode, Sequence[EventRecord]]]:
        """Every client (of one clinician, or all) with its current episode and the events
        the policy reads: two queries per `page` clients, not two or three per client."""
        after: str | None = None
        while True:
            rows = repo.clients_with_current_episode(
                clinician_id=clinician_id, after_chart=after, limit=page
            )
            if not rows:
                return
            episodes = {c.id: e or self._episode(repo, c) for c, e in rows}
            records = repo.events_of_episodes(
                [e.id for e in episodes.values()], kinds=POLICY_KINDS
            )
            for client, _ in rows:
                episode = episodes[client.id]
                yield client, episode, records[episode.id]
            if len(rows) < page:
                return
            after = rows[-1][0].chart_id

    def _episode(self, repo: Repository, client: Client) -> Episode:
        episode = repo.current_episode(client.id)
        if episode is None:  # every imported client has one; be safe for hand-made rows
            episode = self._open(repo, client, OpenReason.IMPORTED, self.clock.now(), None, ())
        return episode

    def _open(
        self,
        repo: Repository,
        client: Client,
        reason: OpenReason,
        at: datetime,
        baseline: datetime | None,
        bookings: Iterable[datetime],
    ) -> Episode:
        episode = Episode(
            client_id=client.id,
            opened_at=at,
            opened_reason=reason.value,
            baseline_contact_at=baseline,
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
    def _add_note(
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
        return note

    def _write_event(
        self, repo: Repository, client: Client, episode: Episode, event: Event, actor: Actor
    ) -> EventRecord:
        record = EventRecord(
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
        repo.add(record)
        repo.flush()
        return record

    def _recipient(self, client: Client, step: DueStep) -> tuple[str, str | None]:
        if step.recipient is Recipient.CCT:
            return Recipient.CCT.value, self.settings.cct_channel_id
        return Recipient.CLINICIAN.value, client.clinician.slack_user_id

    def _advance(
        self,
        repo: Repository,
        client: Client,
        episode: Episode,
        now: datetime,
        records: Sequence[EventRecord] | None = None,
        *,
        history: EpisodeHistory | None = None,
    ) -> tuple[Assessment, list[QueuedMessage]]:
        """Queue every step due at `now`, then store the state and the next due time.

        The history is read once (or handed over by a caller that holds it); the prompts
        recorded here are added to it in memory, which is all the re-assessment needs (the
        policy is pure).
        """
        queued: list[QueuedMessage] = []
        if history is None:
            history = self._history(repo, episode, records)
        hours = self.hours_for(client.clinician)
        assessment = assess(history, self.policy, hours, now)
        for _ in range(4):  # each round records its prompts, so the next finds fewer due
            if not assessment.due:
                break
            prompted = []
            for step in assessment.due:
                queued.extend(self._queue(repo, client, episode, step, now))
                prompted.append(
                    Event(
                        EventKind.PROMPTED, now, prompt=step.key, number=step.number, known_at=now
                    )
                )
            history = replace(history, events=(*history.events, *prompted))
            assessment = assess(history, self.policy, hours, now)
        self._store(episode, assessment, now)
        return assessment, queued

    def _queue(
        self, repo: Repository, client: Client, episode: Episode, step: DueStep, now: datetime
    ) -> list[QueuedMessage]:
        kind, recipient = self._recipient(client, step)
        key = f"ep{episode.id}:{step.idempotency_suffix}"
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
            },
            status="pending",
            deliver_after=max(step.due_at, now) if step.recipient is Recipient.CLINICIAN else now,
            attempts=0,
            created_at=now,
        )
        written = repo.add_outbox(message)
        self._write_event(
            repo,
            client,
            episode,
            Event(EventKind.PROMPTED, now, prompt=step.key, number=step.number, known_at=now),
            SCHEDULER,
        )
        if not written:
            return []
        if recipient is None:
            log.warning("outbox %s has no recipient: CCT_CHANNEL_ID is not set", key)
        return [
            QueuedMessage(
                key, step.kind.value, kind, recipient, message.deliver_after, client.chart_id
            )
        ]

    def _store(self, episode: Episode, assessment: Assessment, now: datetime) -> None:
        """Cache the state and the schedule: `next_due_at` is what the tick's index reads."""
        episode.state = assessment.state.value
        episode.trigger = assessment.trigger.value if assessment.trigger else None
        episode.closure = assessment.closure.value if assessment.closure else None
        episode.checkins_sent = assessment.checkins_sent
        upcoming = assessment.due[0] if assessment.due else assessment.next
        if assessment.state is State.CLOSED:
            upcoming = None
        episode.next_step = step_label(upcoming)
        episode.next_due_at = upcoming.due_at if upcoming else None
        episode.updated_at = now

    def _apply(
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
        episode = episode or self._episode(repo, client)
        hours = self.hours_for(client.clinician)
        # The history is read once per change: what is written below is added in memory.
        history = self._history(repo, episode)
        current = assess(history, self.policy, hours, now)
        reopened = False
        if is_return(current.state, current.closure, event.kind):
            if current.state is not State.CLOSED:
                self._close(episode, Closure.RETURNED, now)
            episode = self._open(
                repo, client, OpenReason.RETURNED, now, current.last_contact_at, current.bookings
            )
            history = self._history(repo, episode)
            reopened = True
        with_event = replace(history, events=(*history.events, event))
        # Ask first: an illegal move raises here, before anything is written.
        after = assess(with_event, self.policy, hours, now)
        following: EpisodeHistory | None = with_event
        self._write_event(repo, client, episode, event, actor)
        queued: list[QueuedMessage] = []
        successor = SUCCESSOR.get(after.closure) if after.closure else None
        if after.state is State.CLOSED and successor is not None:
            self._store(episode, after, now)
            self._close(episode, after.closure, now)
            episode = self._open(
                repo, client, successor, now, after.last_contact_at, after.bookings
            )
            following = None  # a new episode: its (one-event) history is read afresh
        result, queued = self._advance(repo, client, episode, now, history=following)
        if result.state is State.CLOSED and episode.closed_at is None:
            self._close(episode, result.closure, now)
        keys = [q.key for q in queued]
        if reopened or successor is not None or _progress(current) != _progress(result):
            # Whatever caused it (a click, a webhook, the CLI), prompts already in Slack
            # about this client are re-rendered: buttons that no longer apply go away.
            keys += self._refresh_live(repo, client, now)
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
    def _close(episode: Episode, closure: Closure | None, now: datetime) -> None:
        episode.state = State.CLOSED.value
        episode.closure = closure.value if closure else None
        episode.closed_at = now
        episode.next_due_at = None
        episode.next_step = None

    # -- use cases: what happened with the client ---------------------------------------
    def record_session(
        self,
        chart_id: str,
        outcome: EventKind,
        *,
        occurred_at: datetime,
        actor: Actor,
        session_at: datetime | None = None,
        delivery_id: str | None = None,
    ) -> Outcome:
        """A session was attended, cancelled, missed or booked (`session_at` for bookings)."""
        if outcome not in (
            EventKind.SESSION_ATTENDED,
            EventKind.SESSION_CANCELLED,
            EventKind.SESSION_NO_SHOW,
            EventKind.SESSION_SCHEDULED,
        ):
            raise ValueError(f"{outcome} is not a session outcome")
        if outcome is EventKind.SESSION_SCHEDULED and session_at is None:
            raise DomainError("A booked session needs the date it is booked for.")
        return self._record(
            chart_id,
            Event(
                outcome,
                ensure_utc(occurred_at),
                session_at=ensure_utc(session_at) if session_at else None,
            ),
            actor,
            action=outcome.value,
            delivery_id=delivery_id,
        )

    def record_client_message(
        self, chart_id: str, *, occurred_at: datetime, actor: Actor, delivery_id: str | None = None
    ) -> Outcome:
        """The client wrote. During outreach or discharge this stops it and asks the clinician."""
        return self._record(
            chart_id,
            Event(EventKind.CLIENT_MESSAGE, ensure_utc(occurred_at)),
            actor,
            action="client_message",
            delivery_id=delivery_id,
        )

    @saved_or_refused
    def _record(
        self, chart_id: str, event: Event, actor: Actor, *, action: str, delivery_id: str | None
    ) -> Outcome:
        now = self.clock.now()
        if event.at > now + timedelta(minutes=5) and event.kind is not EventKind.SESSION_SCHEDULED:
            raise DomainError("That date is in the future; only a booking can be.")
        with self.uow() as repo:
            client = self._client(repo, chart_id, actor)
            if delivery_id is not None and not repo.claim_delivery(
                source=actor.source.value, delivery_id=delivery_id, now=now
            ):
                episode = self._episode(repo, client)
                return Outcome(
                    client.chart_id, self._assess(repo, client, episode, now), duplicate=True
                )
            return self._apply(repo, client, event, actor, action=action)

    @saved_or_refused
    def claim_inbound(self, source: str, delivery_id: str) -> bool:
        """Record an inbound delivery id (e.g. a Slack event); False when seen before."""
        with self.uow() as repo:
            return repo.claim_delivery(source=source, delivery_id=delivery_id, now=self.clock.now())

    def current_state(self, chart_id: str, *, actor: Actor) -> State:
        with self.uow() as repo:
            client = self._client(repo, chart_id, actor)
            return self._assess(repo, client, self._episode(repo, client), self.clock.now()).state

    @saved_or_refused
    def acknowledge_delivery(self, chart_id: str, *, delivery_id: str, actor: Actor) -> Outcome:
        """Remember an inbound delivery that changes nothing, so its retries change nothing."""
        now = self.clock.now()
        with self.uow() as repo:
            client = self._client(repo, chart_id, actor)
            fresh = repo.claim_delivery(source=actor.source.value, delivery_id=delivery_id, now=now)
            if fresh:
                repo.audit(
                    at=now,
                    actor=actor.id,
                    action="delivery_ignored",
                    client_id=client.id,
                    details={"delivery_id": delivery_id},
                )
            episode = self._episode(repo, client)
            assessment = self._assess(repo, client, episode, now)
            return Outcome(client.chart_id, assessment, duplicate=not fresh)

    # -- use cases: what the clinician does -----------------------------------------------
    @saved_or_refused
    def log_note(self, chart_id: str, text: str, *, actor: Actor) -> Outcome:
        """An admin note for the chart log (its text never goes to a channel)."""
        body = text.strip()
        if not body:
            raise DomainError("The note is empty; write what you want recorded.")
        if len(body) > 4000:
            raise DomainError("That note is longer than 4,000 characters; shorten it.")
        with self.uow() as repo:
            client = self._client(repo, chart_id, actor)
            now = self.clock.now()
            episode = self._episode(repo, client)
            note = self._add_note(
                repo, client, episode, kind="manual", author=actor.id, body=body, now=now
            )
            outcome = self._apply(
                repo,
                client,
                Event(EventKind.ADMIN_NOTE, now, label=f"note {note.id}"),
                actor,
                action="note",
                details={"note_id": note.id},
                episode=episode,
            )
            return replace(outcome, note_id=note.id)

    def start_outreach(self, chart_id: str, *, actor: Actor) -> Outcome:
        return self._simple(chart_id, EventKind.OUTREACH_STARTED, actor, "outreach_started")

    def pause_outreach(self, chart_id: str, *, actor: Actor) -> Outcome:
        return self._simple(chart_id, EventKind.OUTREACH_PAUSED, actor, "outreach_paused")

    def resume_outreach(self, chart_id: str, *, actor: Actor) -> Outcome:
        return self._simple(chart_id, EventKind.OUTREACH_RESUMED, actor, "outreach_resumed")

    def open_discharge(self, chart_id: str, *, actor: Actor) -> Outcome:
        return self._simple(chart_id, EventKind.DISCHARGE_OPENED, actor, "discharge_opened")

    def cct_done(self, chart_id: str, *, actor: Actor) -> Outcome:
        return self._simple(chart_id, EventKind.CCT_DONE, actor, "cct_done")

    @saved_or_refused
    def _simple(self, chart_id: str, kind: EventKind, actor: Actor, action: str) -> Outcome:
        with self.uow() as repo:
            client = self._client(repo, chart_id, actor)
            return self._apply(repo, client, Event(kind, self.clock.now()), actor, action=action)

    @saved_or_refused
    def snooze_checkin(self, chart_id: str, *, days: int, actor: Actor) -> Outcome:
        if days not in self.settings.snooze_days:
            choices = ", ".join(str(d) for d in self.settings.snooze_days)
            raise DomainError(f"Snooze for {choices} days.")
        with self.uow() as repo:
            client = self._client(repo, chart_id, actor)
            now = self.clock.now()
            until = now + timedelta(days=days)
            return self._apply(
                repo,
                client,
                Event(EventKind.SNOOZED, now, until=until),
                actor,
                action="snoozed",
                details={"days": days},
            )

    @saved_or_refused
    def mark_checkin_sent(
        self, chart_id: str, *, actor: Actor, via: str = "clinician", number: int | None = None
    ) -> Outcome:
        """Document the next check-in as sent; the admin note is written automatically.

        `number` is the check-in the clinician's button was about: pressing it twice (or
        after someone else documented it) is refused instead of documenting the next one.
        """
        with self.uow() as repo:
            client = self._client(repo, chart_id, actor)
            now = self.clock.now()
            episode = self._episode(repo, client)
            next_number = self._assess(repo, client, episode, now).checkins_sent + 1
            _check_number(number, next_number)
            number = next_number
            outcome = self._apply(
                repo,
                client,
                Event(EventKind.CHECKIN_SENT, now, number=number),
                actor,
                action="checkin_sent",
                details={"number": number, "via": via},
            )
            hours = self.hours_for(client.clinician)
            context = render_context(
                self.settings,
                self.policy,
                hours,
                client,
                outcome.assessment,
                recipient=Recipient.CLINICIAN,
                number=number,
                today=now,
            )
            note = self._add_note(
                repo,
                client,
                episode,
                kind="checkin",
                author=actor.id,
                now=now,
                body=self.phrases.render("checkin_admin_note", context, channel="plain"),
                fields={"number": number, "via": via},
            )
            return replace(outcome, note_id=note.id)

    @saved_or_refused
    def classify_reply(self, chart_id: str, choice: Classification, *, actor: Actor) -> Outcome:
        with self.uow() as repo:
            client = self._client(repo, chart_id, actor)
            return self._apply(
                repo,
                client,
                Event(EventKind.CLASSIFIED, self.clock.now(), classification=choice),
                actor,
                action="classified",
                details={"classification": choice.value},
            )

    @saved_or_refused
    def complete_step(
        self,
        chart_id: str,
        step: ChecklistStep,
        *,
        actor: Actor,
        answer: str | None = None,
        by_platform: bool = False,
        delivery_id: str | None = None,
    ) -> Outcome:
        """Tick a checklist step in order (the platform may report the group move any time)."""
        if step is ChecklistStep.OTHER_PROVIDERS and answer not in ("yes", "no"):
            raise DomainError("Answer yes or no: is the client still seeing other providers?")
        with self.uow() as repo:
            client = self._client(repo, chart_id, actor)
            now = self.clock.now()
            if delivery_id is not None and not repo.claim_delivery(
                source=actor.source.value, delivery_id=delivery_id, now=now
            ):
                episode = self._episode(repo, client)
                return Outcome(
                    client.chart_id, self._assess(repo, client, episode, now), duplicate=True
                )
            episode = self._episode(repo, client)
            current = self._assess(repo, client, episode, now)
            if current.state is State.INACTIVE:
                check_can_complete(current.checklist, step, by_platform=by_platform)
            return self._apply(
                repo,
                client,
                Event(EventKind.STEP_COMPLETED, now, step=step, answer=answer),
                actor,
                action="step_completed",
                details={"step": step.value, "answer": answer},
            )

    # -- the discharge summary ----------------------------------------------------------------
    def summary_prefill(self, chart_id: str, *, actor: Actor) -> SummaryPrefill:
        """What the summary modal starts with: the reason, last session, efforts with dates."""
        now = self.clock.now()
        with self.uow() as repo:
            client = self._client(repo, chart_id, actor)
            a = self._assess(repo, client, self._episode(repo, client), now)
            hours = self.hours_for(client.clinician)
            last_session = a.last_session_at or a.last_contact_at
            return SummaryPrefill(
                chart_id=client.chart_id,
                reason=SUMMARY_REASON,
                last_session_date=hours.local_date(last_session) if last_session else None,
                efforts=tuple(
                    (hours.local_date(at), f"Outreach check-in {n} of {self.policy.checkins} sent")
                    for n, at in enumerate(a.checkin_dates, start=1)
                ),
                state=a.state,
            )

    @saved_or_refused
    def save_discharge_summary(
        self,
        chart_id: str,
        *,
        treatment_focus: str,
        goals_progress: str,
        risk_level: str,
        considerations: str = "",
        actor: Actor,
    ) -> Outcome:
        """Store the summary note, tick its checklist step and hand the rendered note back.

        Raises SummaryInvalid (with one message per field) before anything is written.
        """
        problems: dict[str, str] = {}
        if not treatment_focus.strip():
            problems["treatment_focus"] = "Describe the treatment focus."
        if not goals_progress.strip():
            problems["goals_progress"] = "Describe the goals and progress to last contact."
        if risk_level not in RISK_LEVELS:
            problems["risk_level"] = "Choose the risk level at last contact."
        for name, value in (
            ("treatment_focus", treatment_focus),
            ("goals_progress", goals_progress),
            ("considerations", considerations),
        ):
            if len(value) > 3000:
                problems[name] = "Keep this under 3,000 characters."
        if problems:
            raise SummaryInvalid(problems)
        fields = {
            "treatment_focus": treatment_focus.strip(),
            "goals_progress": goals_progress.strip(),
            "risk_level": risk_level,
            "considerations": considerations.strip(),
        }
        with self.uow() as repo:
            client = self._client(repo, chart_id, actor)
            now = self.clock.now()
            episode = self._episode(repo, client)
            current = self._assess(repo, client, episode, now)
            if current.state is not State.INACTIVE:
                raise DomainError("The discharge checklist isn't open for this client.")
            check_can_complete(current.checklist, ChecklistStep.SUMMARY_NOTE, by_platform=False)
            hours = self.hours_for(client.clinician)
            context = replace(
                render_context(
                    self.settings,
                    self.policy,
                    hours,
                    client,
                    current,
                    recipient=Recipient.CLINICIAN,
                    reason=SUMMARY_REASON,
                    today=now,
                ),
                summary=SummaryContext(
                    treatment_focus=fields["treatment_focus"],
                    goals_progress=fields["goals_progress"],
                    risk_level=risk_level.capitalize(),
                    considerations=fields["considerations"],
                ),
            )
            body = self.phrases.render("discharge_summary", context, channel="plain")
            note = self._add_note(
                repo,
                client,
                episode,
                kind="discharge_summary",
                author=actor.id,
                body=body,
                now=now,
                fields=fields,
            )
            outcome = self._apply(
                repo,
                client,
                Event(EventKind.STEP_COMPLETED, now, step=ChecklistStep.SUMMARY_NOTE),
                actor,
                action="step_completed",
                details={"step": ChecklistStep.SUMMARY_NOTE.value, "note_id": note.id},
            )
            return replace(outcome, note_id=note.id, text=body)

    # -- the platform, on the clinician's word ---------------------------------------------------
    def _require_platform(self) -> PlatformPort:
        if self.platform is None:
            raise DomainError("No clinical platform that can do this is connected.")
        return self.platform

    def checkin_text_for_chat(
        self, chart_id: str, *, actor: Actor, number: int | None = None
    ) -> tuple[int, str]:
        """The due check-in rendered for the client's chat (with their first name)."""
        now = self.clock.now()
        with self.uow() as repo:
            client = self._client(repo, chart_id, actor)
            a = self._assess(repo, client, self._episode(repo, client), now)
            if a.state not in (State.OUTREACH, State.PAUSED):
                raise DomainError("No check-in is due for this client.")
            _check_number(number, a.checkins_sent + 1)
            number = a.checkins_sent + 1
            context = render_context(
                self.settings,
                self.policy,
                self.hours_for(client.clinician),
                client,
                a,
                recipient=Recipient.CLINICIAN,
                for_client_chat=True,
                number=number,
                today=now,
            )
            name = checkin_phrase(number, self.policy.checkins)
            return number, self.phrases.render(name, context, channel="chat")

    def send_checkin_via_platform(
        self, chart_id: str, *, actor: Actor, number: int | None = None
    ) -> Outcome:
        """*Send for me*: post the due check-in into the client's chat, then document it.

        The send is claimed first (one key per episode and check-in), so a double click or a
        retried request cannot post twice; a refused send releases the claim and says why.
        """
        platform = self._require_platform()
        number, text = self.checkin_text_for_chat(chart_id, actor=actor, number=number)
        now = self.clock.now()
        with self.uow() as repo:
            client = self._client(repo, chart_id, actor)
            episode = self._episode(repo, client)
            key = f"ep{episode.id}:checkin-{number}"
            if not repo.claim_delivery(source="platform-send", delivery_id=key, now=now):
                raise DomainError(f"Check-in {number} is already being sent.")
            platform_id = client.platform_user_id or client.chart_id
            clinician_platform_id = client.clinician.platform_user_id
        try:
            platform.send_chat_message(platform_id, clinician_platform_id, text)
        except Exception as exc:
            with self.uow() as repo:
                repo.release_delivery(source="platform-send", delivery_id=key)
            log.warning(
                "platform refused check-in %s for %s: %s", number, chart_id, exc.__class__.__name__
            )
            raise DomainError(
                "The platform didn't take the message, so nothing was sent. Try again, or send "
                "it yourself and press Mark as sent."
            ) from exc
        return self.mark_checkin_sent(chart_id, actor=actor, via="platform", number=number)

    def move_to_discharged_group(self, chart_id: str, *, actor: Actor) -> Outcome:
        """Checklist step 5 through the platform: move the client, then tick the step."""
        platform = self._require_platform()
        now = self.clock.now()
        with self.uow() as repo:
            client = self._client(repo, chart_id, actor)
            current = self._assess(repo, client, self._episode(repo, client), now)
            if current.state is not State.INACTIVE:
                raise DomainError("The discharge checklist isn't open for this client.")
            check_can_complete(current.checklist, ChecklistStep.MOVED_TO_GROUP, by_platform=False)
            platform_id = client.platform_user_id or client.chart_id
        try:
            platform.move_to_group(platform_id, self.settings.discharged_group_name)
        except Exception as exc:
            log.warning(
                "platform refused the group move for %s: %s", chart_id, exc.__class__.__name__
            )
            raise DomainError(
                f"The platform didn't move the client to {self.settings.discharged_group_name}: "
                f"{exc}. Move them there yourself, then confirm the step."
            ) from exc
        return self.complete_step(chart_id, ChecklistStep.MOVED_TO_GROUP, actor=actor)

    def other_providers(self, chart_id: str, *, actor: Actor) -> list[str] | None:
        """The client's other providers per the platform, or None when no platform can tell."""
        if self.platform is None:
            return None
        with self.uow() as repo:
            client = self._client(repo, chart_id, actor)
            platform_id = client.platform_user_id or client.chart_id
            clinician_platform_id = client.clinician.platform_user_id or ""
        try:
            return self.platform.other_providers(platform_id, clinician_platform_id)
        except Exception as exc:
            log.warning(
                "platform could not list the care team for %s: %s", chart_id, exc.__class__.__name__
            )
            return None

    # -- the caseload --------------------------------------------------------------------------
    def import_caseload(self, rows: Sequence[CaseloadInput], *, actor: Actor) -> ImportReport:
        """Write parsed rows in one transaction; the same file twice changes nothing.

        New clients get an episode whose schedule is planned at once (nothing is queued:
        saying things is the tick's job). For known clients a reassignment, a changed first
        name, a later last contact or a new booking is applied; anything else is left alone.
        """
        created = updated = unchanged = new_clinicians = 0
        now = self.clock.now()
        with self.uow() as repo:
            for row in rows:
                clinician = repo.clinician_by_slack_id(row.clinician_slack_id)
                if clinician is None:
                    clinician = Clinician(
                        slack_user_id=row.clinician_slack_id,
                        timezone=row.clinician_timezone,
                        timezone_source="caseload" if row.clinician_timezone else None,
                        created_at=now,
                    )
                    repo.add(clinician)
                    repo.flush()
                    new_clinicians += 1
                elif row.clinician_timezone and clinician.timezone != row.clinician_timezone:
                    clinician.timezone = row.clinician_timezone
                    clinician.timezone_source = "caseload"
                client = repo.client_by_chart_id(row.client_id)
                if client is None:
                    self._import_new(repo, row, clinician, now, actor)
                    created += 1
                elif self._import_update(repo, client, row, clinician, now, actor):
                    updated += 1
                else:
                    unchanged += 1
        return ImportReport(created, updated, unchanged, new_clinicians)

    def _import_new(
        self,
        repo: Repository,
        row: CaseloadInput,
        clinician: Clinician,
        now: datetime,
        actor: Actor,
    ) -> None:
        client = Client(
            chart_id=row.client_id,
            clinician_id=clinician.id,
            first_name=row.first_name,
            platform_user_id=row.client_id,
            created_at=now,
            updated_at=now,
        )
        client.clinician = clinician
        repo.add(client)
        repo.flush()
        bookings = (
            [row.next_session_at] if row.next_session_at and row.next_session_at > now else []
        )
        episode = self._open(repo, client, OpenReason.IMPORTED, now, row.last_contact_at, bookings)
        self._store(episode, self._assess(repo, client, episode, now), now)
        repo.audit(
            at=now,
            actor=actor.id,
            action="client_imported",
            client_id=client.id,
            episode_id=episode.id,
            details={"line": row.line, "source": actor.source.value},
        )

    def _import_update(
        self,
        repo: Repository,
        client: Client,
        row: CaseloadInput,
        clinician: Clinician,
        now: datetime,
        actor: Actor,
    ) -> bool:
        changes: dict[str, str] = {}
        if client.clinician_id != clinician.id:
            changes["clinician"] = clinician.slack_user_id
            client.clinician_id = clinician.id
            client.clinician = clinician
        if row.first_name != client.first_name:
            changes["first_name"] = "changed"  # the name itself stays out of the audit trail
            client.first_name = row.first_name
        episode = self._episode(repo, client)
        if episode.state == State.ACTIVE.value:
            known = episode.baseline_contact_at
            if known is None or row.last_contact_at > known:
                episode.baseline_contact_at = row.last_contact_at
                changes["last_contact_at"] = row.last_contact_at.isoformat()
            booking = row.next_session_at
            if (
                booking
                and booking > now
                and booking.isoformat() not in (episode.booked_sessions or [])
            ):
                episode.booked_sessions = [*(episode.booked_sessions or []), booking.isoformat()]
                changes["next_session_at"] = booking.isoformat()
        if not changes:
            return False
        client.updated_at = now
        self._store(episode, self._assess(repo, client, episode, now), now)
        repo.audit(
            at=now,
            actor=actor.id,
            action="client_updated",
            client_id=client.id,
            episode_id=episode.id,
            details={"line": row.line, **changes},
        )
        return True

    # -- the scheduler ------------------------------------------------------------------------
    def tick(
        self, now: datetime | None = None, *, stop: Callable[[], bool] | None = None
    ) -> TickResult:
        """One scheduler pass: queue what is due at `now` for every due episode, in batches.

        Cost follows the work due (an indexed `next_due_at` query), not the caseload. Each
        batch is one transaction whose episodes are row-locked (skipped by other workers on
        PostgreSQL); `stop` is asked between batches, so a shutdown never cuts one in half.
        """
        at = ensure_utc(now) if now else self.clock.now()
        result = TickResult(now=at)
        seen: set[int] = set()
        while stop is None or not stop():
            with self.uow() as repo:
                batch = [e for e in repo.due_episodes(now=at, limit=TICK_BATCH) if e.id not in seen]
                records = repo.events_of_episodes(  # one query a batch
                    [e.id for e in batch], kinds=POLICY_KINDS
                )
                for episode in batch:
                    seen.add(episode.id)
                    _, queued = self._advance(
                        repo, episode.client, episode, at, records.get(episode.id, [])
                    )
                    result.queued.extend(queued)
                    result.episodes += 1
            if len(batch) < TICK_BATCH:
                break
        with self.uow() as repo:  # apart from the batches: replicas would queue on this row
            repo.mark(name="last_tick", at=at, detail=f"{len(result.queued)} queued")
        return result

    # -- reading -------------------------------------------------------------------------------
    def caseload(self, *, clinician_slack_id: str | None = None) -> list[CaseloadRow]:
        now = self.clock.now()
        rows: list[CaseloadRow] = []
        with self.uow() as repo:
            clinician_id = None
            if clinician_slack_id is not None:
                clinician = repo.clinician_by_slack_id(clinician_slack_id)
                if clinician is None:
                    return []
                clinician_id = clinician.id
            for client, episode, records in self._caseload_pages(repo, clinician_id=clinician_id):
                a = assess(
                    self._history(repo, episode, records),
                    self.policy,
                    self.hours_for(client.clinician),
                    now,
                )
                upcoming = a.due[0] if a.due else a.next
                rows.append(
                    CaseloadRow(
                        chart_id=client.chart_id,
                        clinician=client.clinician.slack_user_id,
                        state=a.state,
                        next_step=step_label(upcoming),
                        due_at=upcoming.due_at if upcoming else None,
                        last_contact_at=a.last_contact_at,
                        checkins_sent=a.checkins_sent,
                    )
                )
        return rows

    def timeline(self, chart_id: str, *, actor: Actor) -> Timeline:
        now = self.clock.now()
        with self.uow() as repo:
            client = self._client(repo, chart_id, actor)
            views = []
            for episode in repo.episodes_of(client.id):
                views.append(
                    EpisodeView(
                        episode_id=episode.id,
                        opened_at=episode.opened_at,
                        opened_reason=episode.opened_reason,
                        closed_at=episode.closed_at,
                        assessment=self._assess(repo, client, episode, now),
                        events=tuple(repo.events_of(episode.id)),
                    )
                )
            return Timeline(
                chart_id=client.chart_id,
                clinician=client.clinician.slack_user_id,
                timezone=client.clinician.timezone or self.settings.practice_timezone,
                episodes=tuple(views),
            )

    def phrase_context(self, chart_id: str, *, audience: str, actor: Actor) -> RenderContext:
        """A real client's context for `phrases render --client`.

        The first name is only included for client-audience phrases.
        """
        now = self.clock.now()
        with self.uow() as repo:
            client = self._client(repo, chart_id, actor)
            assessment = self._assess(repo, client, self._episode(repo, client), now)
            upcoming = assessment.due[0] if assessment.due else assessment.next
            return render_context(
                self.settings,
                self.policy,
                self.hours_for(client.clinician),
                client,
                assessment,
                recipient=Recipient.CCT if audience == "cct" else Recipient.CLINICIAN,
                for_client_chat=audience == "client",
                next_step=step_label(upcoming),
                due_at=upcoming.due_at if upcoming else None,
                reason=assessment.reasons[-1].split(": ", 1)[-1] if assessment.reasons else None,
                today=now,
            )

    def outbox(self, *, statuses: Sequence[str] | None = None) -> list[OutboxMessage]:
        with self.uow() as repo:
            return list(repo.outbox(statuses=statuses))

    def _refresh_live(
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
                    key = self._queue_update(repo, row, now)
                    if key is not None:
                        keys.append(key)
        return keys

    def _queue_update(self, repo: Repository, row: OutboxMessage, now: datetime) -> str | None:
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


class CareService(SurfaceReads, CoreService):
    """The application's use cases (CoreService) and what the Slack surface reads of them
    (SurfaceReads, in bot/surface_reads.py). Every entry point is handed one of these."""

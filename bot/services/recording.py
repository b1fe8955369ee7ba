"""Recording what happened with a client: sessions, messages, inbound deliveries."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from bot.clock import ensure_utc
from bot.domain.errors import DomainError
from bot.domain.model import Cancellation, Event, EventKind, State
from bot.domain.plausibility import check_event_dates
from bot.services.episodes import Episodes
from bot.services.types import Actor, Outcome, saved_or_refused


class Recording:
    """Sessions attended, cancelled, missed or booked; client messages; de-duplication."""

    def __init__(self, episodes: Episodes) -> None:
        self.episodes = episodes
        self.uow = episodes.uow
        self.clock = episodes.clock

    def record_session(
        self,
        chart_id: str,
        outcome: EventKind,
        *,
        occurred_at: datetime,
        actor: Actor,
        session_at: datetime | None = None,
        delivery_id: str | None = None,
        provider_id: str | None = None,
        cancellation: Cancellation | None = None,
        rescheduled_to: datetime | None = None,
    ) -> Outcome:
        """A session was attended, cancelled, missed or booked (`session_at` for bookings).

        `provider_id` is the platform id of the session's provider: when the clinician's own
        platform id is known and this is someone else's, the session is recorded but never
        moves this clinician's episode. `cancellation` says who ended a cancelled session
        (only the client's own cancellation is a miss); a reschedule may carry its new time
        (`rescheduled_to`), so the booking moves in one step.
        """
        if rescheduled_to is not None and cancellation is not Cancellation.RESCHEDULED:
            raise DomainError("Only a rescheduled session has a new time.")
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
                provider=provider_id or None,
                cancellation=cancellation,
                moved_to=ensure_utc(rescheduled_to) if rescheduled_to else None,
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
        booking = event.kind is EventKind.SESSION_SCHEDULED
        if event.at > now + timedelta(minutes=5) and not booking:
            raise DomainError("That date is in the future; only a booking can be.")
        # A cancelled (or rescheduled) session may be a booking still ahead.
        planned = event.kind is EventKind.SESSION_CANCELLED
        check_event_dates(
            event.at,
            now,
            session_at=event.session_at,
            booking=booking,
            planned=planned,
            moved_to=event.moved_to,
        )
        with self.uow() as repo:
            client = self.episodes.client(repo, chart_id, actor)
            if delivery_id is not None and not repo.claim_delivery(
                source=actor.source.value, delivery_id=delivery_id, now=now
            ):
                episode = self.episodes.episode(repo, client)
                return Outcome(
                    client.chart_id,
                    self.episodes.assess(repo, client, episode, now),
                    duplicate=True,
                )
            if event.provider is not None:
                # Another provider's session only when we know this clinician's own id.
                own = client.clinician.platform_user_id
                if not own or own == event.provider:
                    event = replace(event, provider=None)
            episode = self.episodes.episode(repo, client)
            check_event_dates(
                event.at,
                now,
                session_at=event.session_at,
                booking=booking,
                planned=planned,
                moved_to=event.moved_to,
                episode_start=episode.baseline_contact_at or episode.opened_at,
            )
            return self.episodes.apply(repo, client, event, actor, action=action, episode=episode)

    @saved_or_refused
    def claim_inbound(self, source: str, delivery_id: str) -> bool:
        """Record an inbound delivery id (e.g. a Slack event); False when seen before."""
        with self.uow() as repo:
            return repo.claim_delivery(source=source, delivery_id=delivery_id, now=self.clock.now())

    def current_state(self, chart_id: str, *, actor: Actor) -> State:
        with self.uow() as repo:
            client = self.episodes.client(repo, chart_id, actor)
            return self.episodes.assess(
                repo, client, self.episodes.episode(repo, client), self.clock.now()
            ).state

    @saved_or_refused
    def acknowledge_delivery(self, chart_id: str, *, delivery_id: str, actor: Actor) -> Outcome:
        """Remember an inbound delivery that changes nothing, so its retries change nothing."""
        now = self.clock.now()
        with self.uow() as repo:
            client = self.episodes.client(repo, chart_id, actor)
            fresh = repo.claim_delivery(source=actor.source.value, delivery_id=delivery_id, now=now)
            if fresh:
                repo.audit(
                    at=now,
                    actor=actor.id,
                    action="delivery_ignored",
                    client_id=client.id,
                    details={"delivery_id": delivery_id},
                )
            episode = self.episodes.episode(repo, client)
            assessment = self.episodes.assess(repo, client, episode, now)
            return Outcome(client.chart_id, assessment, duplicate=not fresh)

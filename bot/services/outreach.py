"""Outreach: the tick, check-ins (documented or sent for the clinician), snooze, pause."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from bot.clock import ensure_utc
from bot.domain.errors import DomainError
from bot.domain.model import Event, EventKind, Recipient, State
from bot.services.chart import Chart
from bot.services.episodes import POLICY_KINDS, Episodes, QueuedMessage, Writes
from bot.services.headsups import HeadsUps
from bot.services.ports import PlatformPort, require_platform
from bot.services.types import Actor, Outcome, checkin_phrase, saved_or_refused
from bot.services.wording import render_context

log = logging.getLogger(__name__)


TICK_BATCH = 200


def _check_number(asked: int | None, next_number: int) -> None:
    if asked is None or asked == next_number:
        return
    if asked < next_number:
        raise DomainError(f"Check-in {asked} is already documented.")
    raise DomainError(f"Check-in {asked} isn't due yet; check-in {next_number} comes first.")


@dataclass
class TickResult:
    now: datetime
    episodes: int = 0
    queued: list[QueuedMessage] = field(default_factory=list)


class Outreach:
    """The tick and everything about check-ins while a client is in outreach."""

    def __init__(
        self,
        episodes: Episodes,
        platform: PlatformPort | None = None,
        chart: Chart | None = None,
        *,
        headsups: HeadsUps | None = None,
    ) -> None:
        self.episodes = episodes
        self.chart = chart or Chart(episodes, platform)
        self.headsups = headsups
        self.uow = episodes.uow
        self.clock = episodes.clock
        self.settings = episodes.settings
        self.policy = episodes.policy
        self.phrases = episodes.phrases
        self.platform = platform

    def tick(
        self, now: datetime | None = None, *, stop: Callable[[], bool] | None = None
    ) -> TickResult:
        """One scheduler pass: queue what is due at `now` for every due episode, in batches.

        Cost follows the work due (an indexed `next_due_at` query), not the caseload. Each
        batch is one transaction whose episodes are row-locked (skipped by other workers on
        PostgreSQL); `stop` is asked between batches, so a shutdown never cuts one in half.
        A batch's outbox rows, events and schedule updates are written together (`Writes`):
        a fixed handful of statements per batch, however many of its episodes were due.
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
                repo.note_dates_of([e.id for e in batch])  # read ahead, for `history`
                writes = Writes()  # the batch's rows, written together before its commit
                for episode in batch:
                    seen.add(episode.id)
                    self.episodes.advance(
                        repo,
                        episode.client,
                        episode,
                        at,
                        records.get(episode.id, []),
                        writes=writes,
                    )
                    result.episodes += 1
                result.queued.extend(writes.flush(repo))
            if len(batch) < TICK_BATCH:
                break
        if self.headsups is not None:  # the early heads-up's own indexed pass
            result.queued.extend(self.headsups.queue_due(at, stop=stop))
        with self.uow() as repo:  # apart from the batches: replicas would queue on this row
            repo.mark(name="last_tick", at=at, detail=f"{len(result.queued)} queued")
        return result

    def _phrase_used(self, number: int) -> dict[str, str]:
        """Which check-in phrase (and version of its text) this check-in was written from;
        the re-engagement report counts which wording brought clients back."""
        name = checkin_phrase(number, self.policy.checkins)
        return {"phrase": name, "phrase_version": self.phrases.get(name).version}

    @saved_or_refused
    def start_outreach(self, chart_id: str, *, actor: Actor) -> Outcome:
        return self.episodes.apply_now(
            chart_id, EventKind.OUTREACH_STARTED, actor, "outreach_started"
        )

    @saved_or_refused
    def pause_outreach(
        self, chart_id: str, *, actor: Actor, until: datetime | None = None
    ) -> Outcome:
        """Pause outreach until a date (default `pause_days` from now); the clinician is
        reminded on that day, in their working hours."""
        now = self.clock.now()
        end = ensure_utc(until) if until else now + timedelta(days=self.settings.pause_days)
        if end <= now:
            raise DomainError("Pause until a date after today.")
        if end > now + timedelta(days=366):
            raise DomainError("Pause for at most a year.")
        with self.uow() as repo:
            client = self.episodes.client(repo, chart_id, actor)
            return self.episodes.apply(
                repo,
                client,
                Event(EventKind.OUTREACH_PAUSED, now, until=end),
                actor,
                action="outreach_paused",
                details={"until": end.isoformat()},
            )

    @saved_or_refused
    def resume_outreach(self, chart_id: str, *, actor: Actor) -> Outcome:
        return self.episodes.apply_now(
            chart_id, EventKind.OUTREACH_RESUMED, actor, "outreach_resumed"
        )

    @saved_or_refused
    def snooze_checkin(self, chart_id: str, *, days: int, actor: Actor) -> Outcome:
        if days not in self.settings.snooze_days:
            choices = ", ".join(str(d) for d in self.settings.snooze_days)
            raise DomainError(f"Snooze for {choices} days.")
        with self.uow() as repo:
            client = self.episodes.client(repo, chart_id, actor)
            now = self.clock.now()
            until = now + timedelta(days=days)
            return self.episodes.apply(
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
        """Document the next check-in as sent; the admin note is written automatically, and
        into the chart where the platform can (dated the day of the attempt).

        `number` is the check-in the clinician's button was about: pressing it twice (or
        after someone else documented it) is refused instead of documenting the next one.
        """
        with self.uow() as repo:
            client = self.episodes.client(repo, chart_id, actor)
            now = self.clock.now()
            episode = self.episodes.episode(repo, client)
            current = self.episodes.assess(repo, client, episode, now)
            next_number = current.next_checkin_number or current.checkins_sent + 1
            _check_number(number, next_number)
            number = next_number
            outcome = self.episodes.apply(
                repo,
                client,
                Event(EventKind.CHECKIN_SENT, now, number=number),
                actor,
                action="checkin_sent",
                details={"number": number, "via": via},
            )
            hours = self.episodes.hours_for(client.clinician)
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
            note = self.episodes.add_note(
                repo,
                client,
                episode,
                kind="checkin",
                author=actor.id,
                now=now,
                body=self.phrases.render("checkin_admin_note", context, channel="plain"),
                fields={"number": number, "via": via, **self._phrase_used(number)},
            )
            outcome = replace(outcome, note_id=note.id)
        self.chart.write_note(note.id)  # after the commit: an outage loses nothing
        return outcome

    def checkin_text_for_chat(
        self, chart_id: str, *, actor: Actor, number: int | None = None
    ) -> tuple[int, str]:
        """The due check-in rendered for the client's chat (with their first name)."""
        now = self.clock.now()
        with self.uow() as repo:
            client = self.episodes.client(repo, chart_id, actor)
            a = self.episodes.assess(repo, client, self.episodes.episode(repo, client), now)
            if a.state not in (State.OUTREACH, State.PAUSED) or a.next_checkin_number is None:
                raise DomainError("No check-in is due for this client.")
            if not self.settings.practice_name:
                raise DomainError(
                    "The practice's name isn't set, so nothing can be sent into a client's "
                    "chat yet: ask your admin to set DISCHARGE_PRACTICE_NAME."
                )
            _check_number(number, a.next_checkin_number)
            number = a.next_checkin_number
            context = render_context(
                self.settings,
                self.policy,
                self.episodes.hours_for(client.clinician),
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
        platform = require_platform(self.platform)
        number, text = self.checkin_text_for_chat(chart_id, actor=actor, number=number)
        now = self.clock.now()
        with self.uow() as repo:
            client = self.episodes.client(repo, chart_id, actor)
            episode = self.episodes.episode(repo, client)
            key = f"ep{episode.id}:checkin-{number}"
            if not repo.claim_delivery(source="platform-send", delivery_id=key, now=now):
                raise DomainError(f"Check-in {number} is already being sent.")
            platform_id = client.platform_user_id or client.chart_id
            clinician_platform_id = client.clinician.platform_user_id
        if clinician_platform_id is None:
            log.info("clinician of %s has no platform id: sending as the API account", chart_id)
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

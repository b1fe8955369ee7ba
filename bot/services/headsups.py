"""The early heads-up as use cases: queue it on the tick, and what the clinician does with
it (*Reach out now*, *Expected* with a reason, *Dismiss*).

The rules are pure (bot.domain.headsup). The schedule is the database's, like every other
prompt: `episodes.headsup_due_at` (indexed, kept by `Episodes.advance`) says when an
episode's heads-up must next be looked at; the tick claims those rows (skipping locked ones
on PostgreSQL), writes the heads-up and its outbox row (idempotency key per episode and
stretch) in one transaction, and the outbox delivers it inside the clinician's working
hours. A heads-up only ever goes to the clinician's DM (and shows on their App Home); never
to the CCT channel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from bot.domain.errors import DomainError, NotAllowed
from bot.domain.headsup import HeadsUp, evaluate
from bot.domain.model import Recipient, State
from bot.services.episodes import Episodes, QueuedMessage
from bot.services.headsup_rules import (
    HEADSUP_KIND,
    HeadsUpStatus,
    outcomes_of_records,
    rules_from,
    schedule,
    stretch_over,
)
from bot.services.readmodels import HEADSUP_REASON_MAX, HeadsUpData
from bot.services.types import SCHEDULER, Actor
from bot.services.wording import label_for, profile_url, render_context
from storage.models import Episode, HeadsUpRecord, OutboxMessage
from storage.repository import Repository

log = logging.getLogger(__name__)

BATCH = 200


class HeadsUps:
    """The heads-up capability (`services.headsups`)."""

    def __init__(self, episodes: Episodes) -> None:
        self.episodes = episodes
        self.uow = episodes.uow
        self.clock = episodes.clock
        self.settings = episodes.settings
        self.phrases = episodes.phrases

    # -- the tick -------------------------------------------------------------------------------
    def queue_due(
        self, at: datetime, *, stop: Callable[[], bool] | None = None
    ) -> list[QueuedMessage]:
        """Queue every heads-up due at `at` (the tick's second pass). Cost follows the rows
        whose indexed `headsup_due_at` has come, not the caseload; each batch is one
        transaction with its episodes claimed (skipped by other workers on PostgreSQL)."""
        queued: list[QueuedMessage] = []
        rules = rules_from(self.settings)
        seen: set[int] = set()
        while stop is None or not stop():
            with self.uow() as repo:
                batch = [e for e in repo.due_headsups(now=at, limit=BATCH) if e.id not in seen]
                records = repo.events_of_episodes([e.id for e in batch])
                for episode in batch:
                    seen.add(episode.id)
                    outcomes = outcomes_of_records(records.get(episode.id, []))
                    active = episode.state == State.ACTIVE.value
                    if stretch_over(episode, outcomes, active, at):
                        self._close_out(repo, episode, at)
                    told = (
                        frozenset({episode.headsup_stretch})
                        if episode.headsup_stretch
                        else frozenset()
                    )
                    found = evaluate(outcomes, at, rules, active=active, already=told)
                    if found is not None and repo.headsup_exists(
                        episode_id=episode.id, stretch=found.stretch
                    ):
                        episode.headsup_stretch = found.stretch  # told before: stay quiet
                    elif found is not None:
                        message = self._write(repo, episode, found, at)
                        if message is not None:
                            queued.append(
                                QueuedMessage(
                                    message.idempotency_key,
                                    HEADSUP_KIND,
                                    Recipient.CLINICIAN.value,
                                    message.recipient,
                                    message.deliver_after,
                                    episode.client.chart_id,
                                )
                            )
                    schedule(episode, outcomes, State(episode.state), rules, at)  # next look
            if len(batch) < BATCH:
                break
        return queued

    def _close_out(self, repo: Repository, episode: Episode, at: datetime) -> None:
        """A heads-up nobody answered lapses and its message loses its buttons; the next
        stretch starts untold."""
        for record in repo.headsups_of(
            episode_id=episode.id, stretch=episode.headsup_stretch or ""
        ):
            if record.status != HeadsUpStatus.OPEN:
                continue
            record.status = HeadsUpStatus.LAPSED
            record.resolved_at = at
            record.resolved_by = SCHEDULER.id
            row = repo.outbox_by_id(record.outbox_id) if record.outbox_id else None
            if row is not None:
                self._queue_update(repo, row, at)
        episode.headsup_stretch = None

    def _queue_update(self, repo: Repository, row: OutboxMessage, at: datetime) -> str | None:
        """An in-place update of a posted heads-up (the dispatcher words it as a heads-up)."""
        if row.status != "sent" or not row.ts:
            return None
        key = self.episodes.queue_update(repo, row, at)
        update = repo.outbox_by_key(key) if key else None
        if update is None:
            return None
        update.payload = {**(update.payload or {}), "headsup_target": True}
        return update.idempotency_key

    def _write(
        self, repo: Repository, episode: Episode, found: HeadsUp, at: datetime
    ) -> OutboxMessage | None:
        stretch = found.stretch
        client = episode.client
        clinician = client.clinician
        episode.headsup_stretch = stretch
        line = found.pattern.line()
        record = HeadsUpRecord(
            client_id=client.id,
            episode_id=episode.id,
            clinician_id=clinician.id,
            stretch=stretch,
            pattern={
                "missed": found.pattern.missed,
                "of": found.pattern.of,
                "usual_gap_days": found.pattern.usual_gap_days,
                "current_gap_days": found.pattern.current_gap_days,
            },
            line=line,
            status=HeadsUpStatus.OPEN,
            created_at=at,
        )
        repo.add(record)
        repo.flush()
        message = OutboxMessage(
            idempotency_key=f"ep{episode.id}:headsup:{stretch}",
            episode_id=episode.id,
            kind=HEADSUP_KIND,
            recipient_kind=Recipient.CLINICIAN.value,
            recipient=clinician.slack_user_id,
            payload={"chart_id": client.chart_id, "episode_id": episode.id, "headsup": record.id},
            status="pending",
            deliver_after=self.episodes.hours_for(clinician).next_open(at),
            attempts=0,
            created_at=at,
        )
        if not repo.add_outbox(message):
            return None
        record.outbox_id = message.id
        repo.audit(
            at=at,
            actor="scheduler",
            action="headsup_queued",
            client_id=client.id,
            episode_id=episode.id,
            details={"headsup": record.id, "pattern": line},
        )
        return message

    # -- reading ------------------------------------------------------------------------------
    def _data(self, repo: Repository, record: HeadsUpRecord) -> HeadsUpData:
        client = repo.client_by_id(record.client_id)
        assert client is not None
        episode = repo.current_episode(client.id)
        current = (
            record.status == HeadsUpStatus.OPEN
            and episode is not None
            and episode.id == record.episode_id
            and episode.state == State.ACTIVE.value
            and episode.headsup_stretch == record.stretch
            and self._stretch_on(repo, record)
        )
        now = self.clock.now()
        context = render_context(
            self.settings,
            self.episodes.policy,
            self.episodes.hours_for(client.clinician),
            client,
            self.episodes.assess(repo, client, self.episodes.episode(repo, client), now),
            recipient=Recipient.CLINICIAN,
            reason=record.line,
            today=record.created_at,
        )
        return HeadsUpData(
            id=record.id,
            outbox_id=record.outbox_id,
            chart_id=client.chart_id,
            label=label_for(self.settings, client, Recipient.CLINICIAN),
            profile_url=profile_url(self.settings, client.chart_id),
            line=record.line,
            text=self.phrases.render("headsup", context, channel="slack"),
            status=record.status,
            current=current,
            resolved_by=record.resolved_by,
            resolved_at=record.resolved_at,
            zone=client.clinician.timezone or self.settings.practice_timezone,
        )

    @staticmethod
    def _stretch_on(repo: Repository, record: HeadsUpRecord) -> bool:
        """No attended session since the heads-up was written: the stretch goes on."""
        return not repo.attended_since(episode_id=record.episode_id, since=record.created_at)

    def for_outbox(self, outbox_id: int) -> HeadsUpData | None:
        """The heads-up an outbox row says (or updates in place); None for any other row."""
        with self.uow() as repo:
            row = repo.outbox_by_id(outbox_id)
            if row is None:
                return None
            if row.kind != HEADSUP_KIND:
                target = (row.payload or {}).get("target")
                row = repo.outbox_by_id(int(target)) if target is not None else None
                if row is None or row.kind != HEADSUP_KIND:
                    return None
            record = repo.headsup_by_id(int((row.payload or {})["headsup"]))
            if record is None:
                raise DomainError("That heads-up is no longer on record.")
            return self._data(repo, record)

    def outbox_message_ref(self, outbox_id: int) -> tuple[str | None, str | None] | None:
        """Where a posted message is in Slack (channel, ts), for an in-place update."""
        with self.uow() as repo:
            row = repo.outbox_by_id(outbox_id)
            return (row.channel, row.ts) if row is not None else None

    def open_for(self, slack_user_id: str, *, limit: int = 10) -> list[HeadsUpData]:
        """The clinician's own heads-ups still waiting for an answer (for App Home)."""
        with self.uow() as repo:
            found = []
            for record in repo.open_headsups(slack_user_id=slack_user_id, limit=limit * 2):
                data = self._data(repo, record)
                if data.current:
                    found.append(data)
            return found[:limit]

    # -- what the clinician does --------------------------------------------------------------
    def _own_headsup(self, repo: Repository, headsup_id: int, actor: Actor) -> HeadsUpRecord:
        record = repo.headsup_by_id(headsup_id, lock=True)
        if record is None:
            raise DomainError("That heads-up is no longer on record.")
        client = repo.client_by_id(record.client_id)
        assert client is not None
        if not actor.may_act_on(client):
            raise NotAllowed(
                f"Only {client.chart_id}'s clinician or the Care Coordination Team can do that."
            )
        if record.status == HeadsUpStatus.LAPSED:
            raise DomainError(
                "This heads-up no longer applies (the client came to a session, or outreach "
                "has begun), so nothing changed."
            )
        if record.status != HeadsUpStatus.OPEN:
            raise DomainError("This heads-up was already answered, so nothing changed.")
        return record

    def _resolve(
        self,
        headsup_id: int,
        status: str,
        actor: Actor,
        *,
        reason: str | None = None,
    ) -> tuple[HeadsUpData, list[str]]:
        now = self.clock.now()
        with self.uow() as repo:
            record = self._own_headsup(repo, headsup_id, actor)
            record.status = status
            record.reason = reason
            record.resolved_at = now
            record.resolved_by = actor.id
            repo.flush()
            repo.audit(
                at=now,
                actor=actor.id,
                action=f"headsup_{status}",
                client_id=record.client_id,
                episode_id=record.episode_id,
                details={"headsup": record.id, "source": actor.source.value},
            )
            keys: list[str] = []
            row = repo.outbox_by_id(record.outbox_id) if record.outbox_id else None
            if row is not None:
                key = self._queue_update(repo, row, now)
                keys += [key] if key else []
            return self._data(repo, record), keys

    def reach_out(self, headsup_id: int, *, actor: Actor) -> tuple[str, list[str]]:
        """*Reach out now*: the check-in for an active client, rendered for Slack (the first
        name stays a placeholder), and the heads-up is answered."""
        data, keys = self._resolve(headsup_id, HeadsUpStatus.REACHED_OUT, actor)
        with self.uow() as repo:
            client = repo.client_by_chart_id(data.chart_id)
            assert client is not None
            episode = self.episodes.episode(repo, client)
            a = self.episodes.assess(repo, client, episode, self.clock.now())
            context = render_context(
                self.settings,
                self.episodes.policy,
                self.episodes.hours_for(client.clinician),
                client,
                a,
                recipient=Recipient.CLINICIAN,
                today=self.clock.now(),
            )
        return self.phrases.render("checkin_active", context, channel="slack"), keys

    def expected(
        self, headsup_id: int, reason: str, *, actor: Actor
    ) -> tuple[HeadsUpData, list[str]]:
        """*Expected*: the clinician's reason is kept (never shown in Slack again) and the
        heads-up is silenced for this stretch."""
        words = reason.strip()
        if not words:
            raise DomainError("Say briefly why this is expected (e.g. a planned break).")
        if len(words) > HEADSUP_REASON_MAX:
            raise DomainError(f"Keep the reason under {HEADSUP_REASON_MAX} characters.")
        return self._resolve(headsup_id, HeadsUpStatus.EXPECTED, actor, reason=words)

    def dismiss(self, headsup_id: int, *, actor: Actor) -> tuple[HeadsUpData, list[str]]:
        return self._resolve(headsup_id, HeadsUpStatus.DISMISSED, actor)

    def check(self, headsup_id: int, *, actor: Actor) -> HeadsUpData:
        """Refuse a click on someone else's heads-up, or one already answered."""
        with self.uow() as repo:
            record = self._own_headsup(repo, headsup_id, actor)
            return self._data(repo, record)

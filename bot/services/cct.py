"""The Care Coordination Team's requests: taking one, marking it done."""

from __future__ import annotations

from bot.domain.errors import DomainError, NotAllowed
from bot.domain.model import EventKind, Recipient, StepKind
from bot.services.episodes import Episodes
from bot.services.messages import Messages
from bot.services.readmodels import Resolved
from bot.services.types import Actor, Outcome, saved_or_refused
from storage.models import OutboxMessage
from storage.repository import Repository


class Cct:
    """CCT buttons: take a request, mark it done (the record moves on)."""

    def __init__(self, episodes: Episodes, messages: Messages) -> None:
        self.episodes = episodes
        self.uow = episodes.uow
        self.clock = episodes.clock
        self.messages = messages

    def _cct_row(self, repo: Repository, outbox_id: int, actor: Actor) -> OutboxMessage:
        if not actor.is_cct:
            raise NotAllowed("Only the Care Coordination Team can take or close CCT requests.")
        row = repo.outbox_by_id(outbox_id)
        if row is None or row.recipient_kind != Recipient.CCT.value:
            raise DomainError("That CCT request is no longer on record.")
        done = [r for r in (row.payload or {}).get("resolutions", []) if r["action"] == "done"]
        if done:
            raise DomainError(f"<@{done[0]['by']}> already marked this done.")
        return row

    @saved_or_refused
    def cct_take(self, outbox_id: int, *, actor: Actor) -> list[str]:
        """A CCT member takes a request: recorded and shown on the message."""
        now = self.clock.now()
        with self.uow() as repo:
            row = self._cct_row(repo, outbox_id, actor)
            taken = [
                r for r in (row.payload or {}).get("resolutions", []) if r["action"] == "taken"
            ]
            if taken and taken[-1]["by"] == actor.id:
                raise DomainError("You've already taken this one.")
            payload = dict(row.payload or {})
            entry = {"action": Resolved.TAKEN.value, "by": actor.id, "at": now.isoformat()}
            payload["resolutions"] = [*payload.get("resolutions", []), entry]
            row.payload = payload
            repo.audit(
                at=now,
                actor=actor.id,
                action="cct_taken",
                episode_id=row.episode_id,
                details={"outbox": row.idempotency_key},
            )
            key = self.episodes.queue_update(repo, row, now)
            return [key] if key else []

    def cct_complete(self, outbox_id: int, *, actor: Actor) -> tuple[Outcome | None, list[str]]:
        """*Done* on a CCT request: the record moves on (archive / removal / rematch done);
        an escalation is only acknowledged. Returns the outcome and the keys queued."""
        with self.uow() as repo:
            row = self._cct_row(repo, outbox_id, actor)
            kind = row.kind
            chart_id = str((row.payload or {}).get("chart_id"))
        outcome = None
        if kind != StepKind.CCT_ESCALATION.value:
            outcome = self.cct_done(chart_id, actor=actor)
        keys = self.messages.after_slack_action(
            chart_id, actor=actor, outbox_id=outbox_id, action=Resolved.DONE
        )
        return outcome, [*(outcome.queued if outcome else ()), *keys]

    @saved_or_refused
    def cct_done(self, chart_id: str, *, actor: Actor) -> Outcome:
        return self.episodes.apply_now(chart_id, EventKind.CCT_DONE, actor, "cct_done")

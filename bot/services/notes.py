"""Notes: admin notes, kept here and written into the chart where the platform can (their
text never goes to a channel)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import Connection

from bot.domain.errors import DomainError
from bot.domain.model import Event, EventKind
from bot.domain.plausibility import check_text
from bot.services.chart import Chart
from bot.services.episodes import Episodes, check_access
from bot.services.types import Actor, Outcome, saved_or_refused
from storage.repository import client_owner


class Notes:
    """Admin notes written by hand."""

    def __init__(self, episodes: Episodes, chart: Chart | None = None) -> None:
        self.episodes = episodes
        self.chart = chart or Chart(episodes)
        self.uow = episodes.uow
        self.clock = episodes.clock

    def check_note(self, chart_id: str, text: str, *, actor: Actor) -> NoteCheck:
        """A note about to be stored for `log_note` to add later: its text is checked now
        (the refusal `log_note` would give, nothing written); the client and `actor`'s
        permission by `NoteCheck.verify`, in the transaction that stores it."""
        return NoteCheck(chart_id.strip(), _checked(text), actor)

    @saved_or_refused
    def log_note(
        self, chart_id: str, text: str, *, actor: Actor, once: str | None = None
    ) -> Outcome:
        """An admin note for the chart log (its text never goes to a channel).

        `once` names the request: a second call with it adds nothing (a stored request
        applied again after its first applier stopped)."""
        body = _checked(text)
        with self.uow() as repo:
            client = self.episodes.client(repo, chart_id, actor)
            now = self.clock.now()
            if once is not None and not repo.claim_delivery(
                source="note", delivery_id=once, now=now
            ):
                episode = self.episodes.episode(repo, client)
                return Outcome(
                    client.chart_id,
                    self.episodes.assess(repo, client, episode, now),
                    duplicate=True,
                )
            episode = self.episodes.episode(repo, client)
            note = self.episodes.add_note(
                repo, client, episode, kind="manual", author=actor.id, body=body, now=now
            )
            outcome = self.episodes.apply(
                repo,
                client,
                Event(EventKind.ADMIN_NOTE, now, label=f"note {note.id}"),
                actor,
                action="note",
                details={"note_id": note.id},
                episode=episode,
            )
            outcome = replace(outcome, note_id=note.id)
        self.chart.write_note(note.id)  # into the chart too, where the platform can
        return outcome


@dataclass(frozen=True)
class NoteCheck:
    chart_id: str
    #: The text as it will be kept.
    text: str
    actor: Actor

    def verify(self, connection: Connection) -> None:
        """Refuse (as `log_note` would) unless the client exists and `actor` may write on
        it: one indexed read on the caller's connection, before it stores the note."""
        wanted = self.chart_id
        found, owner = (False, None) if "\x00" in wanted else client_owner(connection, wanted)
        check_access(self.actor, wanted, found=found, owner=owner)


def _checked(text: str) -> str:
    body = text.strip()
    check_text(body)
    if not body:
        raise DomainError("The note is empty; write what you want recorded.")
    if len(body) > 4000:
        raise DomainError("That note is longer than 4,000 characters; shorten it.")
    return body

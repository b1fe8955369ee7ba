"""Replies: the clinician classifies what the client wrote."""

from __future__ import annotations

from bot.domain.model import Classification, Event, EventKind
from bot.services.episodes import Episodes
from bot.services.types import Actor, Outcome, saved_or_refused


class Replies:
    """Classifying a client's reply."""

    def __init__(self, episodes: Episodes) -> None:
        self.episodes = episodes
        self.uow = episodes.uow
        self.clock = episodes.clock

    @saved_or_refused
    def classify_reply(self, chart_id: str, choice: Classification, *, actor: Actor) -> Outcome:
        with self.uow() as repo:
            client = self.episodes.client(repo, chart_id, actor)
            return self.episodes.apply(
                repo,
                client,
                Event(EventKind.CLASSIFIED, self.clock.now(), classification=choice),
                actor,
                action="classified",
                details={"classification": choice.value},
            )

"""The small shared words of the use cases: who acts, what a use case reports back."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.policy import Assessment
from storage.models import Client


class Source(StrEnum):
    SLACK = "slack"
    PLATFORM = "platform"
    CLI = "cli"
    SCHEDULER = "scheduler"
    IMPORT = "import"


@dataclass(frozen=True)
class Actor:
    """Who asks for a change. Slack users are checked against the client's assignment."""

    id: str
    source: Source
    is_cct: bool = False

    def may_act_on(self, client: Client) -> bool:
        if self.source is not Source.SLACK:
            return True  # the CLI runs as the practice admin; webhooks are signed
        return self.is_cct or client.clinician.slack_user_id == self.id


SCHEDULER = Actor("scheduler", Source.SCHEDULER)


@dataclass(frozen=True)
class Outcome:
    """What a use case did: the client's state after it and what it queued."""

    chart_id: str
    assessment: Assessment
    queued: tuple[str, ...] = ()
    duplicate: bool = False
    reopened: bool = False
    note_id: int | None = None
    text: str | None = None  # a rendered note handed back to the clinician (never to a channel)


def checkin_phrase(number: int, total: int) -> str:
    """checkin_1 opens, checkin_3 is always the last one; any in between use checkin_2."""
    if number <= 1:
        return "checkin_1"
    return "checkin_3" if number >= total else "checkin_2"

"""The small shared words of the use cases: who acts, what a use case reports back."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from bot.domain.errors import NotSaved
from bot.domain.policy import Assessment
from bot.settings import Settings
from storage.models import Client
from storage.retry import BudgetExhausted, within_budget

log = logging.getLogger(__name__)


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
        return self.may_act_for(client.clinician.slack_user_id)

    def may_act_for(self, clinician_slack_id: str | None) -> bool:
        """May act on a client of the clinician with this Slack id."""
        if self.source is not Source.SLACK:
            return True  # the CLI runs as the practice admin; webhooks are signed
        return self.is_cct or clinician_slack_id == self.id


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


class _HasSettings(Protocol):
    @property
    def settings(self) -> Settings: ...


class _Capability(Protocol):
    """A capability service: it holds the shared episode mechanics, and they the settings."""

    @property
    def episodes(self) -> _HasSettings: ...


P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S", bound=_Capability)


def saved_or_refused(
    method: Callable[Concatenate[S, P], R],
) -> Callable[Concatenate[S, P], R]:
    """A use case that writes: run again from the start when the database is briefly busy
    (locked, deadlocked, a dropped connection), within DISCHARGE_WRITE_BUDGET_SECONDS; past
    that, `NotSaved` says plainly that nothing was written (the transaction rolled back)."""

    @functools.wraps(method)
    def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return within_budget(
                lambda: method(self, *args, **kwargs),
                seconds=self.episodes.settings.write_budget_seconds,
            )
        except BudgetExhausted as exhausted:
            log.warning("%s not saved: %s", method.__name__, exhausted)
            raise NotSaved() from exhausted

    return wrapper

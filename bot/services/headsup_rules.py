"""The early heads-up's schedule column and the words it shares with the capability.

Kept apart from `headsups.py` so that `episodes.py` can keep `episodes.headsup_due_at` up to
date on every advance without importing the capability (which builds on `episodes.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from bot.domain.headsup import (
    HeadsUpRules,
    SessionOutcome,
    next_check,
    sorted_outcomes,
    stretch_key,
)
from bot.domain.model import MISSED, Event, EventKind, State
from bot.domain.policy import counts_for_clinician
from bot.settings import Settings
from storage.models import Episode, EventRecord

HEADSUP_KIND = "headsup"


class HeadsUpStatus:
    OPEN = "open"
    REACHED_OUT = "reached_out"
    EXPECTED = "expected"
    DISMISSED = "dismissed"
    LAPSED = "lapsed"  # nobody answered; the client came back or outreach began


def rules_from(settings: Settings) -> HeadsUpRules:
    return HeadsUpRules(
        enabled=settings.headsup_enabled,
        window=settings.headsup_window,
        missed=settings.headsup_missed,
        gap_factor=settings.headsup_gap_factor,
        min_gap_days=settings.headsup_min_gap_days,
        rhythm_sessions=settings.headsup_rhythm_sessions,
        rhythm_min_gaps=settings.headsup_rhythm_min_gaps,
    )


def outcomes_of_events(events: Iterable[Event]) -> list[SessionOutcome]:
    return [
        SessionOutcome(e.at, e.kind is EventKind.SESSION_ATTENDED)
        for e in events
        if (e.kind is EventKind.SESSION_ATTENDED or e.kind in MISSED) and counts_for_clinician(e)
    ]


def outcomes_of_records(records: Iterable[EventRecord]) -> list[SessionOutcome]:
    attended, missed = EventKind.SESSION_ATTENDED.value, {k.value for k in MISSED}
    return [
        SessionOutcome(r.occurred_at, r.kind == attended)
        for r in records
        if (r.kind == attended or r.kind in missed) and _the_clients(r)
    ]


def _the_clients(record: EventRecord) -> bool:
    """Sessions with other providers and cancellations that aren't the client's doing (by
    the provider, deleted, rescheduled) say nothing about this client's attendance."""
    data = record.data or {}
    return not data.get("provider") and data.get("cancellation") in (None, "client")


def stretch_over(
    episode: Episode, outcomes: Sequence[SessionOutcome], active: bool, now: datetime
) -> bool:
    """The stretch that had a heads-up is over (the client came) or outreach has begun."""
    return bool(episode.headsup_stretch) and (
        not active or stretch_key(sorted_outcomes(outcomes), now) != episode.headsup_stretch
    )


def schedule(
    episode: Episode,
    outcomes: Sequence[SessionOutcome],
    state: State,
    rules: HeadsUpRules,
    now: datetime,
) -> None:
    """Set the episode's `headsup_due_at`: when its heads-up must next be looked at.

    When the stretch that had a heads-up is over, it is due at once: the tick closes it out,
    so its buttons go away.
    """
    active = state is State.ACTIVE
    if stretch_over(episode, outcomes, active, now):
        episode.headsup_due_at = now
        return
    told = frozenset({episode.headsup_stretch}) if episode.headsup_stretch else frozenset()
    episode.headsup_due_at = next_check(outcomes, now, rules, active=active, already=told)

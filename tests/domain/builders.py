"""Small builders for the pure domain tests: local times, events, histories and one assess call."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.calendar import WorkingHours
from bot.domain.model import (
    ChecklistStep,
    Classification,
    EpisodeHistory,
    Event,
    EventKind,
    OpenReason,
    Policy,
)
from bot.domain.policy import Assessment, assess

TORONTO = ZoneInfo("America/Toronto")
VANCOUVER = ZoneInfo("America/Vancouver")
LONDON = ZoneInfo("Europe/London")
SYDNEY = ZoneInfo("Australia/Sydney")

POLICY = Policy()
HOURS = WorkingHours(zone=TORONTO)

#: 2026-03-02 is a Monday; DST starts in Toronto on 2026-03-08 and in London on 2026-03-29.
MONDAY = date(2026, 3, 2)


def local(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, zone: ZoneInfo = TORONTO
) -> datetime:
    """A wall-clock time in `zone`, as the aware UTC instant the domain works in."""
    return datetime(year, month, day, hour, minute, tzinfo=zone).astimezone(UTC)


def on(day: date, hour: int = 10, minute: int = 0, *, zone: ZoneInfo = TORONTO) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(UTC)


def days(n: float) -> timedelta:
    return timedelta(days=n)


def ev(kind: EventKind, at: datetime, **fields: object) -> Event:
    """An event the bot learned when it happened (unless `known_at` says otherwise)."""
    return Event(kind, at, **fields)  # type: ignore[arg-type]


def attended(at: datetime) -> Event:
    return Event(EventKind.SESSION_ATTENDED, at)


def cancelled(at: datetime) -> Event:
    return Event(EventKind.SESSION_CANCELLED, at)


def no_show(at: datetime) -> Event:
    return Event(EventKind.SESSION_NO_SHOW, at)


def booked(at: datetime, session_at: datetime) -> Event:
    return Event(EventKind.SESSION_SCHEDULED, at, session_at=session_at)


def message(at: datetime) -> Event:
    return Event(EventKind.CLIENT_MESSAGE, at)


def checkin(at: datetime, number: int | None = None) -> Event:
    return Event(EventKind.CHECKIN_SENT, at, number=number)


def in_chart(at: datetime, number: int) -> Event:
    """Check-in `number`'s admin note is in the chart (written there, or confirmed pasted)."""
    return Event(EventKind.NOTE_IN_CHART, at, number=number)


def classified(at: datetime, choice: Classification) -> Event:
    return Event(EventKind.CLASSIFIED, at, classification=choice)


def step(at: datetime, which: ChecklistStep, answer: str | None = None) -> Event:
    return Event(EventKind.STEP_COMPLETED, at, step=which, answer=answer)


def prompted(at: datetime, key: str) -> Event:
    return Event(EventKind.PROMPTED, at, prompt=key)


def simple(kind: EventKind, at: datetime) -> Event:
    return Event(kind, at)


def history(
    *events: Event,
    last_contact: datetime | None = None,
    opened_at: datetime | None = None,
    reason: OpenReason = OpenReason.IMPORTED,
    bookings: tuple[datetime, ...] = (),
) -> EpisodeHistory:
    """An episode opened at `opened_at` (default: the last contact) with these events."""
    contact = last_contact if last_contact is not None else on(MONDAY)
    return EpisodeHistory(
        opened_at=opened_at or contact,
        baseline_contact_at=contact,
        opened_reason=reason,
        events=events,
        booked_sessions=bookings,
    )


def extend(h: EpisodeHistory, *events: Event) -> EpisodeHistory:
    return replace(h, events=(*h.events, *events))


def at(
    h: EpisodeHistory,
    now: datetime,
    *,
    policy: Policy = POLICY,
    hours: WorkingHours = HOURS,
) -> Assessment:
    return assess(h, policy, hours, now)

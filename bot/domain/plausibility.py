"""Dates that cannot be true are refused, never applied (DESIGN, workflow rule 8).

Before 2000, more than a day ahead (a booking: more than two years ahead), or before the
episode the event would change began: each is a typo, a stale redelivery or a forgery, and
applying it could close a live episode or restart its check-ins.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.errors import DomainError

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
MAX_AHEAD = timedelta(days=1)
MAX_BOOKING_AHEAD = timedelta(days=2 * 366)
NUL_REFUSAL = (
    "That text contains a NUL character (an invisible control code, often from a "
    "copy-paste), which can't be stored; remove it and try again."
)


class ImplausibleDate(DomainError):
    """A date no real event can have; the message says which rule it breaks."""


def _day(value: datetime) -> str:
    return value.strftime("%Y-%m-%d")


def check_event_dates(
    at: datetime,
    now: datetime,
    *,
    session_at: datetime | None = None,
    booking: bool = False,
    planned: bool = False,
    moved_to: datetime | None = None,
    episode_start: datetime | None = None,
) -> None:
    """Raise ImplausibleDate unless the event's dates could be true at `now`.

    `planned`: `session_at` is a booked time (a booking, or the cancellation of one), so it
    may lie as far ahead as a booking may; `moved_to` is where a rescheduled booking went.
    """
    for value in (at, session_at, moved_to):
        if value is not None and value < EARLIEST:
            raise ImplausibleDate(f"{_day(value)} is before 2000; that cannot be right.")
    if at > now + MAX_AHEAD:
        raise ImplausibleDate(f"{_day(at)} is more than a day ahead; only a booking can be.")
    if session_at is not None:
        limit = MAX_BOOKING_AHEAD if booking or planned else MAX_AHEAD
        if session_at > now + limit:
            raise ImplausibleDate(
                f"{_day(session_at)} is too far ahead for "
                + (
                    "a booking (two years at most)."
                    if booking or planned
                    else "a session that happened."
                )
            )
    if moved_to is not None and moved_to > now + MAX_BOOKING_AHEAD:
        raise ImplausibleDate(
            f"{_day(moved_to)} is too far ahead for a booking (two years at most)."
        )
    if episode_start is not None:
        when = session_at if booking and session_at is not None else at
        if when < episode_start:
            raise ImplausibleDate(
                f"{_day(when)} is before this client's current episode began "
                f"({_day(episode_start)}), so it changes nothing; nothing was recorded."
            )


def check_text(*values: str) -> None:
    """Refuse text PostgreSQL cannot store (and Slack should never be sent)."""
    if any("\x00" in value for value in values):
        raise DomainError(NUL_REFUSAL)

"""Clocks: the only place the wall clock is read; everything else is handed a Clock."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Protocol

log = logging.getLogger(__name__)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current business instant, timezone-aware UTC."""
        ...


def ensure_utc(value: datetime) -> datetime:
    """Return `value` as aware UTC; naive datetimes are refused, not guessed."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} has no time zone")
    return value.astimezone(UTC)


class SystemClock:
    """The real wall clock. Signature windows always use this one."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to; for tests and `tick --now`."""

    def __init__(self, start: datetime) -> None:
        self._now = ensure_utc(start)

    def now(self) -> datetime:
        return self._now

    def set(self, value: datetime) -> None:
        self._now = ensure_utc(value)

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now


class OffsetClock:
    """Business time that starts at `start` and runs forward in real time.

    Selected by DISCHARGE_CLOCK_START for demos, training and rehearsals.
    """

    def __init__(self, start: datetime, *, wall: Clock | None = None) -> None:
        self._wall = wall or SystemClock()
        self._offset = ensure_utc(start) - self._wall.now()

    def now(self) -> datetime:
        return self._wall.now() + self._offset


def clock_from_start(start: datetime | None) -> Clock:
    """The business clock the settings ask for, warning loudly when it is not real time."""
    if start is None:
        return SystemClock()
    log.warning(
        "DISCHARGE_CLOCK_START is set: the business clock started at %s and is NOT the real "
        "time. Use this only for demos, training and rehearsals.",
        ensure_utc(start).isoformat(),
    )
    return OffsetClock(start)

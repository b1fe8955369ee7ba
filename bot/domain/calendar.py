"""Working-hours calendar: when a prompt may reach a clinician, in their own time zone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_MAX_DAYS_AHEAD = 400  # a year of holidays cannot hide every working day


@dataclass(frozen=True)
class WorkingHours:
    """A clinician's working window: weekdays (Monday=0), local start/end, practice holidays."""

    zone: ZoneInfo
    start: time = time(9, 0)
    end: time = time(17, 0)
    workdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("the working day must end after it starts")
        if not self.workdays:
            raise ValueError("at least one working day is needed")

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.workdays and day not in self.holidays

    def _local(self, day: date, at: time) -> datetime:
        # zoneinfo resolves a wall time in a DST gap forward and an ambiguous one to its
        # first occurrence (fold=0); converting to UTC at once keeps comparisons honest.
        return datetime.combine(day, at, tzinfo=self.zone).astimezone(UTC)

    def is_open(self, instant: datetime) -> bool:
        local = instant.astimezone(self.zone)
        if not self.is_working_day(local.date()):
            return False
        utc = instant.astimezone(UTC)
        return self._local(local.date(), self.start) <= utc < self._local(local.date(), self.end)

    def next_open(self, instant: datetime) -> datetime:
        """The first instant at or after `instant` inside working hours (UTC)."""
        utc = instant.astimezone(UTC)
        day = utc.astimezone(self.zone).date()
        for _ in range(_MAX_DAYS_AHEAD):
            if self.is_working_day(day):
                opens = self._local(day, self.start)
                closes = self._local(day, self.end)
                if utc < opens:
                    return opens
                if utc < closes:
                    return utc
            day += timedelta(days=1)
        raise ValueError("no working day within a year; check workdays and holidays")

    def add_days(self, instant: datetime, days: int) -> datetime:
        """Same wall-clock time `days` calendar days later in the clinician's zone.

        "14 days after a Monday 10:00 session" is the Monday two weeks on at 10:00 local,
        even when a DST change falls in between (14 x 24 h would be 11:00 or 09:00).
        """
        local = instant.astimezone(self.zone).replace(tzinfo=None) + timedelta(days=days)
        return local.replace(tzinfo=self.zone).astimezone(UTC)

    def local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()

"""Working hours: when a prompt may reach a clinician, in their zone, across weekends, holidays
and DST changes (2026: North America 8 March / 1 November, Europe 29 March / 25 October,
Sydney 5 April / 4 October)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.calendar import WorkingHours
from tests.domain.builders import LONDON, SYDNEY, TORONTO, VANCOUVER, local

EVERY_DAY = frozenset(range(7))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("hours", "instant", "opens"),
    [
        pytest.param(
            WorkingHours(TORONTO),
            local(2026, 3, 4, 12),
            local(2026, 3, 4, 12),
            id="inside-hours-is-now",
        ),
        pytest.param(
            WorkingHours(TORONTO),
            local(2026, 3, 4, 8),
            local(2026, 3, 4, 9),
            id="before-hours-waits-for-9",
        ),
        pytest.param(
            WorkingHours(TORONTO),
            local(2026, 3, 4, 17),
            local(2026, 3, 5, 9),
            id="at-closing-waits-for-tomorrow",
        ),
        pytest.param(
            WorkingHours(TORONTO),
            local(2026, 3, 4, 16, 59),
            local(2026, 3, 4, 16, 59),
            id="a-minute-before-closing-is-now",
        ),
        pytest.param(
            WorkingHours(TORONTO),
            local(2026, 3, 6, 18),
            local(2026, 3, 9, 9),
            id="friday-evening-to-monday-across-spring-forward",
        ),
        pytest.param(
            WorkingHours(TORONTO),
            local(2026, 3, 7, 12),
            utc(2026, 3, 9, 13),
            id="monday-after-spring-forward-opens-at-13-utc",
        ),
        pytest.param(
            WorkingHours(TORONTO),
            local(2026, 10, 30, 18),
            utc(2026, 11, 2, 14),
            id="monday-after-fall-back-opens-at-14-utc",
        ),
        pytest.param(
            WorkingHours(VANCOUVER),
            utc(2026, 3, 9, 16),
            utc(2026, 3, 9, 16),
            id="vancouver-is-open-at-9-pdt",
        ),
        pytest.param(
            WorkingHours(VANCOUVER),
            utc(2026, 3, 9, 15, 59),
            utc(2026, 3, 9, 16),
            id="vancouver-is-still-closed-at-8-59-pdt",
        ),
        pytest.param(
            WorkingHours(LONDON),
            utc(2026, 3, 27, 18),
            utc(2026, 3, 30, 8),
            id="london-monday-after-spring-forward-opens-at-8-utc",
        ),
        pytest.param(
            WorkingHours(LONDON),
            utc(2026, 10, 23, 18),
            utc(2026, 10, 26, 9),
            id="london-monday-after-fall-back-opens-at-9-utc",
        ),
        pytest.param(
            WorkingHours(SYDNEY),
            utc(2026, 4, 5, 23),
            utc(2026, 4, 5, 23),
            id="sunday-evening-utc-is-monday-9-in-sydney-after-fall-back",
        ),
        pytest.param(
            WorkingHours(SYDNEY),
            utc(2026, 10, 3, 12),
            utc(2026, 10, 4, 22),
            id="sydney-monday-after-spring-forward-opens-at-22-utc",
        ),
        pytest.param(
            WorkingHours(TORONTO, holidays=frozenset({date(2026, 3, 9)})),
            local(2026, 3, 6, 18),
            local(2026, 3, 10, 9),
            id="a-holiday-monday-is-skipped",
        ),
        pytest.param(
            WorkingHours(
                TORONTO,
                holidays=frozenset({date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 28)}),
            ),
            local(2026, 12, 23, 17),
            local(2026, 12, 29, 9),
            id="holidays-and-a-weekend-in-a-row",
        ),
        pytest.param(
            WorkingHours(TORONTO, workdays=frozenset({1, 3})),
            local(2026, 3, 4, 10),
            local(2026, 3, 5, 9),
            id="part-time-tuesday-thursday",
        ),
        pytest.param(
            WorkingHours(TORONTO),
            datetime(2026, 3, 4, 8, 30, tzinfo=TORONTO),
            local(2026, 3, 4, 9),
            id="an-aware-local-instant-is-accepted",
        ),
    ],
)
def test_next_open(hours: WorkingHours, instant: datetime, opens: datetime) -> None:
    result = hours.next_open(instant)
    assert result == opens
    assert result.tzinfo is UTC
    assert hours.is_open(result)


def test_a_working_day_starting_in_the_spring_forward_gap_opens_after_the_jump() -> None:
    # 02:30 does not exist in Toronto on 8 March 2026; it resolves forward to 03:30 EDT.
    hours = WorkingHours(TORONTO, start=time(2, 30), end=time(11), workdays=EVERY_DAY)
    opens = hours.next_open(local(2026, 3, 8, 0))
    assert opens == utc(2026, 3, 8, 7, 30)
    assert opens.astimezone(TORONTO).time() == time(3, 30)
    assert not hours.is_open(utc(2026, 3, 8, 7, 29))
    assert hours.is_open(opens)
    assert hours.next_open(local(2026, 3, 9, 0)) == local(2026, 3, 9, 2, 30)  # and back to normal


def test_london_working_day_starting_at_0130_on_the_spring_forward_day() -> None:
    hours = WorkingHours(LONDON, start=time(1, 30), end=time(10), workdays=EVERY_DAY)
    opens = hours.next_open(utc(2026, 3, 28, 23))
    assert opens == utc(2026, 3, 29, 1, 30)  # 02:30 BST: 01:30 GMT never shows on the clock
    assert hours.is_open(opens)


@pytest.mark.parametrize(
    ("zone", "day", "first_occurrence"),
    [
        pytest.param(TORONTO, date(2026, 11, 1), utc(2026, 11, 1, 5, 30), id="toronto"),
        pytest.param(LONDON, date(2026, 10, 25), utc(2026, 10, 25, 0, 30), id="london"),
    ],
)
def test_an_ambiguous_start_on_fall_back_day_opens_at_its_first_occurrence(
    zone: ZoneInfo, day: date, first_occurrence: datetime
) -> None:
    hours = WorkingHours(zone, start=time(1, 30), end=time(10), workdays=EVERY_DAY)
    start_of_day = datetime.combine(day, time(0), tzinfo=zone)
    assert hours.next_open(start_of_day) == first_occurrence
    assert not hours.is_open(first_occurrence - timedelta(minutes=1))
    # The day is an hour longer: the second 01:30 is still open.
    assert hours.is_open(first_occurrence + timedelta(hours=1))


@pytest.mark.parametrize(
    ("zone", "start", "n", "expected"),
    [
        pytest.param(
            TORONTO,
            local(2026, 3, 2, 10),
            14,
            utc(2026, 3, 16, 14),
            id="toronto-across-spring-forward",
        ),
        pytest.param(
            TORONTO,
            local(2026, 10, 26, 10),
            14,
            utc(2026, 11, 9, 15),
            id="toronto-across-fall-back",
        ),
        pytest.param(LONDON, utc(2026, 3, 23, 10), 7, utc(2026, 3, 30, 9), id="london-spring"),
        pytest.param(LONDON, utc(2026, 10, 19, 9), 7, utc(2026, 10, 26, 10), id="london-autumn"),
        pytest.param(SYDNEY, utc(2026, 3, 30, 23), 14, utc(2026, 4, 14, 0), id="sydney-autumn"),
        pytest.param(TORONTO, local(2026, 3, 16, 10), -14, utc(2026, 3, 2, 15), id="backwards"),
        pytest.param(TORONTO, local(2026, 3, 16, 10), 0, utc(2026, 3, 16, 14), id="zero-days"),
        pytest.param(
            TORONTO,
            local(2026, 3, 7, 2, 30),
            1,
            utc(2026, 3, 8, 7, 30),
            id="into-the-gap-resolves-forward",
        ),
    ],
)
def test_add_days_keeps_the_local_wall_time(
    zone: ZoneInfo, start: datetime, n: int, expected: datetime
) -> None:
    assert WorkingHours(zone).add_days(start, n) == expected


def test_add_days_is_not_24_hours_times_n_across_dst() -> None:
    hours = WorkingHours(TORONTO)
    start = local(2026, 3, 2, 10)
    assert hours.add_days(start, 14) - start == timedelta(days=14) - timedelta(hours=1)


@pytest.mark.parametrize(
    ("instant", "open_"),
    [
        pytest.param(local(2026, 3, 4, 9), True, id="opening-minute"),
        pytest.param(local(2026, 3, 4, 8, 59), False, id="before-opening"),
        pytest.param(local(2026, 3, 4, 17), False, id="closing-is-closed"),
        pytest.param(local(2026, 3, 7, 12), False, id="saturday"),
        pytest.param(local(2026, 3, 9, 12), False, id="holiday"),
    ],
)
def test_is_open(instant: datetime, open_: bool) -> None:
    hours = WorkingHours(TORONTO, holidays=frozenset({date(2026, 3, 9)}))
    assert hours.is_open(instant) is open_


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"start": time(17), "end": time(9)}, id="end-before-start"),
        pytest.param({"start": time(9), "end": time(9)}, id="empty-day"),
        pytest.param({"workdays": frozenset()}, id="no-workdays"),
    ],
)
def test_impossible_working_hours_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="working day"):
        WorkingHours(TORONTO, **kwargs)  # type: ignore[arg-type]


def test_a_year_of_holidays_is_an_error_not_a_hang() -> None:
    year = frozenset(date(2026, 1, 1) + timedelta(days=i) for i in range(420))
    with pytest.raises(ValueError, match="no working day within a year"):
        WorkingHours(TORONTO, holidays=year).next_open(local(2026, 1, 1, 12))


ZONES = [TORONTO, VANCOUVER, LONDON, SYDNEY, ZoneInfo("Asia/Kolkata"), ZoneInfo("Pacific/Chatham")]
WINDOWS = [
    (time(9), time(17)),
    (time(1, 30), time(10)),
    (time(2, 30), time(11)),
    (time(0), time(23, 59)),
    (time(8, 15), time(8, 45)),
]


@settings(max_examples=300, deadline=None)
@given(
    instant=st.datetimes(datetime(2025, 1, 1), datetime(2028, 12, 31)).map(
        lambda d: d.replace(tzinfo=UTC)
    ),
    zone=st.sampled_from(ZONES),
    window=st.sampled_from(WINDOWS),
    workdays=st.frozensets(st.integers(0, 6), min_size=1),
    holiday_offsets=st.frozensets(st.integers(-2, 12), max_size=5),
)
def test_next_open_is_the_first_open_instant(
    instant: datetime,
    zone: ZoneInfo,
    window: tuple[time, time],
    workdays: frozenset[int],
    holiday_offsets: frozenset[int],
) -> None:
    holidays = frozenset(instant.date() + timedelta(days=o) for o in holiday_offsets)
    hours = WorkingHours(zone, start=window[0], end=window[1], workdays=workdays, holidays=holidays)
    opens = hours.next_open(instant)
    assert opens >= instant
    assert hours.is_open(opens)
    local = opens.astimezone(zone)
    assert local.weekday() in workdays
    assert local.date() not in holidays
    assert hours.next_open(opens) == opens
    if hours.is_open(instant):
        assert opens == instant
    # Nothing in between is open (probed every 15 minutes and just before).
    probe = instant
    while probe < opens:
        assert not hours.is_open(probe), probe
        probe += timedelta(minutes=15)
    if opens > instant:
        assert not hours.is_open(opens - timedelta(microseconds=1))

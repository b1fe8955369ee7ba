"""The early heads-up's pure rules: examples, then properties over generated calendars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.headsup import (
    HeadsUpRules,
    SessionOutcome,
    evaluate,
    next_check,
    stretch_key,
)

RULES = HeadsUpRules()
START = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)  # a Monday


def day(n: float) -> datetime:
    return START + timedelta(days=n)


def came(n: float) -> SessionOutcome:
    return SessionOutcome(day(n), attended=True)


def missed(n: float) -> SessionOutcome:
    return SessionOutcome(day(n), attended=False)


def test_two_misses_of_the_last_four_with_a_weekly_rhythm_give_the_issue_line() -> None:
    history = [came(0), came(7), came(14), came(21), missed(28), missed(35)]
    found = evaluate(history, day(40), RULES)
    assert found is not None
    assert found.pattern.line() == "missed 2 of the last 4; usual gap 7 days, now 19"
    assert found.stretch == stretch_key(history, day(40))


def test_a_client_who_came_to_the_latest_session_gets_no_heads_up() -> None:
    history = [came(0), missed(7), missed(14), came(21)]
    assert evaluate(history, day(22), RULES) is None


def test_one_miss_in_four_is_not_a_pattern() -> None:
    history = [came(0), came(7), came(14), missed(21)]
    assert evaluate(history, day(22), RULES) is None


def test_a_doubled_gap_alone_fires_once_the_deadline_passes() -> None:
    history = [came(0), came(7), came(14), came(21)]
    assert evaluate(history, day(34.9), RULES) is None
    found = evaluate(history, day(35), RULES)
    assert found is not None
    assert found.pattern.line() == "usual gap 7 days, now 14"
    assert next_check(history, day(30), RULES) == day(35)


def test_the_gap_rule_waits_for_the_minimum_days_for_clients_who_meet_often() -> None:
    history = [came(0), came(2), came(4), came(6)]
    assert evaluate(history, day(11), RULES) is None  # doubled (4 days), not yet 10
    assert evaluate(history, day(16), RULES) is not None


def test_without_a_rhythm_the_gap_rule_stays_silent() -> None:
    history = [came(0), came(7)]  # one gap; two are needed
    assert evaluate(history, day(60), RULES) is None
    assert next_check(history, day(8), RULES) is None


def test_off_inactive_or_already_told_means_no_heads_up() -> None:
    history = [came(0), came(7), missed(14), missed(21)]
    now = day(22)
    assert evaluate(history, now, RULES) is not None
    assert evaluate(history, now, HeadsUpRules(enabled=False)) is None
    assert evaluate(history, now, RULES, active=False) is None
    key = stretch_key(history, now)
    assert evaluate(history, now, RULES, already=frozenset({key})) is None
    assert next_check(history, now, RULES, already=frozenset({key})) is None


def test_every_threshold_is_honoured() -> None:
    history = [came(0), came(7), came(14), missed(21), came(28), missed(35)]
    assert evaluate(history, day(36), RULES) is not None
    assert evaluate(history, day(36), HeadsUpRules(missed=3)) is None
    assert evaluate(history, day(36), HeadsUpRules(window=2)) is None


def test_an_attended_session_starts_a_new_stretch() -> None:
    history = [came(0), missed(7), missed(14)]
    first = stretch_key(history, day(15))
    history += [came(21), missed(28), missed(35)]
    assert stretch_key(history, day(36)) != first
    assert evaluate(history, day(36), RULES, already=frozenset({first})) is not None


# -- properties -------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    weeks=st.integers(min_value=1, max_value=30),
    jitter=st.lists(st.floats(min_value=-1, max_value=1), min_size=30, max_size=30),
    after=st.floats(min_value=0, max_value=7),
)
def test_no_heads_up_for_a_client_who_attends_every_week(
    weeks: int, jitter: list[float], after: float
) -> None:
    history = [came(7 * w + jitter[w]) for w in range(weeks)]
    now = history[-1].at + timedelta(days=after)
    assert evaluate(history, now, RULES) is None


_step = st.tuples(
    st.floats(min_value=0.5, max_value=21),  # days to the next session
    st.booleans(),  # attended?
    st.lists(st.floats(min_value=0.1, max_value=20), max_size=3),  # ticks before it
)


@settings(max_examples=150, deadline=None)
@given(steps=st.lists(_step, min_size=1, max_size=25))
def test_never_two_heads_ups_in_one_stretch(
    steps: list[tuple[float, bool, list[float]]],
) -> None:
    """Ticks at arbitrary instants between sessions, each told what was already said."""
    history: list[SessionOutcome] = []
    told: dict[str, datetime] = {}
    at = 0.0
    for gap, attended, ticks in steps:
        for offset in sorted(t for t in ticks if t < gap):
            now = day(at + offset)
            found = evaluate(history, now, RULES, already=frozenset(told))
            if found is not None:
                assert found.stretch not in told
                told[found.stretch] = now
        at += gap
        history.append(SessionOutcome(day(at), attended))
        found = evaluate(history, day(at), RULES, already=frozenset(told))
        if found is not None:
            told[found.stretch] = day(at)
    # Between any two heads-ups the client attended a session: that is what a stretch means.
    times = sorted(told.values())
    for earlier, later in pairwise(times):
        assert any(o.attended and earlier < o.at <= later for o in history)


@settings(max_examples=100, deadline=None)
@given(steps=st.lists(_step, min_size=1, max_size=20), probe=st.floats(0, 60))
def test_next_check_is_never_later_than_the_heads_up_it_schedules(
    steps: list[tuple[float, bool, list[float]]], probe: float
) -> None:
    """If nothing new happens, evaluating at next_check's instant finds the heads-up, and no
    instant before it does: the indexed column never makes the tick late or early."""
    history: list[SessionOutcome] = []
    at = 0.0
    for gap, attended, _ in steps:
        at += gap
        history.append(SessionOutcome(day(at), attended))
    now = day(at)
    due = next_check(history, now, RULES)
    if due is None:
        assert evaluate(history, now + timedelta(days=probe), RULES) is None
        return
    assert evaluate(history, due, RULES) is not None
    earlier = now + (due - now) * min(probe / 60, 0.999)
    if earlier < due:
        assert evaluate(history, earlier, RULES) is None or earlier == now

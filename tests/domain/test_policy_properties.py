"""Property tests: DESIGN's invariants over histories built the way the services build them."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.calendar import WorkingHours
from bot.domain.model import (
    ChecklistStep,
    Classification,
    EventKind,
    Policy,
    Recipient,
    State,
    StepKind,
)
from bot.domain.policy import assess
from tests.domain.simulation import Act, Move, Simulation, run

ZONES = [
    ZoneInfo(name)
    for name in (
        "America/Toronto",
        "America/Vancouver",
        "Europe/London",
        "Australia/Sydney",
        "Asia/Kolkata",
        "UTC",
    )
]
#: Start instants on and around the DST changes of the zones above, and anywhere else.
DST_EDGES = [
    datetime(2026, 3, 6, 15, tzinfo=UTC),  # the Friday before North America springs forward
    datetime(2026, 3, 27, 15, tzinfo=UTC),  # the Friday before Europe springs forward
    datetime(2026, 4, 3, 15, tzinfo=UTC),  # the Friday before Sydney falls back
    datetime(2026, 10, 2, 15, tzinfo=UTC),  # the Friday before Sydney springs forward
    datetime(2026, 10, 23, 15, tzinfo=UTC),  # the Friday before Europe falls back
    datetime(2026, 10, 30, 15, tzinfo=UTC),  # the Friday before North America falls back
]

gaps = st.one_of(
    st.integers(0, 240).map(lambda m: timedelta(minutes=m)),
    st.integers(0, 24 * 20).map(lambda h: timedelta(hours=h)),
)
moves = st.builds(
    Move,
    gap=gaps,
    act=st.sampled_from(list(Act)),
    lag=st.sampled_from([timedelta(0), timedelta(0), timedelta(hours=5), timedelta(days=3)]),
    ahead=st.integers(1, 24 * 30).map(lambda h: timedelta(hours=h)),
    classification=st.sampled_from(list(Classification)),
    checklist_step=st.sampled_from(list(ChecklistStep)),
    answer=st.sampled_from(["no", "no", "yes"]),
    snooze_days=st.sampled_from([1, 3, 7]),
    by_platform=st.booleans(),
    in_order=st.sampled_from([True, True, True, False]),
)
#: Runs that mostly do what the bot asks, so that they reach the checklist and CCT.
cooperative_moves = st.one_of(
    moves,
    st.builds(
        Move,
        gap=gaps,
        act=st.sampled_from([Act.FOLLOW, Act.WAIT_FOR_NEXT]),
        classification=st.sampled_from(list(Classification)),
        answer=st.sampled_from(["no", "no", "yes"]),
    ),
)
policies = st.one_of(
    st.just(Policy()),
    st.builds(
        Policy,
        silence_days=st.integers(1, 21),
        consecutive_missed=st.integers(1, 4),
        checkins=st.integers(1, 4),
        outreach_interval_days=st.integers(1, 21),
        no_reply_weeks=st.integers(1, 10),
        reply_window_days=st.integers(1, 21),
        nudge_after_days=st.integers(1, 5),
        max_nudges=st.integers(0, 3),
        escalate_after_days=st.integers(1, 21),
    ),
)
WINDOWS = [
    (time(9), time(17)),
    (time(8, 30), time(16, 30)),
    (time(1, 30), time(10)),  # starts inside London's spring-forward gap
    (time(2, 30), time(11)),  # starts inside North America's spring-forward gap
    (time(12), time(20, 45)),
]


@st.composite
def working_hours(draw: st.DrawFn, start: datetime) -> WorkingHours:
    opens, closes = draw(st.sampled_from(WINDOWS))
    workdays = draw(
        st.sampled_from([frozenset(range(5)), frozenset({0, 1, 2, 3}), frozenset({1, 3})])
    )
    offsets = draw(st.lists(st.integers(-3, 200), max_size=8))
    holidays = frozenset(start.date() + timedelta(days=o) for o in offsets)
    return WorkingHours(
        zone=draw(st.sampled_from(ZONES)),
        start=opens,
        end=closes,
        workdays=workdays,
        holidays=holidays,
    )


@st.composite
def simulations(draw: st.DrawFn) -> Simulation:
    start = draw(
        st.one_of(
            st.sampled_from(DST_EDGES),
            st.datetimes(datetime(2025, 1, 1), datetime(2028, 12, 31)).map(
                lambda d: d.replace(tzinfo=UTC)
            ),
        )
    )
    policy = draw(policies)
    hours = draw(working_hours(start))
    played = draw(st.lists(st.one_of(moves, *[cooperative_moves] * 3), min_size=8, max_size=40))
    silent = timedelta(hours=draw(st.integers(0, 24 * 30)))
    booking = draw(st.none() | st.integers(1, 24 * 20).map(lambda h: timedelta(hours=h)))
    return run(policy, hours, start, played, silent_for=silent, booking_in=booking)


SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(simulations())
def test_any_history_has_exactly_one_state_and_the_same_answer_twice(sim: Simulation) -> None:
    for snap in sim.snapshots:
        assert isinstance(snap.assessment.state, State)
        again = assess(snap.history, sim.policy, sim.hours, snap.now)
        assert again == snap.assessment


@SETTINGS
@given(simulations())
def test_no_clinician_prompt_is_due_outside_working_hours(sim: Simulation) -> None:
    hours = sim.hours
    for snap in sim.snapshots:
        a = snap.assessment
        for due in (*a.due, *([a.next] if a.next else [])):
            if due.recipient is not Recipient.CLINICIAN:
                continue
            local = due.due_at.astimezone(hours.zone)
            assert local.weekday() in hours.workdays, (due, local)
            assert local.date() not in hours.holidays, (due, local)
            # is_open compares instants, so a start inside a DST gap is handled too.
            assert hours.is_open(due.due_at), (due, local)


@SETTINGS
@given(simulations())
def test_never_more_checkins_than_the_policy_allows(sim: Simulation) -> None:
    limit = sim.policy.checkins
    for episode in sim.episodes:
        sent = [e for e in episode.events if e.kind is EventKind.CHECKIN_SENT]
        assert len(sent) <= limit
    for snap in sim.snapshots:
        a = snap.assessment
        assert a.checkins_sent <= limit
        for due in (*a.due, *([a.next] if a.next else [])):
            if due.kind is StepKind.CHECKIN:
                assert due.number is not None
                assert 1 <= due.number <= limit, due


@SETTINGS
@given(simulations())
def test_a_client_reply_always_stops_outreach(sim: Simulation) -> None:
    stoppable = (State.OUTREACH, State.PAUSED, State.INACTIVE)
    for accepted in sim.accepted:
        if accepted.event.kind is EventKind.CLIENT_MESSAGE and accepted.before in stoppable:
            assert accepted.after is State.REPLY_REVIEW
    for snap in sim.snapshots:
        a = snap.assessment
        if a.state is State.REPLY_REVIEW:
            upcoming = (*a.due, *([a.next] if a.next else []))
            assert all(s.kind is not StepKind.CHECKIN for s in upcoming), upcoming


@SETTINGS
@given(simulations())
def test_a_prompted_step_attempt_is_never_due_again(sim: Simulation) -> None:
    for snap in sim.snapshots:
        for due in snap.assessment.due:
            assert (due.key, due.attempt) not in snap.prompted_before, due
    # After the tick recorded its prompts, the same instant has nothing left to say.
    last = sim.episodes[-1]
    assert assess(last, sim.policy, sim.hours, sim.now).due == ()


@settings(max_examples=60, deadline=None)
@given(st.lists(cooperative_moves, min_size=10, max_size=40), st.sampled_from(ZONES))
def test_cooperative_runs_reach_the_end_of_the_workflow_without_breaking_a_rule(
    played: list[Move], zone: ZoneInfo
) -> None:
    sim = run(Policy(), WorkingHours(zone=zone), datetime(2026, 3, 2, 15, tzinfo=UTC), played)
    for snap in sim.snapshots:
        a = snap.assessment
        assert a.checkins_sent <= 3
        assert all(d.recipient is Recipient.CCT or sim.hours.is_open(d.due_at) for d in a.due)
        for due in a.due:
            assert (due.key, due.attempt) not in snap.prompted_before, (due, a.state, a.reasons)


def test_the_generator_reaches_every_state() -> None:
    """Guard against a generator that never leaves ACTIVE (the properties would be vacuous)."""
    seen: set[State] = set()

    @settings(max_examples=150, deadline=None, database=None, derandomize=True)
    @given(simulations())
    def collect(sim: Simulation) -> None:
        seen.update(s.assessment.state for s in sim.snapshots)

    collect()
    assert seen == set(State)


FEWER = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FEWER
@given(simulations())
def test_outreach_says_nothing_while_a_future_session_is_booked(sim: Simulation) -> None:
    """No check-in and no checklist reminder (a checklist the clinician opened by hand is
    still sent once: they asked for it)."""
    for snap in sim.snapshots:
        a = snap.assessment
        if a.state in (State.OUTREACH, State.INACTIVE) and a.bookings:
            held = [
                d
                for d in a.due
                if d.kind is StepKind.CHECKIN or (d.kind is StepKind.CHECKLIST and d.attempt)
            ]
            assert held == []


@FEWER
@given(simulations())
def test_a_check_in_is_never_named_out_of_turn(sim: Simulation) -> None:
    for snap in sim.snapshots:
        numbers = snap.assessment.checkin_numbers
        assert list(numbers) == sorted(set(numbers))
        assert all(1 <= n <= sim.policy.checkins for n in numbers)
        if numbers and snap.assessment.trigger is not None and sim.policy.checkins in numbers:
            assert numbers[-1] == sim.policy.checkins  # nothing after the closing check-in

"""Pure rules of issue #11: sessions that aren't the client's doing, returns and hand-overs,
pauses with an end, escalations that remember the due date, and early discharges."""

from __future__ import annotations

from dataclasses import replace

from bot.domain.model import (
    Cancellation,
    Classification,
    Event,
    EventKind,
    OpenReason,
    State,
    StepKind,
    Trigger,
)
from bot.domain.policy import checkin_title, unmet_criteria
from tests.domain.builders import (
    POLICY,
    at,
    attended,
    booked,
    checkin,
    classified,
    extend,
    history,
    local,
    message,
    no_show,
    prompted,
    simple,
)

LAST = local(2026, 3, 2, 10)


def cancelled(when, by: Cancellation, moved_to=None) -> Event:  # type: ignore[no-untyped-def]
    return Event(EventKind.SESSION_CANCELLED, when, cancellation=by, moved_to=moved_to)


def test_provider_cancellations_and_deleted_appointments_are_not_misses() -> None:
    h = history(
        no_show(local(2026, 3, 3, 10)),
        cancelled(local(2026, 3, 4, 10), Cancellation.PROVIDER),
        cancelled(local(2026, 3, 5, 10), Cancellation.DELETED),
        no_show(local(2026, 3, 6, 10)),
        last_contact=LAST,
    )
    a = at(h, local(2026, 3, 6, 11))
    assert (a.state, a.missed_run) == (State.ACTIVE, 2)
    a = at(extend(h, no_show(local(2026, 3, 9, 10))), local(2026, 3, 9, 11))
    assert (a.state, a.trigger, a.missed_run) == (State.OUTREACH, Trigger.ATTENDANCE, 3)


def test_a_reschedule_is_neither_a_miss_nor_a_contact_and_moves_the_booking() -> None:
    h = history(
        booked(local(2026, 3, 3, 9), local(2026, 3, 5, 10)),
        cancelled(local(2026, 3, 4, 9), Cancellation.RESCHEDULED, moved_to=local(2026, 3, 12, 10)),
        last_contact=LAST,
    )
    a = at(h, local(2026, 3, 4, 10))
    assert (a.missed_run, a.bookings) == (0, (local(2026, 3, 12, 10),))
    assert a.last_contact_at == local(2026, 3, 3, 9)  # the booking, not the reschedule


def test_a_session_with_another_provider_never_moves_the_episode() -> None:
    theirs = replace(attended(local(2026, 3, 18, 10)), provider="prov-2")
    h = history(checkin(local(2026, 3, 16, 10)), theirs, last_contact=LAST)
    a = at(h, local(2026, 3, 18, 11))
    assert (a.state, a.checkins_sent) == (State.OUTREACH, 1)
    assert a.other_sessions == ((local(2026, 3, 18, 10), "prov-2"),)
    assert a.last_contact_at == LAST


def test_a_return_starts_the_silence_clock_at_the_contact_that_opened_it() -> None:
    returned = history(
        message(local(2026, 6, 3, 13)),
        last_contact=LAST,  # months ago
        opened_at=local(2026, 6, 3, 13),
        reason=OpenReason.RETURNED,
    )
    a = at(returned, local(2026, 6, 3, 13))
    assert a.state is State.ACTIVE  # never a reply to classify
    assert a.next is not None
    assert (a.next.kind, a.due[0].kind) == (StepKind.CHECKIN, StepKind.RETURNED_NOTICE)
    assert a.next.due_at == local(2026, 6, 17, 13)


def test_after_a_hand_over_nothing_is_said_while_the_caseload_names_the_clinician_who_left() -> None:
    waiting = replace(
        history(opened_at=local(2026, 3, 20, 11), reason=OpenReason.HANDED_OVER),
        awaiting_assignment=True,
    )
    a = at(waiting, local(2026, 6, 1, 10))
    assert (a.state, a.due, a.next) == (State.ACTIVE, (), None)
    named = at(replace(waiting, awaiting_assignment=False), local(2026, 4, 3, 11))
    assert [d.kind for d in named.due] == [StepKind.RETURNED_NOTICE, StepKind.CHECKIN]


def test_a_pause_reminds_the_clinician_on_the_day_it_ends() -> None:
    pause = Event(EventKind.OUTREACH_PAUSED, local(2026, 3, 16, 10), until=local(2026, 3, 28))
    started = simple(EventKind.OUTREACH_STARTED, local(2026, 3, 10, 9))
    h = history(started, checkin(local(2026, 3, 10, 10)), pause, last_contact=LAST)
    a = at(h, local(2026, 3, 30, 9))  # the 28th is a Saturday: Monday morning
    assert [(d.kind, d.due_at) for d in a.due] == [(StepKind.PAUSE_ENDS, local(2026, 3, 30, 9))]
    assert a.paused_until == local(2026, 3, 28)


def test_an_escalation_carries_the_date_the_late_step_was_first_due() -> None:
    h = history(
        prompted(local(2026, 3, 16, 10), "checkin-1"),
        prompted(local(2026, 3, 19, 10), "checkin-1"),
        prompted(local(2026, 3, 23, 9), "checkin-1"),
        last_contact=LAST,
    )
    a = at(h, local(2026, 3, 30, 10))
    [escalation] = a.due
    assert escalation.kind is StepKind.CCT_ESCALATION
    assert escalation.origin_due_at == local(2026, 3, 16, 10)


def test_other_picks_outreach_up_where_it_left_off() -> None:
    h = history(
        checkin(local(2026, 3, 16, 10)),
        message(local(2026, 3, 18, 14)),
        classified(local(2026, 3, 19, 9), Classification.OTHER),
        last_contact=LAST,
    )
    a = at(h, local(2026, 3, 19, 9))
    assert a.next is not None
    assert (a.state, a.next.key, a.next.due_at) == (
        State.OUTREACH,
        "checkin-2",
        local(2026, 3, 30, 10),
    )


def test_opening_the_checklist_early_names_every_unmet_criterion() -> None:
    h = history(
        booked(local(2026, 3, 3, 9), local(2026, 3, 9, 10)),
        simple(EventKind.OUTREACH_STARTED, local(2026, 3, 3, 9, 15)),
        checkin(local(2026, 3, 3, 9, 30)),
        last_contact=LAST,
    )
    a = at(h, local(2026, 3, 3, 12))
    unmet = unmet_criteria(a, POLICY, lambda d: d.date().isoformat())
    assert unmet == (
        "only 1 of 3 check-ins documented",
        "last contact was 2026-03-03",
        "a session is booked for 2026-03-09",
    )


def test_the_closing_check_in_is_named_final_on_both_paths() -> None:
    assert [checkin_title(n, 3) for n in (1, 2, 3)] == [
        "Check-in 1 of 3",
        "Check-in 2 of 3",
        "Final check-in",
    ]
    assert [checkin_title(n, 3, attendance=True) for n in (1, 3)] == [
        "Check-in 1 of 2",
        "Final check-in",
    ]

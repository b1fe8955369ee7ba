"""Table tests: each rule of DESIGN's "workflow as rules", one row per case.

The client in most rows last had a session on Monday 2 March 2026 at 10:00 in Toronto, with
nothing booked; her clinician works 09:00-17:00 Monday to Friday in America/Toronto. North
America springs forward on Sunday 8 March, so "14 days later at 10:00" is 14:00 UTC, not 15:00.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.domain.errors import DomainError, IllegalTransition
from bot.domain.model import (
    ChecklistStep,
    Classification,
    Closure,
    EpisodeHistory,
    Event,
    EventKind,
    OpenReason,
    Policy,
    Recipient,
    State,
    StepKind,
    Trigger,
)
from bot.domain.policy import TRANSITIONS, Assessment, Signal, is_return, next_state
from tests.domain.builders import (
    at,
    attended,
    booked,
    cancelled,
    checkin,
    classified,
    days,
    ev,
    extend,
    history,
    local,
    message,
    no_show,
    prompted,
    simple,
    step,
)

LAST = local(2026, 3, 2, 10)  # Monday
SILENCE_ENDS = local(2026, 3, 16, 10)  # Monday, two weeks on, after the DST change
CHECKIN_DAYS = (local(2026, 3, 16, 10), local(2026, 3, 30, 10), local(2026, 4, 13, 10))
INACTIVE_AT = local(2026, 4, 27, 10)  # 8 weeks after LAST; check-in 3 has had 14 days


def keys(a: Assessment) -> list[str]:
    return [d.key for d in a.due]


def upcoming(a: Assessment) -> list[tuple[str, StepKind]]:
    steps = [*a.due, *([a.next] if a.next else [])]
    return [(d.key, d.kind) for d in steps]


def in_outreach() -> EpisodeHistory:
    return history(last_contact=LAST)


def with_checkins(n: int) -> EpisodeHistory:
    return history(*(checkin(d) for d in CHECKIN_DAYS[:n]), last_contact=LAST)


def paused() -> EpisodeHistory:
    return extend(in_outreach(), simple(EventKind.OUTREACH_PAUSED, local(2026, 3, 17, 10)))


def inactive() -> EpisodeHistory:
    return with_checkins(3)


def in_review() -> EpisodeHistory:
    return extend(with_checkins(1), message(local(2026, 3, 20, 12)))


def after(h: EpisodeHistory, *events: Event) -> EpisodeHistory:
    return extend(h, *events)


# -- 1/2. active, and when outreach starts ---------------------------------------------------


@pytest.mark.parametrize(
    ("events", "now", "state"),
    [
        pytest.param((), local(2026, 3, 16, 9, 59), State.ACTIVE, id="a-minute-before-14-days"),
        pytest.param((), SILENCE_ENDS, State.OUTREACH, id="at-14-days-same-wall-time"),
        pytest.param(
            (message(local(2026, 3, 10, 12)),),
            local(2026, 3, 24, 11, 59),
            State.ACTIVE,
            id="a-message-resets-the-silence-clock",
        ),
        pytest.param(
            (message(local(2026, 3, 10, 12)),),
            local(2026, 3, 24, 12),
            State.OUTREACH,
            id="silence-counted-from-the-message",
        ),
        pytest.param(
            (attended(local(2026, 3, 9, 10)),),
            local(2026, 3, 20, 10),
            State.ACTIVE,
            id="an-attended-session-resets-the-clock",
        ),
        pytest.param(
            (booked(local(2026, 3, 5, 10), local(2026, 3, 20, 10)),),
            local(2026, 4, 3, 9, 59),
            State.ACTIVE,
            id="a-booking-holds-outreach-off-until-session-plus-14-days",
        ),
        pytest.param(
            (booked(local(2026, 3, 5, 10), local(2026, 3, 20, 10)),),
            local(2026, 4, 3, 10),
            State.OUTREACH,
            id="a-booked-session-that-passes-unreported-starts-outreach-14-days-later",
        ),
        pytest.param(
            (
                booked(local(2026, 3, 5, 10), local(2026, 3, 20, 10)),
                no_show(local(2026, 3, 20, 10)),
            ),
            local(2026, 3, 20, 11),
            State.OUTREACH,
            id="a-no-show-of-the-booking-does-not-hold-outreach-off",
        ),
        pytest.param(
            (cancelled(local(2026, 3, 9, 10)),),
            local(2026, 3, 16, 10),
            State.OUTREACH,
            id="a-cancellation-is-not-contact",
        ),
    ],
)
def test_outreach_starts_after_silence_days_without_contact_or_booking(
    events: tuple[Event, ...], now: datetime, state: State
) -> None:
    a = at(history(*events, last_contact=LAST), now)
    assert a.state is state
    if state is State.OUTREACH:
        assert a.trigger is Trigger.SILENCE
        assert keys(a) == ["checkin-1"]


def test_checkin_one_is_planned_for_the_silence_deadline_while_active() -> None:
    a = at(history(last_contact=LAST), local(2026, 3, 3, 12))
    assert a.state is State.ACTIVE
    assert a.due == ()
    assert a.next is not None
    assert (a.next.key, a.next.number, a.next.due_at) == ("checkin-1", 1, SILENCE_ENDS)


def test_silence_ending_on_a_saturday_waits_for_monday_opening() -> None:
    saturday = local(2026, 4, 25, 11)
    a = at(history(last_contact=saturday), local(2026, 5, 9, 12))
    assert a.state is State.OUTREACH
    assert a.next is not None
    assert a.next.due_at == local(2026, 5, 11, 9)


def test_clinician_starts_outreach_by_hand_and_checkin_one_is_due_at_once() -> None:
    h = history(simple(EventKind.OUTREACH_STARTED, local(2026, 3, 4, 11)), last_contact=LAST)
    a = at(h, local(2026, 3, 4, 11))
    assert (a.state, a.trigger) == (State.OUTREACH, Trigger.MANUAL)
    assert [(d.key, d.due_at) for d in a.due] == [("checkin-1", local(2026, 3, 4, 11))]


# -- 3. check-ins ~interval apart ---------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "number", "due_at"),
    [
        pytest.param(0, 1, CHECKIN_DAYS[0], id="first-at-the-silence-deadline"),
        pytest.param(1, 2, CHECKIN_DAYS[1], id="second-14-days-after-the-first"),
        pytest.param(2, 3, CHECKIN_DAYS[2], id="third-14-days-after-the-second"),
    ],
)
def test_checkins_are_planned_an_interval_apart(sent: int, number: int, due_at: datetime) -> None:
    a = at(with_checkins(sent), local(2026, 3, 16, 10) if sent == 0 else CHECKIN_DAYS[sent - 1])
    planned = [d for d in (*a.due, *([a.next] if a.next else [])) if d.kind is StepKind.CHECKIN]
    assert [(d.number, d.due_at) for d in planned] == [(number, due_at)]


def test_a_late_checkin_moves_the_next_one_with_it() -> None:
    h = history(checkin(local(2026, 3, 19, 15)), last_contact=LAST)  # sent 3 days late
    a = at(h, local(2026, 3, 19, 15))
    assert a.next is not None
    assert (a.next.key, a.next.due_at) == ("checkin-2", local(2026, 4, 2, 15))


def test_no_checkin_step_after_the_last_one_only_the_checklist() -> None:
    a = at(with_checkins(3), local(2026, 4, 14, 10))
    assert upcoming(a) == [("checklist", StepKind.CHECKLIST)]
    assert a.next is not None
    assert a.next.due_at == INACTIVE_AT


def test_a_fourth_checkin_is_refused_in_every_state() -> None:
    for now, h in ((local(2026, 4, 14, 10), with_checkins(3)), (INACTIVE_AT, inactive())):
        with pytest.raises(IllegalTransition, match="The closing check-in is already documented"):
            at(after(h, checkin(now)), now)


# -- 5. inactive by communication -----------------------------------------------------------


def _started_by_hand_with_quick_checkins() -> EpisodeHistory:
    """Last contact Mon 9 March; outreach started by hand the next day, check-ins at once."""
    sent = (local(2026, 3, 10, 10), local(2026, 3, 24, 10), local(2026, 4, 7, 10))
    return history(
        simple(EventKind.OUTREACH_STARTED, sent[0]),
        *(checkin(d) for d in sent),
        last_contact=local(2026, 3, 9, 10),
    )


@pytest.mark.parametrize(
    ("h", "now", "state"),
    [
        pytest.param(
            with_checkins(3), local(2026, 4, 27, 9, 59), State.OUTREACH, id="just-before-8-weeks"
        ),
        pytest.param(with_checkins(3), INACTIVE_AT, State.INACTIVE, id="3-checkins-and-8-weeks"),
        pytest.param(
            with_checkins(2), local(2026, 6, 1, 10), State.OUTREACH, id="2-checkins-are-not-enough"
        ),
        pytest.param(
            history(
                checkin(CHECKIN_DAYS[0]),
                checkin(CHECKIN_DAYS[1]),
                checkin(local(2026, 4, 22, 10)),
                last_contact=LAST,
            ),
            local(2026, 5, 6, 9, 59),
            State.OUTREACH,
            id="the-last-checkin-has-not-had-14-days",
        ),
        pytest.param(
            history(
                checkin(CHECKIN_DAYS[0]),
                checkin(CHECKIN_DAYS[1]),
                checkin(local(2026, 4, 22, 10)),
                last_contact=LAST,
            ),
            local(2026, 5, 6, 10),
            State.INACTIVE,
            id="inactive-once-the-last-checkin-had-14-days",
        ),
        pytest.param(
            _started_by_hand_with_quick_checkins(),
            local(2026, 5, 4, 9, 59),
            State.OUTREACH,
            id="the-window-has-passed-but-not-8-weeks",
        ),
        pytest.param(
            _started_by_hand_with_quick_checkins(),
            local(2026, 5, 4, 10),
            State.INACTIVE,
            id="8-weeks-counted-from-the-last-contact",
        ),
    ],
)
def test_inactive_by_communication(h: EpisodeHistory, now: datetime, state: State) -> None:
    a = at(h, now)
    assert a.state is state
    if state is State.INACTIVE:
        assert keys(a) == ["checklist"]
        assert any("inactive by communication" in r for r in a.reasons)


# -- 5. inactive by attendance -----------------------------------------------------------------


def _sessions(*kinds: str) -> tuple[Event, ...]:
    makers = {"x": no_show, "c": cancelled, "a": attended, "m": message}
    return tuple(makers[k](local(2026, 3, 3 + i, 10)) for i, k in enumerate(kinds))


@pytest.mark.parametrize(
    ("pattern", "state", "run"),
    [
        pytest.param("xx", State.ACTIVE, 2, id="two-misses-stay-active"),
        pytest.param("xxx", State.OUTREACH, 3, id="three-no-shows"),
        pytest.param("cxc", State.OUTREACH, 3, id="cancellations-and-no-shows-mix"),
        pytest.param("xxax", State.ACTIVE, 1, id="an-attended-session-breaks-the-run"),
        pytest.param("xxmx", State.OUTREACH, 3, id="a-message-does-not-break-the-run"),
    ],
)
def test_consecutive_missed_sessions(pattern: str, state: State, run: int) -> None:
    events = _sessions(*pattern)
    now = events[-1].at
    a = at(history(*events, last_contact=LAST), now)
    assert (a.state, a.missed_run) == (state, run)
    if state is State.OUTREACH:
        assert a.trigger is Trigger.ATTENDANCE
        assert [(d.key, d.due_at) for d in a.due] == [("checkin-1", now)]


def test_third_no_show_opens_checkin_at_once() -> None:
    third = local(2026, 3, 6, 18)  # Friday evening: the prompt waits for Monday 09:00
    h = history(
        no_show(local(2026, 3, 4, 10)),
        no_show(local(2026, 3, 5, 10)),
        no_show(third),
        last_contact=LAST,
    )
    a = at(h, third)
    assert a.state is State.OUTREACH
    assert a.next is not None
    assert (a.next.key, a.next.due_at) == ("checkin-1", local(2026, 3, 9, 9))


def test_attendance_path_sends_the_final_checkin_before_the_checklist() -> None:
    h = history(*_sessions("x", "x", "x"), checkin(local(2026, 3, 6, 11)), last_contact=LAST)
    a = at(h, local(2026, 3, 20, 11))
    # Check-in 1 had 14 days: the closing check-in comes next, never the checklist yet.
    assert (a.state, keys(a)) == (State.OUTREACH, ["checkin-3"])
    assert a.next_checkin_number == 3
    assert a.due[0].final
    h = after(h, checkin(local(2026, 3, 20, 11)))
    assert at(h, local(2026, 4, 3, 10, 59)).state is State.OUTREACH
    a = at(h, local(2026, 4, 3, 11))
    assert (a.state, keys(a)) == (State.INACTIVE, ["checklist"])
    assert a.checkin_numbers == (1, 3)
    assert any("inactive by attendance and the final check-in" in r for r in a.reasons)


def test_missed_run_length_is_a_setting() -> None:
    policy = Policy(consecutive_missed=2)
    assert (
        at(
            history(*_sessions("x", "c"), last_contact=LAST), local(2026, 3, 4, 11), policy=policy
        ).state
        is State.OUTREACH
    )


# -- 4. a reply stops outreach ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("h", "when"),
    [
        pytest.param(in_outreach(), local(2026, 3, 17, 12), id="from-outreach"),
        pytest.param(paused(), local(2026, 3, 18, 12), id="from-paused"),
        pytest.param(inactive(), local(2026, 4, 28, 12), id="from-inactive"),
    ],
)
def test_a_reply_stops_outreach_and_asks_for_a_classification(
    h: EpisodeHistory, when: datetime
) -> None:
    a = at(after(h, message(when)), when)
    assert a.state is State.REPLY_REVIEW
    assert [(d.key, d.kind) for d in a.due] == [("classify-1", StepKind.CLASSIFY_REPLY)]
    # Weeks later there is still no check-in or checklist prompt, only the classify nudges.
    later = at(after(h, message(when), prompted(when, "classify-1")), when + days(60))
    assert {d.kind for d in (*later.due, *([later.next] if later.next else []))} <= {
        StepKind.CLASSIFY_REPLY,
        StepKind.CCT_ESCALATION,
    }


@pytest.mark.parametrize(
    ("choice", "state", "closure", "key"),
    [
        pytest.param(
            Classification.CONTINUING, State.CLOSED, Closure.CONTINUING, None, id="continuing"
        ),
        pytest.param(
            Classification.MET_GOALS, State.CLOSED, Closure.MET_GOALS, None, id="met-goals"
        ),
        pytest.param(
            Classification.FIT_CONCERN, State.REMATCH, None, "cct-rematch", id="fit-concern"
        ),
    ],
)
def test_classification_outcomes(
    choice: Classification, state: State, closure: Closure | None, key: str | None
) -> None:
    now = local(2026, 3, 23, 10)
    a = at(after(in_review(), classified(now, choice)), now)
    assert (a.state, a.closure) == (state, closure)
    if key is not None:
        [cct] = a.due
        assert (cct.key, cct.recipient, cct.due_at) == (key, Recipient.CCT, now)


@pytest.mark.parametrize(
    ("h", "when", "back_to"),
    [
        pytest.param(in_outreach(), local(2026, 3, 17, 12), State.OUTREACH, id="outreach"),
        pytest.param(paused(), local(2026, 3, 18, 12), State.PAUSED, id="paused"),
        pytest.param(inactive(), local(2026, 4, 28, 12), State.INACTIVE, id="inactive"),
    ],
)
def test_other_classification_goes_back_where_the_reply_found_the_client(
    h: EpisodeHistory, when: datetime, back_to: State
) -> None:
    now = when + days(1)
    a = at(after(h, message(when), classified(now, Classification.OTHER)), now)
    assert a.state is back_to


def test_after_an_other_classification_outreach_resumes_from_that_day() -> None:
    h = after(
        with_checkins(1),
        message(local(2026, 3, 20, 12)),
        classified(local(2026, 4, 2, 10), Classification.OTHER),
    )
    a = at(h, local(2026, 4, 2, 10))
    assert a.state is State.OUTREACH
    # check-in 2 was due 30 March; the review took longer, so it is due now.
    assert [(d.key, d.due_at) for d in a.due] == [("checkin-2", local(2026, 4, 2, 10))]


def test_a_second_reply_gets_its_own_classify_key() -> None:
    h = after(
        in_review(),
        classified(local(2026, 3, 23, 10), Classification.OTHER),
        message(local(2026, 3, 25, 10)),
    )
    assert keys(at(h, local(2026, 3, 25, 10))) == ["classify-2"]


def test_an_attended_session_during_outreach_ends_the_episode_as_reengaged() -> None:
    a = at(after(with_checkins(1), attended(local(2026, 3, 18, 10))), local(2026, 3, 18, 10))
    assert (a.state, a.closure) == (State.CLOSED, Closure.REENGAGED)


def test_a_booking_during_outreach_holds_it_until_the_sessions_outcome() -> None:
    h = after(with_checkins(1), booked(local(2026, 3, 18, 10), local(2026, 4, 8, 10)))
    a = at(h, local(2026, 3, 30, 10))  # check-in 2 would be due today
    assert (a.state, a.closure, a.due) == (State.OUTREACH, None, ())
    assert a.held_by_booking == local(2026, 4, 8, 10)
    # Missed: outreach carries on at once; attended: re-engaged.
    missed = at(after(h, no_show(local(2026, 4, 8, 10))), local(2026, 4, 8, 11))
    assert (missed.state, keys(missed)) == (State.OUTREACH, ["checkin-2"])
    came = at(after(h, attended(local(2026, 4, 8, 10))), local(2026, 4, 8, 11))
    assert (came.state, came.closure) == (State.CLOSED, Closure.REENGAGED)


def test_a_late_reported_session_before_anything_was_sent_quietly_undoes_outreach() -> None:
    late = ev(EventKind.SESSION_ATTENDED, local(2026, 3, 13, 10), known_at=local(2026, 3, 17, 10))
    a = at(history(late, last_contact=LAST), local(2026, 3, 17, 10))
    assert (a.state, a.closure, a.trigger) == (State.ACTIVE, None, None)
    assert a.next is not None
    assert a.next.due_at == local(2026, 3, 27, 10)


# -- pause / resume / snooze -----------------------------------------------------------------


def test_pause_holds_every_checkin_and_resume_brings_it_back() -> None:
    a = at(paused(), local(2026, 4, 30, 10))
    assert (a.state, a.due, a.next) == (State.PAUSED, (), None)
    resumed = at(
        after(paused(), simple(EventKind.OUTREACH_RESUMED, local(2026, 4, 1, 11))),
        local(2026, 4, 1, 11),
    )
    assert resumed.state is State.OUTREACH
    assert [(d.key, d.due_at) for d in resumed.due] == [("checkin-1", local(2026, 4, 1, 11))]


def test_checkins_documented_while_paused_still_count() -> None:
    h = after(paused(), checkin(local(2026, 3, 18, 10)))
    a = at(h, local(2026, 3, 18, 10))
    assert (a.state, a.checkins_sent) == (State.PAUSED, 1)


def test_snooze_moves_the_checkin_to_the_snooze_end() -> None:
    h = after(
        in_outreach(),
        prompted(SILENCE_ENDS, "checkin-1"),
        ev(EventKind.SNOOZED, local(2026, 3, 16, 11), until=local(2026, 3, 19, 11)),
    )
    a = at(h, local(2026, 3, 16, 11))
    assert a.due == ()
    assert a.next is not None
    assert (a.next.key, a.next.due_at) == ("checkin-1", local(2026, 3, 19, 11))


def test_the_prompt_after_a_snooze_has_a_new_attempt_number() -> None:
    # Regression: it reused attempt 0, so the outbox's idempotency key dropped it.
    h = after(
        in_outreach(),
        prompted(SILENCE_ENDS, "checkin-1"),
        ev(EventKind.SNOOZED, local(2026, 3, 16, 11), until=local(2026, 3, 19, 11)),
    )
    [due] = at(h, local(2026, 3, 19, 11)).due
    assert (due.key, due.attempt) == ("checkin-1", 1)


def test_a_snooze_ending_on_a_saturday_waits_for_monday() -> None:
    h = after(
        in_outreach(), ev(EventKind.SNOOZED, local(2026, 3, 16, 11), until=local(2026, 3, 21, 11))
    )
    a = at(h, local(2026, 3, 16, 11))
    assert a.next is not None
    assert a.next.due_at == local(2026, 3, 23, 9)


# -- 6. the checklist through the policy -------------------------------------------------------


def _checklist(*steps: tuple[ChecklistStep, str | None]) -> EpisodeHistory:
    return after(
        inactive(), *(step(INACTIVE_AT + days(1 + i), s, ans) for i, (s, ans) in enumerate(steps))
    )


def test_other_providers_yes_hands_over_to_care_team_removal() -> None:
    h = _checklist((ChecklistStep.NOTES_SIGNED, None), (ChecklistStep.OTHER_PROVIDERS, "yes"))
    now = INACTIVE_AT + days(2)
    a = at(h, now)
    assert a.state is State.CARE_TEAM_REMOVAL
    [cct] = a.due
    assert (cct.key, cct.kind, cct.recipient, cct.due_at) == (
        "cct-care-team-removal",
        StepKind.CCT_CARE_TEAM_REMOVAL,
        Recipient.CCT,
        now,
    )


def test_every_step_done_discharges_and_asks_cct_to_archive() -> None:
    h = _checklist(
        (ChecklistStep.NOTES_SIGNED, None),
        (ChecklistStep.OTHER_PROVIDERS, "no"),
        (ChecklistStep.SUMMARY_NOTE, None),
        (ChecklistStep.MOVED_TO_GROUP, None),
    )
    now = INACTIVE_AT + days(4)
    a = at(h, now)
    assert a.state is State.DISCHARGED
    assert a.checklist.complete
    assert [(d.key, d.recipient, d.due_at) for d in a.due] == [("cct-archive", Recipient.CCT, now)]


def test_the_checklist_is_not_complete_without_a_documented_checkin() -> None:
    opened = after(in_outreach(), simple(EventKind.DISCHARGE_OPENED, local(2026, 3, 17, 10)))
    h = after(
        opened,
        *(
            step(local(2026, 3, 17, 11 + i), s, "no")
            for i, s in enumerate(
                [
                    ChecklistStep.NOTES_SIGNED,
                    ChecklistStep.OTHER_PROVIDERS,
                    ChecklistStep.SUMMARY_NOTE,
                    ChecklistStep.MOVED_TO_GROUP,
                ]
            )
        ),
    )
    a = at(h, local(2026, 3, 17, 16))
    assert a.state is State.INACTIVE
    assert a.checklist.next_step is ChecklistStep.ATTEMPTS_DOCUMENTED


@pytest.mark.parametrize(
    ("h", "closure"),
    [
        pytest.param(
            _checklist(
                (ChecklistStep.NOTES_SIGNED, None),
                (ChecklistStep.OTHER_PROVIDERS, "no"),
                (ChecklistStep.SUMMARY_NOTE, None),
                (ChecklistStep.MOVED_TO_GROUP, None),
            ),
            Closure.ARCHIVED,
            id="discharged-is-archived",
        ),
        pytest.param(
            _checklist((ChecklistStep.NOTES_SIGNED, None), (ChecklistStep.OTHER_PROVIDERS, "yes")),
            Closure.CARE_TEAM_REMOVED,
            id="care-team-removal",
        ),
        pytest.param(
            after(in_review(), classified(local(2026, 3, 23, 10), Classification.FIT_CONCERN)),
            Closure.REMATCHED,
            id="rematch",
        ),
    ],
)
def test_cct_done_closes_the_episode_with_the_right_closure(
    h: EpisodeHistory, closure: Closure
) -> None:
    now = local(2026, 6, 1, 10)
    a = at(after(h, simple(EventKind.CCT_DONE, now)), now)
    assert (a.state, a.closure, a.due) == (State.CLOSED, closure, ())


# -- 7. returns -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "closure", "kind", "expected"),
    [
        pytest.param(
            State.DISCHARGED, None, EventKind.SESSION_SCHEDULED, True, id="discharged-books"
        ),
        pytest.param(
            State.DISCHARGED, None, EventKind.CLIENT_MESSAGE, True, id="discharged-writes"
        ),
        pytest.param(
            State.DISCHARGED, None, EventKind.SESSION_ATTENDED, True, id="discharged-attends"
        ),
        pytest.param(
            State.DISCHARGED, None, EventKind.SESSION_NO_SHOW, False, id="a-no-show-is-no-return"
        ),
        pytest.param(
            State.CLOSED, Closure.ARCHIVED, EventKind.CLIENT_MESSAGE, True, id="archived-writes"
        ),
        pytest.param(
            State.CLOSED, Closure.MET_GOALS, EventKind.SESSION_SCHEDULED, True, id="met-goals-books"
        ),
        pytest.param(
            State.CLOSED,
            Closure.REMATCHED,
            EventKind.SESSION_SCHEDULED,
            False,
            id="rematched-is-another-clinicians",
        ),
        pytest.param(
            State.CLOSED,
            Closure.CARE_TEAM_REMOVED,
            EventKind.CLIENT_MESSAGE,
            False,
            id="care-team-removed",
        ),
        pytest.param(
            State.OUTREACH,
            None,
            EventKind.SESSION_SCHEDULED,
            False,
            id="outreach-is-reengagement-not-return",
        ),
        pytest.param(State.ACTIVE, None, EventKind.CLIENT_MESSAGE, False, id="active"),
        pytest.param(State.DISCHARGED, None, EventKind.ADMIN_NOTE, False, id="a-note-is-no-return"),
    ],
)
def test_is_return(state: State, closure: Closure | None, kind: EventKind, expected: bool) -> None:
    assert is_return(state, closure, kind) is expected


@pytest.mark.parametrize(
    ("reason", "key", "kind"),
    [
        pytest.param(
            OpenReason.RETURNED, "notice-returned", StepKind.RETURNED_NOTICE, id="returned"
        ),
        pytest.param(
            OpenReason.REENGAGED, "notice-reengaged", StepKind.REENGAGED_NOTICE, id="reengaged"
        ),
    ],
)
def test_a_reopened_episode_tells_the_clinician_in_working_hours(
    reason: OpenReason, key: str, kind: StepKind
) -> None:
    saturday = local(2026, 3, 7, 12)
    h = EpisodeHistory(opened_at=saturday, baseline_contact_at=saturday, opened_reason=reason)
    a = at(h, saturday)
    assert a.state is State.ACTIVE
    assert a.next is not None
    assert (a.next.key, a.next.kind, a.next.due_at) == (key, kind, local(2026, 3, 9, 9))
    told = EpisodeHistory(
        opened_at=saturday,
        baseline_contact_at=saturday,
        opened_reason=reason,
        events=(prompted(local(2026, 3, 9, 9), key),),
    )
    assert key not in upcoming_keys(at(told, local(2026, 3, 9, 9)))


def upcoming_keys(a: Assessment) -> list[str]:
    return [k for k, _ in upcoming(a)]


def test_continuing_care_opens_no_notice() -> None:
    h = EpisodeHistory(
        opened_at=LAST, baseline_contact_at=LAST, opened_reason=OpenReason.CONTINUING
    )
    assert upcoming_keys(at(h, LAST)) == ["checkin-1"]


# -- illegal transitions ----------------------------------------------------------------------

NOW = local(2026, 5, 5, 10)


@pytest.mark.parametrize(
    ("h", "event", "words"),
    [
        pytest.param(
            history(last_contact=NOW),
            simple(EventKind.OUTREACH_PAUSED, NOW),
            "Outreach isn't running",
            id="pause-while-active",
        ),
        pytest.param(
            with_checkins(1),
            simple(EventKind.OUTREACH_RESUMED, NOW),
            "Outreach isn't paused",
            id="resume-while-running",
        ),
        pytest.param(
            with_checkins(1),
            simple(EventKind.OUTREACH_STARTED, local(2026, 3, 17, 10)),
            "only be started for an active client",
            id="start-twice",
        ),
        pytest.param(
            history(last_contact=NOW),
            checkin(NOW),
            "documented during outreach",
            id="checkin-while-active",
        ),
        pytest.param(
            history(last_contact=NOW),
            ev(EventKind.SNOOZED, NOW, until=NOW + days(3)),
            "Only a due check-in can be snoozed",
            id="snooze-while-active",
        ),
        pytest.param(
            with_checkins(1),
            step(local(2026, 3, 17, 10), ChecklistStep.NOTES_SIGNED),
            "checklist isn't open",
            id="step-during-outreach",
        ),
        pytest.param(
            inactive(),
            simple(EventKind.DISCHARGE_OPENED, NOW),
            "already open or done",
            id="open-discharge-twice",
        ),
        pytest.param(
            inactive(),
            simple(EventKind.CCT_DONE, NOW),
            "no CCT request open",
            id="cct-done-before-discharge",
        ),
        pytest.param(
            with_checkins(1),
            classified(local(2026, 3, 17, 10), Classification.CONTINUING),
            "no client reply waiting",
            id="classify-without-reply",
        ),
        pytest.param(
            in_review(),
            simple(EventKind.OUTREACH_PAUSED, local(2026, 3, 21, 10)),
            "Outreach isn't running",
            id="pause-during-review",
        ),
        pytest.param(
            in_review(),
            checkin(local(2026, 3, 21, 10)),
            "documented during outreach",
            id="checkin-during-review",
        ),
    ],
)
def test_illegal_actions_raise_a_readable_illegal_transition(
    h: EpisodeHistory, event: Event, words: str
) -> None:
    with pytest.raises(IllegalTransition, match=words) as caught:
        at(after(h, event), event.at)
    assert str(caught.value).startswith("That can't be done while the client is ")
    assert "_" not in str(caught.value)


MISSING = [(s, g) for s in State for g in Signal if (s, g) not in TRANSITIONS]


@pytest.mark.parametrize(("state", "signal"), MISSING, ids=[f"{s}-{g}" for s, g in MISSING])
def test_every_move_missing_from_the_table_is_an_illegal_transition(
    state: State, signal: Signal
) -> None:
    with pytest.raises(IllegalTransition) as caught:
        next_state(state, signal)
    assert (caught.value.state, caught.value.trigger) == (state.value, signal.value)
    assert state.value.replace("_", " ") in str(caught.value)
    assert isinstance(caught.value, DomainError)


def test_a_closed_episode_accepts_only_what_the_table_allows() -> None:
    closed = after(in_review(), classified(local(2026, 3, 23, 10), Classification.CONTINUING))
    for event in (
        simple(EventKind.OUTREACH_STARTED, NOW),
        simple(EventKind.CCT_DONE, NOW),
        checkin(NOW),
    ):
        with pytest.raises(IllegalTransition, match="while the client is closed"):
            at(after(closed, event), NOW)
    assert at(after(closed, message(NOW)), NOW).state is State.CLOSED


# -- nudges and escalation ---------------------------------------------------------------------


def test_an_unanswered_checklist_is_nudged_then_escalated_to_cct_once() -> None:
    h = inactive()
    a = at(h, INACTIVE_AT)
    assert [(d.key, d.attempt, d.due_at) for d in a.due] == [("checklist", 0, INACTIVE_AT)]
    h = after(h, prompted(INACTIVE_AT, "checklist"))
    a = at(h, INACTIVE_AT)
    assert a.due == ()
    assert a.next is not None
    assert (a.next.attempt, a.next.due_at) == (1, local(2026, 4, 30, 10))  # 3 days later
    h = after(h, prompted(local(2026, 4, 30, 10), "checklist"))
    a = at(h, local(2026, 4, 30, 10))
    # 3 days after Thursday is a Sunday: the second nudge waits for Monday 09:00.
    assert a.next is not None
    assert (a.next.attempt, a.next.due_at) == (2, local(2026, 5, 4, 9))
    h = after(h, prompted(local(2026, 5, 4, 9), "checklist"))
    a = at(h, local(2026, 5, 4, 9))
    assert a.next is not None
    # After max_nudges, CCT hears of it, at the later of 3 days on and 14 days after opening.
    assert (a.next.key, a.next.kind, a.next.recipient, a.next.due_at) == (
        "checklist-escalation",
        StepKind.CCT_ESCALATION,
        Recipient.CCT,
        local(2026, 5, 11, 10),
    )
    h = after(h, prompted(local(2026, 5, 11, 10), "checklist-escalation"))
    a = at(h, local(2026, 8, 1, 10))
    assert (a.state, a.due, a.next) == (State.INACTIVE, (), None)


def test_a_checklist_step_done_restarts_the_patience_before_the_next_nudge() -> None:
    h = after(
        inactive(),
        prompted(INACTIVE_AT, "checklist"),
        step(local(2026, 4, 29, 10), ChecklistStep.NOTES_SIGNED),
    )
    a = at(h, local(2026, 4, 29, 10))
    # 3 days after the step (not after the prompt) is Saturday 2 May: Monday 09:00.
    assert a.next is not None
    assert (a.next.attempt, a.next.due_at) == (1, local(2026, 5, 4, 9))


def test_no_nudges_means_escalation_follows_the_first_prompt() -> None:
    policy = Policy(max_nudges=0)
    h = after(inactive(), prompted(INACTIVE_AT, "checklist"))
    a = at(h, INACTIVE_AT, policy=policy)
    assert a.next is not None
    assert (a.next.kind, a.next.due_at) == (StepKind.CCT_ESCALATION, local(2026, 5, 11, 10))


def test_an_unanswered_checkin_is_nudged_with_its_number() -> None:
    h = after(in_outreach(), prompted(SILENCE_ENDS, "checkin-1"))
    a = at(h, SILENCE_ENDS)
    assert a.next is not None
    assert (a.next.key, a.next.number, a.next.attempt, a.next.due_at) == (
        "checkin-1",
        1,
        1,
        local(2026, 3, 19, 10),
    )


# -- patience restarts: a resume, and outreach that began on stale facts ------------------------


def test_a_checkin_escalated_before_a_pause_is_prompted_again_after_resume() -> None:
    # check-in 1 prompted, nudged twice, escalated to CCT; then paused and resumed
    h = extend(
        in_outreach(),
        prompted(SILENCE_ENDS, "checkin-1"),
        prompted(local(2026, 3, 19, 10), "checkin-1"),
        prompted(local(2026, 3, 23, 10), "checkin-1"),
        prompted(local(2026, 3, 30, 10), "checkin-1-escalation"),
        simple(EventKind.OUTREACH_PAUSED, local(2026, 3, 31, 10)),
        simple(EventKind.OUTREACH_RESUMED, local(2026, 4, 14, 10)),
    )
    a = at(h, local(2026, 4, 14, 10))
    assert [(d.key, d.attempt) for d in a.due] == [("checkin-1", 3)]  # a fresh key + attempt


def test_outreach_begun_on_stale_facts_starts_check_in_one_afresh() -> None:
    # outreach began and check-in 1 was prompted; then a session from before is reported late
    h = extend(
        in_outreach(),
        prompted(SILENCE_ENDS, "checkin-1"),
        ev(EventKind.SESSION_ATTENDED, local(2026, 3, 13, 10), known_at=local(2026, 3, 16, 11)),
    )
    a = at(h, local(2026, 3, 16, 12))
    assert a.state is State.ACTIVE
    # silence now runs from the 13th: check-in 1 is due on the 27th at 10:00, not as a
    # reminder of the stale prompt three days after it
    assert a.next is not None
    assert (a.next.key, a.next.due_at) == ("checkin-1", local(2026, 3, 27, 10))
    later = at(h, local(2026, 3, 27, 10))
    assert [(d.key, d.due_at) for d in later.due] == [("checkin-1", local(2026, 3, 27, 10))]

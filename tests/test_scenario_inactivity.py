"""A client followed through weeks of a fake clock, asserting the exact prompts and dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import FixedClock
from bot.domain.model import EventKind, State
from bot.services import Services
from tests.helpers import ADMIN, PLATFORM, import_rows

TORONTO = ZoneInfo("America/Toronto")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TORONTO).astimezone(UTC)  # type: ignore[misc]


def run_tick(service: Services, clock: FixedClock, at: datetime) -> list[tuple[str, str]]:
    clock.set(at)
    return [(q.kind, q.key) for q in service.outreach.tick(at).queued]


def test_silent_client_gets_three_checkins_then_the_checklist(
    service: Services, clock: FixedClock
) -> None:
    # Last session Monday 2026-03-02 10:00 in Toronto, nothing booked.
    clock.set(local(2026, 3, 3, 12))
    import_rows(service, "R-1042,U0CLIN1,Ana,2026-03-02T10:00,,America/Toronto")
    [row] = service.reads.caseload()
    assert row.state is State.ACTIVE
    assert row.due_at == local(2026, 3, 16, 10)  # 14 days later, a Monday, across the DST change

    assert run_tick(service, clock, local(2026, 3, 16, 9, 59)) == []
    assert run_tick(service, clock, local(2026, 3, 16, 10)) == [("checkin", "ep1:checkin-1:0")]
    assert run_tick(service, clock, local(2026, 3, 16, 10)) == []  # same instant: nothing new
    service.outreach.mark_checkin_sent("R-1042", actor=ADMIN)

    [row] = service.reads.caseload()
    assert (row.state, row.next_step, row.due_at) == (State.OUTREACH, "checkin 2", local(2026, 3, 30, 10))
    assert run_tick(service, clock, local(2026, 3, 30, 10)) == [("checkin", "ep1:checkin-2:0")]
    service.outreach.mark_checkin_sent("R-1042", actor=ADMIN)
    assert service.reads.caseload()[0].due_at == local(2026, 4, 13, 10)
    assert run_tick(service, clock, local(2026, 4, 13, 10)) == [("checkin", "ep1:checkin-3:0")]
    service.outreach.mark_checkin_sent("R-1042", actor=ADMIN)

    # 8 weeks after the last contact, and the third check-in has had 14 days.
    [row] = service.reads.caseload()
    assert (row.next_step, row.due_at) == ("checklist", local(2026, 4, 27, 10))
    assert run_tick(service, clock, local(2026, 4, 27, 9)) == []
    assert run_tick(service, clock, local(2026, 4, 27, 10)) == [("checklist", "ep1:checklist:0")]
    assert service.reads.caseload()[0].state is State.INACTIVE


def test_prompt_due_on_a_weekend_waits_for_monday_morning(
    service: Services, clock: FixedClock
) -> None:
    clock.set(local(2026, 5, 1, 12))
    import_rows(service, "R-7,U0CLIN1,,2026-04-25T11:00,,America/Toronto")  # a Saturday
    [row] = service.reads.caseload()
    assert row.due_at == local(2026, 5, 11, 9)  # Sat 9 May + weekend -> Monday 09:00


def test_reply_stops_outreach_and_asks_the_clinician(service: Services, clock: FixedClock) -> None:
    clock.set(local(2026, 3, 3, 12))
    import_rows(service, "R-1,U0CLIN1,Ana,2026-03-02T10:00,,")
    run_tick(service, clock, local(2026, 3, 16, 10))
    service.outreach.mark_checkin_sent("R-1", actor=ADMIN)
    clock.set(local(2026, 3, 21, 18))  # a Saturday evening
    outcome = service.recording.record_client_message("R-1", occurred_at=clock.now(), actor=PLATFORM)
    assert outcome.assessment.state is State.REPLY_REVIEW
    # The classification prompt waits for Monday's working hours.
    assert outcome.assessment.next is not None
    assert outcome.assessment.next.due_at == local(2026, 3, 23, 9)
    assert run_tick(service, clock, local(2026, 3, 23, 9)) == [("classify_reply", "ep1:classify-1:0")]
    # Unanswered, the question is asked again 3 days later; check-in 2 never comes meanwhile.
    assert run_tick(service, clock, local(2026, 3, 26, 9)) == [("classify_reply", "ep1:classify-1:1")]
    # The second nudge falls on a Sunday and waits for Monday 09:00.
    assert run_tick(service, clock, local(2026, 3, 30, 10)) == [("classify_reply", "ep1:classify-1:2")]
    # After two nudges the clinician's silence is escalated to CCT, once.
    assert run_tick(service, clock, local(2026, 4, 6, 10)) == [("cct_escalation", "ep1:classify-1-escalation:0")]
    assert run_tick(service, clock, local(2026, 5, 6, 10)) == []


def test_booked_session_after_discharge_reopens_the_client(
    service: Services, clock: FixedClock
) -> None:
    from bot.domain.model import ChecklistStep

    clock.set(local(2026, 3, 3, 12))
    import_rows(service, "R-9,U0CLIN1,Ana,2026-03-02T10:00,,")
    for when in [local(2026, 3, 16, 10), local(2026, 3, 30, 10), local(2026, 4, 13, 10)]:
        run_tick(service, clock, when)
        service.outreach.mark_checkin_sent("R-9", actor=ADMIN)
    run_tick(service, clock, local(2026, 4, 27, 10))
    service.checklist.complete_step("R-9", ChecklistStep.NOTES_SIGNED, actor=ADMIN)
    service.checklist.complete_step("R-9", ChecklistStep.OTHER_PROVIDERS, answer="no", actor=ADMIN)
    service.checklist.complete_step("R-9", ChecklistStep.SUMMARY_NOTE, actor=ADMIN)
    outcome = service.checklist.complete_step("R-9", ChecklistStep.MOVED_TO_GROUP, actor=ADMIN)
    assert outcome.assessment.state is State.DISCHARGED
    assert any(key.endswith("cct-archive:0") for key in outcome.queued)

    clock.advance(timedelta(days=38))  # a Thursday, in working hours
    booked = service.recording.record_session(
        "R-9", EventKind.SESSION_SCHEDULED, occurred_at=clock.now(),
        session_at=clock.now() + timedelta(days=3), actor=PLATFORM,
    )
    assert booked.reopened
    assert booked.assessment.state is State.ACTIVE
    assert any("notice-returned" in key for key in booked.queued)


def test_three_missed_sessions_open_the_inactive_path_and_attendance_resets(
    service: Services, clock: FixedClock
) -> None:
    clock.set(local(2026, 3, 3, 12))
    import_rows(service, "R-5,U0CLIN1,Ana,2026-03-02T10:00,,")

    def session(kind: EventKind, day: int) -> State:
        clock.set(local(2026, 3, day, 11))
        return service.recording.record_session("R-5", kind, occurred_at=local(2026, 3, day, 10), actor=PLATFORM).assessment.state

    assert session(EventKind.SESSION_NO_SHOW, 4) is State.ACTIVE
    assert session(EventKind.SESSION_CANCELLED, 5) is State.ACTIVE
    assert session(EventKind.SESSION_ATTENDED, 6) is State.ACTIVE  # breaks the run
    assert session(EventKind.SESSION_NO_SHOW, 9) is State.ACTIVE
    assert session(EventKind.SESSION_NO_SHOW, 10) is State.ACTIVE
    clock.set(local(2026, 3, 11, 11))
    third = service.recording.record_session("R-5", EventKind.SESSION_CANCELLED, occurred_at=local(2026, 3, 11, 10), actor=PLATFORM)
    assert third.assessment.state is State.OUTREACH
    assert third.queued == ("ep1:checkin-1:0",)  # check-in 1 at once
    service.outreach.mark_checkin_sent("R-5", actor=ADMIN)
    [row] = service.reads.caseload()
    # Attendance path: the closing check-in 14 days after check-in 1, then the checklist 14
    # days after that one is documented.
    assert (row.next_step, row.due_at) == ("checkin 3", local(2026, 3, 25, 11))
    assert run_tick(service, clock, local(2026, 3, 25, 11)) == [("checkin", "ep1:checkin-3:0")]
    service.outreach.mark_checkin_sent("R-5", actor=ADMIN, number=3)
    [row] = service.reads.caseload()
    assert (row.next_step, row.due_at) == ("checklist", local(2026, 4, 8, 11))

"""Every path of the practice guide as a clinician, the CCT and the client live it.

Each path is a short story run on the simulated calendar of `tests.clinical.harness` and the
table of what everyone saw, day by day (times in Toronto). The scenario suite asserts each
table exactly; `python -m tests.clinical.render` writes them all into docs/paths.md, so a
clinical lead can review the bot without reading code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.domain.model import Cancellation, ChecklistStep, Classification, EventKind
from tests.clinical.harness import CLINICIAN, NEW_CLINICIAN, TORONTO, Clinic, local

R = "R-1042"
SCHEDULED, ATTENDED = EventKind.SESSION_SCHEDULED, EventKind.SESSION_ATTENDED
NO_SHOW, CANCELLED = EventKind.SESSION_NO_SHOW, EventKind.SESSION_CANCELLED


@dataclass(frozen=True)
class Path:
    key: str
    title: str
    story: str  # what the path shows, for the clinical lead
    start: tuple[int, ...]  # local Toronto time the story starts
    play: Callable[[Clinic], None]
    table: str  # the expected rows: "when | who | what", one a line


def row(chart: str = R, last_contact: str = "2026-03-02T10:00", booked: str = "",
        last_session: str = "", clinician: str = CLINICIAN, platform_id: str = "") -> str:
    return (
        f"{chart},{clinician},Ana,{last_contact},{booked},America/Toronto,"
        f"{last_session},{platform_id}"
    )


def _finish_checklist(c: Clinic, chart: str = R) -> None:
    c.step(chart, ChecklistStep.NOTES_SIGNED)
    c.step(chart, ChecklistStep.OTHER_PROVIDERS, "no")
    c.summary(chart)
    c.step(chart, ChecklistStep.MOVED_TO_GROUP)


# -- the stories -------------------------------------------------------------------------------
def communication(c: Clinic) -> None:
    c.caseload(row(last_session="2026-03-02T10:00"))
    c.at(local(2026, 3, 16, 10, 30))
    c.send_for_me(R)
    c.at(local(2026, 3, 24, 15))
    c.act("adds an admin note: /care note R-1042 Called, left a voicemail", c.service.notes.log_note,
          R, "Called, left a voicemail", actor=c.me)
    c.at(local(2026, 3, 30, 11))
    c.send_for_me(R)
    c.at(local(2026, 4, 13, 11))
    c.send_for_me(R)
    c.at(local(2026, 4, 28, 9))
    _finish_checklist(c)
    c.at(local(2026, 4, 30, 14))
    c.cct_done(R)
    c.at(local(2026, 6, 1, 9))


def _three_misses(c: Clinic) -> None:
    c.caseload(row(booked="2026-03-09T10:00", last_session="2026-03-02T10:00"))
    c.session(R, SCHEDULED, session_at=local(2026, 3, 16, 10), said="books a session for Mon 03-16")
    c.session(R, SCHEDULED, session_at=local(2026, 3, 23, 10), said="books a session for Mon 03-23")
    for day in (9, 16, 23):
        c.at(local(2026, 3, day, 10, 50))
        c.session(R, NO_SHOW, session_at=local(2026, 3, day, 10), said="no-show")


def attendance(c: Clinic) -> None:
    _three_misses(c)
    c.at(local(2026, 3, 23, 11))
    c.send_for_me(R)
    c.at(local(2026, 4, 6, 11, 30))
    c.send_for_me(R)
    c.at(local(2026, 4, 21, 9))


def attendance_booked_attended(c: Clinic) -> None:
    c.caseload(row(booked="2026-03-09T10:00", last_session="2026-03-02T10:00"))
    for day in (16, 23, 30):
        c.session(
            R, SCHEDULED, session_at=local(2026, 3, day, 10), said=f"books a session for Mon 03-{day}"
        )
    for day in (9, 16, 23):
        c.at(local(2026, 3, day, 10, 50))
        c.session(R, NO_SHOW, session_at=local(2026, 3, day, 10), said="no-show")
    c.at(local(2026, 3, 30, 10, 50))
    c.session(R, ATTENDED, session_at=local(2026, 3, 30, 10), said="attends the session")
    c.at(local(2026, 4, 14, 9))


def attendance_booked_missed(c: Clinic) -> None:
    c.caseload(row(booked="2026-03-09T10:00", last_session="2026-03-02T10:00"))
    for day in (16, 23, 30):
        c.session(
            R, SCHEDULED, session_at=local(2026, 3, day, 10), said=f"books a session for Mon 03-{day}"
        )
    for day in (9, 16, 23, 30):
        c.at(local(2026, 3, day, 10, 50))
        c.session(R, NO_SHOW, session_at=local(2026, 3, day, 10), said="no-show")
    c.at(local(2026, 3, 31, 9))


def _first_checkin_then_reply(c: Clinic) -> None:
    c.caseload(row())
    c.at(local(2026, 3, 16, 10, 30))
    c.send_for_me(R)
    c.at(local(2026, 3, 18, 14))
    c.message(R)
    c.at(local(2026, 3, 19, 9, 30))


def reply_continuing(c: Clinic) -> None:
    _first_checkin_then_reply(c)
    c.classify(R, Classification.CONTINUING)
    c.at(local(2026, 4, 2, 9, 30))


def reply_met_goals(c: Clinic) -> None:
    _first_checkin_then_reply(c)
    c.classify(R, Classification.MET_GOALS)
    c.at(local(2026, 5, 1, 9))


def reply_other(c: Clinic) -> None:
    _first_checkin_then_reply(c)
    c.classify(R, Classification.OTHER)
    c.at(local(2026, 3, 30, 11))


def rematch_then_silence(c: Clinic) -> None:
    _first_checkin_then_reply(c)
    c.classify(R, Classification.FIT_CONCERN)
    c.at(local(2026, 3, 20, 11))
    c.cct_done(R)
    c.at(local(2026, 3, 24, 9))
    c.caseload(row(clinician=NEW_CLINICIAN))
    c.at(local(2026, 4, 6, 9))


def other_providers(c: Clinic) -> None:
    c.platform.care_team[:] = ["Dr. Lee (psychiatry)"]
    c.caseload(row(platform_id="prov-dana"))
    c.at(local(2026, 3, 16, 10, 30))
    c.send_for_me(R)
    c.at(local(2026, 3, 20, 15))
    c.session(
        R, ATTENDED, session_at=local(2026, 3, 20, 14), provider="prov-lee",
        said="attends a session with another provider (Dr. Lee)",
    )
    c.at(local(2026, 3, 30, 11))
    c.send_for_me(R)
    c.at(local(2026, 4, 13, 11))
    c.send_for_me(R)
    c.at(local(2026, 4, 28, 9))
    c.step(R, ChecklistStep.NOTES_SIGNED)
    c.checklist_context("other providers")
    c.checklist_context("care team")
    c.step(R, ChecklistStep.OTHER_PROVIDERS, "yes")
    c.at(local(2026, 4, 29, 10))
    c.cct_done(R)
    c.at(local(2026, 6, 1, 9))


def manual_discharge(c: Clinic) -> None:
    c.caseload(row(last_contact="2026-03-02T10:00", booked="2026-03-09T10:00"))
    c.at(local(2026, 3, 3, 14))
    c.refused("runs /care discharge R-1042", c.service.checklist.open_discharge, R, actor=c.me)
    c.act(
        "runs /care discharge R-1042 with a reason",
        c.service.checklist.open_discharge, R, actor=c.me,
        reason="Client emailed that they moved abroad and asked to close the file",
    )
    c.refused(
        "ticks attempts documented",
        c.service.checklist.complete_step, R, ChecklistStep.ATTEMPTS_DOCUMENTED, actor=c.me,
    )
    c.act(
        "runs /care attempts R-1042 with a reason",
        c.service.checklist.complete_step, R, ChecklistStep.ATTEMPTS_DOCUMENTED, actor=c.me,
        reason="No outreach needed: the client asked to close the file",
    )
    c.step(R, ChecklistStep.NOTES_SIGNED)
    c.step(R, ChecklistStep.OTHER_PROVIDERS, "no")
    c.summary(R)


def return_by_booking(c: Clinic) -> None:
    communication_to_archive(c)
    c.at(local(2026, 6, 3, 13))
    c.session(R, SCHEDULED, session_at=local(2026, 6, 10, 10), said="books a session for Wed 06-10")
    c.at(local(2026, 6, 24, 11))


def return_by_message(c: Clinic) -> None:
    communication_to_archive(c)
    c.at(local(2026, 6, 3, 13))
    c.message(R)
    c.at(local(2026, 6, 18, 9))


def communication_to_checklist(c: Clinic) -> None:
    c.caseload(row(last_session="2026-03-02T10:00"))
    for when in (local(2026, 3, 16, 10, 30), local(2026, 3, 30, 11), local(2026, 4, 13, 11)):
        c.at(when)
        c.send_for_me(R)
    c.at(local(2026, 4, 27, 12))


def communication_to_archive(c: Clinic) -> None:
    communication_to_checklist(c)
    c.at(local(2026, 4, 28, 9))
    _finish_checklist(c)
    c.cct_done(R)


def cancel_and_rebook(c: Clinic) -> None:
    c.caseload(row())
    c.at(local(2026, 3, 16, 10, 30))
    c.send_for_me(R)
    c.at(local(2026, 3, 17, 9))
    c.session(R, SCHEDULED, session_at=local(2026, 3, 19, 10), said="books a session for Thu 03-19")
    moves = (
        (local(2026, 3, 18, 12), local(2026, 3, 19, 10), local(2026, 3, 26, 10)),
        (local(2026, 3, 25, 12), local(2026, 3, 26, 10), local(2026, 4, 2, 10)),
        (local(2026, 3, 31, 12), local(2026, 4, 2, 10), local(2026, 4, 9, 10)),
    )
    for now, old, new in moves:
        c.at(now)
        c.session(
            R, CANCELLED, session_at=old, cancellation=Cancellation.RESCHEDULED, moved_to=new,
            said=f"reschedules the session to {new.astimezone(TORONTO):%a %m-%d}",
        )
    c.at(local(2026, 4, 9, 10, 50))
    c.session(R, ATTENDED, session_at=local(2026, 4, 9, 10), said="attends the session")
    c.at(local(2026, 4, 10, 9))


def escalation_dates(c: Clinic) -> None:
    c.caseload(row())
    c.at(local(2026, 4, 10, 9))


def weekend_overdue(c: Clinic) -> None:
    # Imported on a Sunday (the issue's `tick --now 2026-11-29T16:00:00Z`): check-in 1 has been
    # due since November 13, and still waits for Monday's working hours.
    c.caseload(row(last_contact="2026-10-30T10:00"))
    c.at(local(2026, 11, 29, 16))
    c.at(local(2026, 11, 30, 12))


def cct_in_practice_hours(c: Clinic) -> None:
    # The clinician finishes the checklist on a Saturday: CCT hears on Monday morning.
    communication_to_checklist(c)
    c.at(local(2026, 5, 2, 10))
    _finish_checklist(c)
    c.at(local(2026, 5, 4, 12))


def pause_until(c: Clinic) -> None:
    c.caseload(row())
    c.at(local(2026, 3, 16, 10, 30))
    c.act("pauses outreach for 14 days", c.service.outreach.pause_outreach, R, actor=c.me,
          until=local(2026, 3, 30, 0))
    c.at(local(2026, 3, 31, 9))


def not_the_clients_doing(c: Clinic) -> None:
    c.caseload(row(booked="2026-03-04T10:00"))
    for day in (5, 6, 9, 10):
        c.session(R, SCHEDULED, session_at=local(2026, 3, day, 10), said=f"books a session for 03-{day:02d}")
    c.at(local(2026, 3, 4, 10, 50))
    c.session(R, NO_SHOW, session_at=local(2026, 3, 4, 10), said="no-show")
    c.at(local(2026, 3, 5, 8))
    c.session(R, CANCELLED, session_at=local(2026, 3, 5, 10), cancellation=Cancellation.PROVIDER,
              said="the provider cancels (illness)")
    c.at(local(2026, 3, 6, 8))
    c.session(R, CANCELLED, session_at=local(2026, 3, 6, 10), cancellation=Cancellation.DELETED,
              said="the appointment is deleted (booked in error)")
    c.at(local(2026, 3, 9, 10, 50))
    c.session(R, NO_SHOW, session_at=local(2026, 3, 9, 10), said="no-show")
    c.at(local(2026, 3, 10, 10, 50))
    c.session(R, CANCELLED, session_at=local(2026, 3, 10, 10), said="the client cancels")
    c.at(local(2026, 3, 11, 9))




def _path(key: str, title: str, story: str, play: Callable[[Clinic], None],
          start: tuple[int, ...] = (2026, 3, 3, 12)) -> Path:
    return Path(key, title, story, start, play, EXPECTED.get(key, ""))


def paths() -> tuple[Path, ...]:
    """The guide's paths in the order a clinical lead reads them."""
    return (
        _path("communication", "Disengaged from communication",
              "No contact for 14 days and nothing booked: three check-ins two weeks apart, the "
              "last one the closing message with the crisis line; 8 weeks without a reply and 14 "
              "days after the final check-in, the checklist; CCT archives.", communication),
        _path("attendance", "Disengaged from attendance, nothing booked",
              "Three no-shows in a row: check-in 1 at once, the final (closing) check-in 14 days "
              "later, the checklist 14 days after the final check-in is documented.", attendance),
        _path("attendance_booked_attended", "Three misses while a session is still booked: attended",
              "Nothing moves while a session is booked; it is attended, so the client re-engaged "
              "and is active (silence clock from that session).", attendance_booked_attended),
        _path("attendance_booked_missed", "Three misses while a session is still booked: missed",
              "Nothing moves while a session is booked; it is missed too, so check-in 1 goes out "
              "at once.", attendance_booked_missed),
        _path("reply_continuing", "Client replies: continuing care",
              "Outreach stops; the clinician classifies the reply as continuing care; the client "
              "is active and the silence clock starts at the reply.", reply_continuing),
        _path("reply_met_goals", "Client replies: met their goals",
              "Outreach stops; the reply means the goals are met: this process ends (the clinician "
              "completes a Discharge - Completed instead).", reply_met_goals),
        _path("reply_other", "Client replies: other",
              "Outreach stops; the clinician chooses Other: outreach picks up where it left off, "
              "check-in 2 on its original date.", reply_other),
        _path("rematch_then_silence", "Fit concern, rematch, then silence",
              "The reply is a fit concern: CCT is asked for a rematch; after CCT's done, nothing "
              "is said while the caseload still names the first clinician; once it names the new "
              "one they are told, and outreach starts 14 days after CCT's done.",
              rematch_then_silence),
        _path("other_providers", "Still seeing other providers",
              "A session with another provider is recorded but doesn't stop this clinician's "
              "outreach; at the checklist the care team is named; CCT removes the clinician.",
              other_providers),
        _path("not_the_clients_doing", "Cancellations that are not the client's",
              "A provider's cancellation and a deleted appointment don't count toward 3 in a row; "
              "the third real miss starts the attendance path.", not_the_clients_doing),
        _path("manual_discharge", "Checklist opened by hand before the criteria",
              "/care discharge names what is unmet and needs a reason; step 1 with no documented "
              "attempt needs one too; both reasons go into the summary.", manual_discharge),
        _path("return_by_booking", "Return after discharge: a booking",
              "A discharged client books: one message to the clinician, active again; the silence "
              "clock runs from the booked session.", return_by_booking),
        _path("return_by_message", "Return after discharge: a message",
              "A discharged client writes: one message to the clinician (no reply to classify, no "
              "check-in that day); the silence clock starts at the message.", return_by_message),
        _path("cancel_and_rebook", "Rescheduling during outreach",
              "A booking holds outreach; rescheduling it three times is neither a miss nor a "
              "re-engagement; the attended session is.", cancel_and_rebook),
        _path("escalation_dates", "A check-in nobody acts on",
              "Two reminders three days apart, then CCT is told, with the date the check-in was "
              "first due.", escalation_dates),
        _path("weekend_overdue", "Overdue when found on a Sunday",
              "Imported on Sunday with check-in 1 long overdue: nothing on Sunday, the prompt at "
              "the start of Monday's working hours.", weekend_overdue, (2026, 11, 29, 11)),
        _path("cct_in_practice_hours", "CCT is written to in the practice's hours",
              "The clinician finishes the checklist on a Saturday; CCT's request is posted Monday "
              "morning.", cct_in_practice_hours),
        _path("pause_until", "Pause until a date",
              "Outreach paused for 14 days: nothing meanwhile, and a reminder on the day.",
              pause_until),
    )


EXPECTED: dict[str, str] = {
    "communication": """
Tue 2026-03-03 12:00 | practice admin | imports the caseload (1 client(s))
Mon 2026-03-16 10:00 | clinician DM | Check-in 1 of 3 is due for R-1042. / Why: No client contact for 14 days and no session booked: outreach starts.
Mon 2026-03-16 10:30 | clinician does | presses Send for me
Mon 2026-03-16 10:30 | client chat | It's been a little while since we last connected, and I wanted to check in and see how you're doing.
Mon 2026-03-16 10:30 | clinician does | pastes the admin note into the chart and presses Documented in chart
Tue 2026-03-24 15:00 | clinician does | adds an admin note: /care note R-1042 Called, left a voicemail
Mon 2026-03-30 10:30 | clinician DM | Check-in 2 of 3 is due for R-1042. / Why: No reply since the last check-in on March 16, 2026.
Mon 2026-03-30 11:00 | clinician does | presses Send for me
Mon 2026-03-30 11:00 | client chat | I'm reaching out again to see how things are going.
Mon 2026-03-30 11:00 | clinician does | pastes the admin note into the chart and presses Documented in chart
Mon 2026-04-13 11:00 | clinician DM | Final check-in is due for R-1042. / Why: No reply since the last check-in on March 30, 2026.
Mon 2026-04-13 11:00 | clinician does | presses Send for me
Mon 2026-04-13 11:00 | client chat | I'm checking in one last time, since we haven't been in touch for a while. / If you ever feel unsafe or in crisis, please call or text 988 (Suicide Crisis Helpline), any time, or contact your local emergency services right away.
Mon 2026-04-13 11:00 | clinician does | pastes the admin note into the chart and presses Documented in chart
Mon 2026-04-27 11:00 | clinician DM | Discharge checklist for R-1042 / 3 check-ins sent and no reply for 8+ weeks: inactive by communication, the discharge checklist opens.
Tue 2026-04-28 09:00 | clinician does | ticks notes signed
Tue 2026-04-28 09:00 | clinician does | ticks other providers (no)
Tue 2026-04-28 09:00 | clinician does | writes the discharge summary
Tue 2026-04-28 09:00 | summary note says | Last session date: 2026-03-02
Tue 2026-04-28 09:00 | summary note says | - 2026-03-16: Outreach check-in 1 of 3 sent
Tue 2026-04-28 09:00 | summary note says | - 2026-03-24: Admin note on outreach logged
Tue 2026-04-28 09:00 | summary note says | - 2026-03-30: Outreach check-in 2 of 3 sent
Tue 2026-04-28 09:00 | summary note says | - 2026-04-13: Outreach final check-in sent
Tue 2026-04-28 09:00 | summary note says | The client did not respond to outreach and is discharged due to inactivity. The file is being closed and the client will be moved to the Discharged Clients group; they may schedule again at any time without barriers.
Tue 2026-04-28 09:00 | clinician does | ticks moved to group
Tue 2026-04-28 09:00 | CCT channel | Chart check and archive for R-1042 / @U0CLIN0001 has completed the discharge checklist (inactivity) and moved the client to Discharged Clients.
Thu 2026-04-30 14:00 | CCT does | marks its part done
""",
    "attendance": """
Tue 2026-03-03 12:00 | practice admin | imports the caseload (1 client(s))
Tue 2026-03-03 12:00 | client / platform | books a session for Mon 03-16
Tue 2026-03-03 12:00 | client / platform | books a session for Mon 03-23
Mon 2026-03-09 10:50 | client / platform | no-show
Mon 2026-03-16 10:50 | client / platform | no-show
Mon 2026-03-16 10:50 | clinician DM | A gentle heads-up about R-1042: missed 2 of the last 2. / Nothing is due yet.
Mon 2026-03-23 10:50 | client / platform | no-show
Mon 2026-03-23 10:50 | clinician DM | Check-in 1 of 2 is due for R-1042. / Why: 3 consecutive cancellations/no-shows: inactive by attendance, a check-in is due now.
Mon 2026-03-23 11:00 | clinician does | presses Send for me
Mon 2026-03-23 11:00 | client chat | It's been a little while since we last connected, and I wanted to check in and see how you're doing.
Mon 2026-03-23 11:00 | clinician does | pastes the admin note into the chart and presses Documented in chart
Mon 2026-04-06 11:00 | clinician DM | Final check-in is due for R-1042. / Why: No reply since the last check-in on March 23, 2026.
Mon 2026-04-06 11:30 | clinician does | presses Send for me
Mon 2026-04-06 11:30 | client chat | I'm checking in one last time, since we haven't been in touch for a while. / If you ever feel unsafe or in crisis, please call or text 988 (Suicide Crisis Helpline), any time, or contact your local emergency services right away.
Mon 2026-04-06 11:30 | clinician does | pastes the admin note into the chart and presses Documented in chart
Mon 2026-04-20 11:30 | clinician DM | Discharge checklist for R-1042 / Inactive by attendance and the final check-in had 14 days without an answer: the discharge checklist opens.
""",
    "attendance_booked_attended": """
Tue 2026-03-03 12:00 | practice admin | imports the caseload (1 client(s))
Tue 2026-03-03 12:00 | client / platform | books a session for Mon 03-16
Tue 2026-03-03 12:00 | client / platform | books a session for Mon 03-23
Tue 2026-03-03 12:00 | client / platform | books a session for Mon 03-30
Mon 2026-03-09 10:50 | client / platform | no-show
Mon 2026-03-16 10:50 | client / platform | no-show
Mon 2026-03-16 10:50 | clinician DM | A gentle heads-up about R-1042: missed 2 of the last 2. / Nothing is due yet.
Mon 2026-03-23 10:50 | client / platform | no-show
Mon 2026-03-30 10:50 | client / platform | attends the session
Mon 2026-03-30 10:50 | clinician DM | Good news: R-1042 re-engaged. / Outreach has stopped, no further check-ins will be prompted, and the client is active again.
Mon 2026-04-13 10:00 | clinician DM | Check-in 1 of 3 is due for R-1042. / Why: No client contact for 14 days and no session booked: outreach starts.
""",
    "attendance_booked_missed": """
Tue 2026-03-03 12:00 | practice admin | imports the caseload (1 client(s))
Tue 2026-03-03 12:00 | client / platform | books a session for Mon 03-16
Tue 2026-03-03 12:00 | client / platform | books a session for Mon 03-23
Tue 2026-03-03 12:00 | client / platform | books a session for Mon 03-30
Mon 2026-03-09 10:50 | client / platform | no-show
Mon 2026-03-16 10:50 | client / platform | no-show
Mon 2026-03-16 10:50 | clinician DM | A gentle heads-up about R-1042: missed 2 of the last 2. / Nothing is due yet.
Mon 2026-03-23 10:50 | client / platform | no-show
Mon 2026-03-30 10:50 | client / platform | no-show
Mon 2026-03-30 10:50 | clinician DM | Check-in 1 of 2 is due for R-1042. / Why: 3 consecutive cancellations/no-shows: inactive by attendance, a check-in is due now.
""",
    "reply_continuing": """
Tue 2026-03-03 12:00 | practice admin | imports the caseload (1 client(s))
Mon 2026-03-16 10:00 | clinician DM | Check-in 1 of 3 is due for R-1042. / Why: No client contact for 14 days and no session booked: outreach starts.
Mon 2026-03-16 10:30 | clinician does | presses Send for me
Mon 2026-03-16 10:30 | client chat | It's been a little while since we last connected, and I wanted to check in and see how you're doing.
Mon 2026-03-16 10:30 | clinician does | pastes the admin note into the chart and presses Documented in chart
Wed 2026-03-18 14:00 | client / platform | the client writes in the chat
Wed 2026-03-18 14:00 | clinician DM | R-1042 replied, so outreach has stopped and no further check-ins will be sent. / What does the reply mean? Choose the closest:
Thu 2026-03-19 09:30 | clinician does | classifies the reply: continuing
Wed 2026-04-01 14:00 | clinician DM | Check-in 1 of 3 is due for R-1042. / Why: No client contact for 14 days and no session booked: outreach starts.
""",
    "reply_met_goals": """
Tue 2026-03-03 12:00 | practice admin | imports the caseload (1 client(s))
Mon 2026-03-16 10:00 | clinician DM | Check-in 1 of 3 is due for R-1042. / Why: No client contact for 14 days and no session booked: outreach starts.
Mon 2026-03-16 10:30 | clinician does | presses Send for me
Mon 2026-03-16 10:30 | client chat | It's been a little while since we last connected, and I wanted to check in and see how you're doing.
Mon 2026-03-16 10:30 | clinician does | pastes the admin note into the chart and presses Documented in chart
Wed 2026-03-18 14:00 | client / platform | the client writes in the chat
Wed 2026-03-18 14:00 | clinician DM | R-1042 replied, so outreach has stopped and no further check-ins will be sent. / What does the reply mean? Choose the closest:
Thu 2026-03-19 09:30 | clinician does | classifies the reply: met goals
""",
    "reply_other": """
Tue 2026-03-03 12:00 | practice admin | imports the caseload (1 client(s))
Mon 2026-03-16 10:00 | clinician DM | Check-in 1 of 3 is due for R-1042. / Why: No client contact for 14 days and no session booked: outreach starts.
Mon 2026-03-16 10:30 | clinician does | presses Send for me
Mon 2026-03-16 10:30 | client chat | It's been a little while since we last connected, and I wanted to check in and see how you're doing.
Mon 2026-03-16 10:30 | clinician does | pastes the admin note into the chart and presses Documented in chart
Wed 2026-03-18 14:00 | client / platform | the client writes in the chat
Wed 2026-03-18 14:00 | clinician DM | R-1042 replied, so outreach has stopped and no further check-ins will be sent. / What does the reply mean? Choose the closest:
Thu 2026-03-19 09:30 | clinician does | classifies the reply: other
Mon 2026-03-30 10:30 | clinician DM | Check-in 2 of 3 is due for R-1042. / Why: Outreach carries on after the client's message of March 18, 2026.
""",
    "rematch_then_silence": """
Tue 2026-03-03 12:00 | practice admin | imports the caseload (1 client(s))
Mon 2026-03-16 10:00 | clinician DM | Check-in 1 of 3 is due for R-1042. / Why: No client contact for 14 days and no session booked: outreach starts.
Mon 2026-03-16 10:30 | clinician does | presses Send for me
Mon 2026-03-16 10:30 | client chat | It's been a little while since we last connected, and I wanted to check in and see how you're doing.
Mon 2026-03-16 10:30 | clinician does | pastes the admin note into the chart and presses Documented in chart
Wed 2026-03-18 14:00 | client / platform | the client writes in the chat
Wed 2026-03-18 14:00 | clinician DM | R-1042 replied, so outreach has stopped and no further check-ins will be sent. / What does the reply mean? Choose the closest:
Thu 2026-03-19 09:30 | clinician does | classifies the reply: fit concern
Thu 2026-03-19 09:30 | CCT channel | Rematch request (Fit Guarantee) for R-1042 / The client shared a fit concern with @U0CLIN0001.
Fri 2026-03-20 11:00 | CCT does | marks its part done
Tue 2026-03-24 09:00 | practice admin | imports the caseload (1 client(s))
Tue 2026-03-24 09:00 | new clinician DM | R-1042 is now on your caseload. The CCT finished a rematch or care-team change, and the client is active with you. / Nothing is needed from you now.
Fri 2026-04-03 11:00 | new clinician DM | Check-in 1 of 3 is due for R-1042. / Why: No client contact for 14 days and no session booked: outreach starts.
""",
    "other_providers": """
Tue 2026-03-03 12:00 | practice admin | imports the caseload (1 client(s))
Mon 2026-03-16 10:00 | clinician DM | Check-in 1 of 3 is due for R-1042. / Why: No client contact for 14 days and no session booked: outreach starts.
Mon 2026-03-16 10:30 | clinician does | presses Send for me
Mon 2026-03-16 10:30 | client chat | It's been a little while since we last connected, and I wanted to check in and see how you're doing.
Mon 2026-03-16 10:30 | clinician does | pastes the admin note into the chart and presses Documented in chart
Fri 2026-03-20 15:00 | client / platform | attends a session with another provider (Dr. Lee)
Mon 2026-03-30 10:30 | clinician DM | Check-in 2 of 3 is due for R-1042. / Why: No reply since the last check-in on March 16, 2026.
Mon 2026-03-30 11:00 | clinician does | presses Send for me
Mon 2026-03-30 11:00 | client chat | I'm reaching out again to see how things are going.
Mon 2026-03-30 11:00 | clinician does | pastes the admin note into the chart and presses Documented in chart
Mon 2026-04-13 11:00 | clinician DM | Final check-in is due for R-1042. / Why: No reply since the last check-in on March 30, 2026.
Mon 2026-04-13 11:00 | clinician does | presses Send for me
Mon 2026-04-13 11:00 | client chat | I'm checking in one last time, since we haven't been in touch for a while. / If you ever feel unsafe or in crisis, please call or text 988 (Suicide Crisis Helpline), any time, or contact your local emergency services right away.
Mon 2026-04-13 11:00 | clinician does | pastes the admin note into the chart and presses Documented in chart
Mon 2026-04-27 11:00 | clinician DM | Discharge checklist for R-1042 / 3 check-ins sent and no reply for 8+ weeks: inactive by communication, the discharge checklist opens.
Tue 2026-04-28 09:00 | clinician does | ticks notes signed
Tue 2026-04-28 09:00 | checklist shows | Sessions with other providers during outreach: March 20, 2026 (provider prov-lee).
Tue 2026-04-28 09:00 | checklist shows | The platform lists on the care team: Dr. Lee (psychiatry).
Tue 2026-04-28 09:00 | clinician does | ticks other providers (yes)
Tue 2026-04-28 09:00 | CCT channel | Care-team removal for R-1042 / @U0CLIN0001 is ending their part of this client's care, but the client is still seeing other providers, so the file stays open.
Wed 2026-04-29 10:00 | CCT does | marks its part done
""",
    "not_the_clients_doing": """
Tue 2026-03-03 12:00 | practice admin | imports the caseload (1 client(s))
Tue 2026-03-03 12:00 | client / platform | books a session for 03-05
Tue 2026-03-03 12:00 | client / platform | books a session for 03-06
Tue 2026-03-03 12:00 | client / platform | books a session for 03-09
Tue 2026-03-03 12:00 | client / platform | books a session for 03-10
Wed 2026-03-04 10:50 | client / platform | no-show
Thu 2026-03-05 08:00 | client / platform | the provider cancels (illness)
Fri 2026-03-06 08:00 | client / platform | the appointment is deleted (booked in error)
Mon 2026-03-09 10:50 | client / platform | no-show
Mon 2026-03-09 10:50 | clinician DM | A gentle heads-up about R-1042: missed 2 of the last 2. / Nothing is due yet.
Tue 2026-03-10 10:50 | client / platform | the client cancels
Tue 2026-03-10 10:50 | clinician DM | Check-in 1 of 2 is due for R-1042. / Why: 3 consecutive cancellations/no-shows: inactive by attendance, a check-in is due now.
""",
    "manual_discharge": """
Tue 2026-03-03 12:00 | practice admin | imports the caseload (1 client(s))
Tue 2026-03-03 14:00 | clinician does | runs /care discharge R-1042
Tue 2026-03-03 14:00 | clinician sees | The guide's criteria aren't met: only 0 of 3 check-ins documented; last contact was March 2, 2026; a session is booked for March 9, 2026. To open the checklist anyway, give your reason: `/care discharge R-1042 <reason>`.
Tue 2026-03-03 14:00 | clinician does | runs /care discharge R-1042 with a reason
Tue 2026-03-03 14:00 | clinician DM | Discharge checklist for R-1042 / Discharge checklist opened by the clinician.
Tue 2026-03-03 14:00 | clinician does | ticks attempts documented
Tue 2026-03-03 14:00 | clinician sees | The guide's criteria aren't met: no re-engagement attempt (check-in) is documented. To tick it anyway, confirm with your reason: `/care attempts R-1042 <reason>`.
Tue 2026-03-03 14:00 | clinician does | runs /care attempts R-1042 with a reason
Tue 2026-03-03 14:00 | clinician does | ticks notes signed
Tue 2026-03-03 14:00 | clinician does | ticks other providers (no)
Tue 2026-03-03 14:00 | clinician does | writes the discharge summary
Tue 2026-03-03 14:00 | summary note says | Last session date: none on record
Tue 2026-03-03 14:00 | summary note says | Opened before the guide's criteria were met (only 0 of 3 check-ins documented; last contact was March 2, 2026; a session is booked for March 9, 2026). Reason given: Client emailed that they moved abroad and asked to close the file. Re-engagement attempts confirmed with no check-in documented. Reason given: No outreach needed: the client asked to close the file
Tue 2026-03-03 14:00 | summary note says | The file is being closed and the client will be moved to the Discharged Clients group; they may schedule again at any time without barriers.
""",
    "return_by_booking": """
Tue 2026-03-03 12:00 | practice admin | imports the caseload (1 client(s))
Mon 2026-03-16 10:00 | clinician DM | Check-in 1 of 3 is due for R-1042. / Why: No client contact for 14 days and no session booked: outreach starts.
Mon 2026-03-16 10:30 | clinician does | presses Send for me
Mon 2026-03-16 10:30 | client chat | It's been a little while since we last connected, and I wanted to check in and see how you're doing.
Mon 2026-03-16 10:30 | clinician does | pastes the admin note into the chart and presses Documented in chart
Mon 2026-03-30 10:30 | clinician DM | Check-in 2 of 3 is due for R-1042. / Why: No reply since the last check-in on March 16, 2026.
Mon 2026-03-30 11:00 | clinician does | presses Send for me
Mon 2026-03-30 11:00 | client chat | I'm reaching out again to see how things are going.
Mon 2026-03-30 11:00 | clinician does | pastes the admin note into the chart and presses Documented in chart
Mon 2026-04-13 11:00 | clinician DM | Final check-in is due for R-1042. / Why: No reply since the last check-in on March 30, 2026.
Mon 2026-04-13 11:00 | clinician does | presses Send for me
Mon 2026-04-13 11:00 | client chat | I'm checking in one last time, since we haven't been in touch for a while. / If you ever feel unsafe or in crisis, please call or text 988 (Suicide Crisis Helpline), any time, or contact your local emergency services right away.
Mon 2026-04-13 11:00 | clinician does | pastes the admin note into the chart and presses Documented in chart
Mon 2026-04-27 11:00 | clinician DM | Discharge checklist for R-1042 / 3 check-ins sent and no reply for 8+ weeks: inactive by communication, the discharge checklist opens.
Tue 2026-04-28 09:00 | clinician does | ticks notes signed
Tue 2026-04-28 09:00 | clinician does | ticks other providers (no)
Tue 2026-04-28 09:00 | clinician does | writes the discharge summary
Tue 2026-04-28 09:00 | summary note says | Last session date: 2026-03-02
Tue 2026-04-28 09:00 | summary note says | - 2026-03-16: Outreach check-in 1 of 3 sent
Tue 2026-04-28 09:00 | summary note says | - 2026-03-30: Outreach check-in 2 of 3 sent
Tue 2026-04-28 09:00 | summary note says | - 2026-04-13: Outreach final check-in sent
Tue 2026-04-28 09:00 | summary note says | The client did not respond to outreach and is discharged due to inactivity. The file is being closed and the client will be moved to the Discharged Clients group; they may schedule again at any time without barriers.
Tue 2026-04-28 09:00 | clinician does | ticks moved to group
Tue 2026-04-28 09:00 | CCT channel | Chart check and archive for R-1042 / @U0CLIN0001 has completed the discharge checklist (inactivity) and moved the client to Discharged Clients.
Tue 2026-04-28 09:00 | CCT does | marks its part done
Wed 2026-06-03 13:00 | client / platform | books a session for Wed 06-10
Wed 2026-06-03 13:00 | clinician DM | R-1042 is back. The client got in touch again after their file was closed. / Their file is re-opened and they're active on your caseload again.
Wed 2026-06-24 10:00 | clinician DM | Check-in 1 of 3 is due for R-1042. / Why: No client contact for 14 days and no session booked: outreach starts.
""",
    "return_by_message": """
Tue 2026-03-03 12:00 | practice admin | imports the caseload (1 client(s))
Mon 2026-03-16 10:00 | clinician DM | Check-in 1 of 3 is due for R-1042. / Why: No client contact for 14 days and no session booked: outreach starts.
Mon 2026-03-16 10:30 | clinician does | presses Send for me
Mon 2026-03-16 10:30 | client chat | It's been a little while since we last connected, and I wanted to check in and see how you're doing.
Mon 2026-03-16 10:30 | clinician does | pastes the admin note into the chart and presses Documented in chart
Mon 2026-03-30 10:30 | clinician DM | Check-in 2 of 3 is due for R-1042. / Why: No reply since the last check-in on March 16, 2026.
Mon 2026-03-30 11:00 | clinician does | presses Send for me
Mon 2026-03-30 11:00 | client chat | I'm reaching out again to see how things are going.
Mon 2026-03-30 11:00 | clinician does | pastes the admin note into the chart and presses Documented in chart
Mon 2026-04-13 11:00 | clinician DM | Final check-in is due for R-1042. / Why: No reply since the last check-in on March 30, 2026.
Mon 2026-04-13 11:00 | clinician does | presses Send for me
Mon 2026-04-13 11:00 | client chat | I'm checking in one last time, since we haven't been in touch for a while. / If you ever feel unsafe or in crisis, please call or text 988 (Suicide Crisis Helpline), any time, or contact your local emergency services right away.
Mon 2026-04-13 11:00 | clinician does | pastes the admin note into the chart and presses Documented in chart
Mon 2026-04-27 11:00 | clinician DM | Discharge checklist for R-1042 / 3 check-ins sent and no reply for 8+ weeks: inactive by communication, the discharge checklist opens.
Tue 2026-04-28 09:00 | clinician does | ticks notes signed
Tue 2026-04-28 09:00 | clinician does | ticks other providers (no)
Tue 2026-04-28 09:00 | clinician does | writes the discharge summary
Tue 2026-04-28 09:00 | summary note says | Last session date: 2026-03-02
Tue 2026-04-28 09:00 | summary note says | - 2026-03-16: Outreach check-in 1 of 3 sent
Tue 2026-04-28 09:00 | summary note says | - 2026-03-30: Outreach check-in 2 of 3 sent
Tue 2026-04-28 09:00 | summary note says | - 2026-04-13: Outreach final check-in sent
Tue 2026-04-28 09:00 | summary note says | The client did not respond to outreach and is discharged due to inactivity. The file is being closed and the client will be moved to the Discharged Clients group; they may schedule again at any time without barriers.
Tue 2026-04-28 09:00 | clinician does | ticks moved to group
Tue 2026-04-28 09:00 | CCT channel | Chart check and archive for R-1042 / @U0CLIN0001 has completed the discharge checklist (inactivity) and moved the client to Discharged Clients.
Tue 2026-04-28 09:00 | CCT does | marks its part done
Wed 2026-06-03 13:00 | client / platform | the client writes in the chat
Wed 2026-06-03 13:00 | clinician DM | R-1042 is back. The client got in touch again after their file was closed. / Their file is re-opened and they're active on your caseload again.
Wed 2026-06-17 13:00 | clinician DM | Check-in 1 of 3 is due for R-1042. / Why: No client contact for 14 days and no session booked: outreach starts.
""",
    "cancel_and_rebook": """
Tue 2026-03-03 12:00 | practice admin | imports the caseload (1 client(s))
Mon 2026-03-16 10:00 | clinician DM | Check-in 1 of 3 is due for R-1042. / Why: No client contact for 14 days and no session booked: outreach starts.
Mon 2026-03-16 10:30 | clinician does | presses Send for me
Mon 2026-03-16 10:30 | client chat | It's been a little while since we last connected, and I wanted to check in and see how you're doing.
Mon 2026-03-16 10:30 | clinician does | pastes the admin note into the chart and presses Documented in chart
Tue 2026-03-17 09:00 | client / platform | books a session for Thu 03-19
Wed 2026-03-18 12:00 | client / platform | reschedules the session to Thu 03-26
Wed 2026-03-25 12:00 | client / platform | reschedules the session to Thu 04-02
Tue 2026-03-31 12:00 | client / platform | reschedules the session to Thu 04-09
Thu 2026-04-09 10:50 | client / platform | attends the session
Thu 2026-04-09 10:50 | clinician DM | Good news: R-1042 re-engaged. / Outreach has stopped, no further check-ins will be prompted, and the client is active again.
""",
    "escalation_dates": """
Tue 2026-03-03 12:00 | practice admin | imports the caseload (1 client(s))
Mon 2026-03-16 10:00 | clinician DM | Check-in 1 of 3 is due for R-1042. / Why: No client contact for 14 days and no session booked: outreach starts.
Thu 2026-03-19 10:00 | clinician DM | A gentle reminder: Check-in 1 of 3 for R-1042 is still open (due March 16, 2026). / It is waiting for you in this conversation.
Mon 2026-03-23 09:00 | clinician DM | A gentle reminder: Check-in 1 of 3 for R-1042 is still open (due March 16, 2026). / It is waiting for you in this conversation.
Mon 2026-03-30 10:00 | CCT channel | Overdue: Check-in 1 of 3 for R-1042 / It has been waiting since March 16, 2026, when it was due, and reminders to @U0CLIN0001 haven't moved it yet.
""",
    "weekend_overdue": """
Sun 2026-11-29 11:00 | practice admin | imports the caseload (1 client(s))
Mon 2026-11-30 09:00 | clinician DM | Check-in 1 of 3 is due for R-1042. / Why: No client contact for 14 days and no session booked: outreach starts.
""",
    "cct_in_practice_hours": """
Tue 2026-03-03 12:00 | practice admin | imports the caseload (1 client(s))
Mon 2026-03-16 10:00 | clinician DM | Check-in 1 of 3 is due for R-1042. / Why: No client contact for 14 days and no session booked: outreach starts.
Mon 2026-03-16 10:30 | clinician does | presses Send for me
Mon 2026-03-16 10:30 | client chat | It's been a little while since we last connected, and I wanted to check in and see how you're doing.
Mon 2026-03-16 10:30 | clinician does | pastes the admin note into the chart and presses Documented in chart
Mon 2026-03-30 10:30 | clinician DM | Check-in 2 of 3 is due for R-1042. / Why: No reply since the last check-in on March 16, 2026.
Mon 2026-03-30 11:00 | clinician does | presses Send for me
Mon 2026-03-30 11:00 | client chat | I'm reaching out again to see how things are going.
Mon 2026-03-30 11:00 | clinician does | pastes the admin note into the chart and presses Documented in chart
Mon 2026-04-13 11:00 | clinician DM | Final check-in is due for R-1042. / Why: No reply since the last check-in on March 30, 2026.
Mon 2026-04-13 11:00 | clinician does | presses Send for me
Mon 2026-04-13 11:00 | client chat | I'm checking in one last time, since we haven't been in touch for a while. / If you ever feel unsafe or in crisis, please call or text 988 (Suicide Crisis Helpline), any time, or contact your local emergency services right away.
Mon 2026-04-13 11:00 | clinician does | pastes the admin note into the chart and presses Documented in chart
Mon 2026-04-27 11:00 | clinician DM | Discharge checklist for R-1042 / 3 check-ins sent and no reply for 8+ weeks: inactive by communication, the discharge checklist opens.
Thu 2026-04-30 11:00 | clinician DM | A gentle reminder: All session notes completed and signed/locked for R-1042 is still open (due April 27, 2026). / It is waiting for you in this conversation.
Sat 2026-05-02 10:00 | clinician does | ticks notes signed
Sat 2026-05-02 10:00 | clinician does | ticks other providers (no)
Sat 2026-05-02 10:00 | clinician does | writes the discharge summary
Sat 2026-05-02 10:00 | summary note says | Last session date: 2026-03-02
Sat 2026-05-02 10:00 | summary note says | - 2026-03-16: Outreach check-in 1 of 3 sent
Sat 2026-05-02 10:00 | summary note says | - 2026-03-30: Outreach check-in 2 of 3 sent
Sat 2026-05-02 10:00 | summary note says | - 2026-04-13: Outreach final check-in sent
Sat 2026-05-02 10:00 | summary note says | The client did not respond to outreach and is discharged due to inactivity. The file is being closed and the client will be moved to the Discharged Clients group; they may schedule again at any time without barriers.
Sat 2026-05-02 10:00 | clinician does | ticks moved to group
Mon 2026-05-04 09:00 | CCT channel | Chart check and archive for R-1042 / @U0CLIN0001 has completed the discharge checklist (inactivity) and moved the client to Discharged Clients.
""",
    "pause_until": """
Tue 2026-03-03 12:00 | practice admin | imports the caseload (1 client(s))
Mon 2026-03-16 10:00 | clinician DM | Check-in 1 of 3 is due for R-1042. / Why: No client contact for 14 days and no session booked: outreach starts.
Mon 2026-03-16 10:30 | clinician does | pauses outreach for 14 days
Mon 2026-03-30 09:00 | clinician DM | Outreach for R-1042 was paused until today. / Nothing resumes by itself.
""",
}

"""Issue #11 on the Slack surface itself: Pause asks until when, App Home names the check-in
exactly, and step 1 with no documented attempt is refused with the way to confirm it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.model import EventKind
from bot.services.types import Actor, Source
from bot.slack.ids import Id
from tests.slack.conftest import CLINICIAN, Bot, buttons, caseload, text_of

TORONTO = ZoneInfo("America/Toronto")
PLATFORM = Actor("platform", Source.PLATFORM)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TORONTO).astimezone(UTC)  # type: ignore[misc]


def home_text(bot: Bot) -> str:
    assert bot.send(bot.slack.app_home_opened(CLINICIAN)).status == 200
    return text_of(bot.fake.home(CLINICIAN) or {})


def test_pause_asks_until_when_and_reminds_the_clinician_that_day(bot: Bot) -> None:
    bot.clock.set(local(2026, 3, 3, 12))
    caseload(bot, f"R-1,{CLINICIAN},Zephyrine,2026-03-02T10:00,,")
    bot.tick(local(2026, 3, 16, 10))
    prompt = bot.dm()[-1]
    assert bot.click(prompt, Id.PAUSE, option="30 days from today").status == 200
    paused = bot.fresh(prompt)
    assert "Outreach paused" in text_of(paused)
    assert "until" in text_of(paused)
    assert "reminded that day" in text_of(paused)
    assert buttons(paused) == []
    assert "Outreach paused until Wed Apr 15" in home_text(bot)
    assert bot.tick(local(2026, 4, 14, 16)).sent == []
    bot.tick(local(2026, 4, 15, 10))
    assert "was paused until today" in text_of(bot.dm()[-1])


def test_app_home_names_the_final_check_in_and_a_booking_that_holds_outreach(bot: Bot) -> None:
    bot.clock.set(local(2026, 3, 3, 12))
    caseload(bot, f"R-1,{CLINICIAN},Zephyrine,2026-03-02T10:00,,")
    recording = bot.service.recording
    for day in (4, 5, 6):
        bot.clock.set(local(2026, 3, day, 11))
        recording.record_session(
            "R-1", EventKind.SESSION_NO_SHOW, occurred_at=local(2026, 3, day, 10), actor=PLATFORM
        )
    bot.tick()
    assert "Check-in 1 of 2 is due" in home_text(bot)
    bot.click(bot.dm()[-1], Id.MARK_SENT)
    assert "Final check-in next" in home_text(bot)
    bot.clock.advance(timedelta(days=1))
    recording.record_session(
        "R-1", EventKind.SESSION_SCHEDULED, occurred_at=bot.clock.now(),
        session_at=local(2026, 3, 24, 10), actor=PLATFORM,
    )
    assert "Final check-in waits for the session booked Tue Mar 24" in home_text(bot)
    assert "2 of 3" not in home_text(bot)


def test_attempts_documented_with_none_on_record_is_refused_with_the_way_to_confirm(
    bot: Bot,
) -> None:
    bot.clock.set(local(2026, 3, 3, 12))
    caseload(bot, f"R-1,{CLINICIAN},Zephyrine,2026-03-02T10:00,,")
    answer = bot.send(
        bot.slack.slash_command("discharge R-1 Moved abroad, asked to close", user_id=CLINICIAN)
    )
    assert answer.status == 200
    checklist = bot.dm()[-1]
    assert bot.click(checklist, Id.STEP_CONFIRM).status == 200
    [refusal] = bot.fake.ephemerals(user=CLINICIAN)
    assert "no re-engagement attempt" in text_of(refusal)
    assert "/care attempts R-1" in text_of(refusal)
    answer = bot.send(
        bot.slack.slash_command("attempts R-1 The client asked to close the file", user_id=CLINICIAN)
    )
    assert "ticked for R-1" in answer.json()["text"]

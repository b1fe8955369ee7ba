"""Acceptance: a client through the whole guide over HTTP only (signed requests in, the fake
Web API out, a fixed clock moved forward with the scheduler's tick + dispatch)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.model import State
from bot.slack.ids import Id
from tests.slack.conftest import (
    CCT_CHANNEL,
    CCT_GROUP_MEMBER,
    CCT_MEMBER,
    CLINICIAN,
    FIRST_NAMES,
    Bot,
    buttons,
    caseload,
    text_of,
)

TORONTO = ZoneInfo("America/Toronto")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TORONTO).astimezone(UTC)  # type: ignore[misc]


def state(bot: Bot, chart: str) -> State:
    [row] = [r for r in bot.service.caseload() if r.chart_id == chart]
    return row.state


def assert_no_first_names_in_cct_channel(bot: Bot) -> None:
    sent = [c.body for c in bot.fake.calls() if c.body.get("channel") == CCT_CHANNEL]
    stored = bot.fake.messages(CCT_CHANNEL)
    for item in [*sent, *stored]:
        blob = text_of(item).lower()
        for name in FIRST_NAMES:
            assert name.lower() not in blob, f"{name} leaked into the CCT channel"


def test_silent_client_goes_through_the_whole_guide(bot: Bot) -> None:
    bot.clock.set(local(2026, 3, 3, 12))
    caseload(bot, f"R-1042,{CLINICIAN},Zephyrine,2026-03-02T10:00,,")

    # Check-ins 1-3: each prompted in the clinician's DM and marked sent with the button.
    for n, when in enumerate([local(2026, 3, 16, 10), local(2026, 3, 30, 10), local(2026, 4, 13, 10)], 1):
        report = bot.tick(when)
        assert len(report.sent) == 1, report
        prompt = bot.dm()[-1]
        assert f"Check-in {n} of 3 is due" in text_of(prompt)
        assert "[client first name]" in text_of(prompt)
        assert "Zephyrine" not in text_of(prompt)
        assert prompt["metadata"]["event_type"] == "discharge_bot_outbox"
        assert bot.click(prompt, Id.MARK_SENT).status == 200
        updated = bot.fresh(prompt)
        assert buttons(updated) == []
        assert f"Marked as sent (check-in {n} of 3) by <@{CLINICIAN}>" in text_of(updated)
        assert len(bot.dm()) == n  # updated in place, nothing new posted

    # No reply: 8 weeks after last contact and 14 days after check-in 3, the checklist opens.
    assert bot.tick(local(2026, 4, 27, 9)).sent == []
    bot.tick(local(2026, 4, 27, 10))
    checklist = bot.dm()[-1]
    assert "Discharge checklist" in text_of(checklist)
    assert state(bot, "R-1042") is State.INACTIVE
    assert buttons(checklist) == [Id.STEP_CONFIRM]

    bot.clock.advance(timedelta(hours=1))
    assert bot.click(checklist, Id.STEP_CONFIRM).status == 200
    checklist = bot.fresh(checklist)
    assert buttons(checklist) == [Id.OTHER_PROVIDERS, Id.OTHER_PROVIDERS]
    assert bot.click(checklist, Id.OTHER_PROVIDERS, label="No, nobody else").status == 200
    checklist = bot.fresh(checklist)
    assert buttons(checklist) == [Id.OPEN_SUMMARY]

    # The summary modal: pre-filled, validated, stored, the note back in a DM.
    assert bot.click(checklist, Id.OPEN_SUMMARY).status == 200
    [opened] = bot.fake.calls("views.open")
    modal = opened.body["view"]
    assert "Unplanned Discontinuation / Client Inactivity" in text_of(modal)
    assert "Outreach check-in 3 of 3 sent" in text_of(modal)
    empty = bot.slack.view_submission(
        modal["callback_id"], private_metadata=modal["private_metadata"], values={}, user_id=CLINICIAN
    )
    answer = bot.send(empty)
    assert answer.status == 200
    assert answer.json()["response_action"] == "errors"
    assert set(answer.json()["errors"]) == {Id.B_FOCUS, Id.B_GOALS, Id.B_RISK}
    values = {
        Id.B_FOCUS: {Id.A_FOCUS: {"type": "plain_text_input", "value": "Low mood after a job loss"}},
        Id.B_GOALS: {Id.A_GOALS: {"type": "plain_text_input", "value": "Sleep routine restored"}},
        Id.B_RISK: {Id.A_RISK: {"type": "static_select", "selected_option": {"value": "low"}}},
        Id.B_CONSIDERATIONS: {Id.A_CONSIDERATIONS: {"type": "plain_text_input", "value": None}},
    }
    answer = bot.send(
        bot.slack.view_submission(
            modal["callback_id"], private_metadata=modal["private_metadata"], values=values,
            user_id=CLINICIAN,
        )
    )
    assert answer.status == 200 and answer.body in (b"", b"{}") or answer.json() == {}
    note = bot.dm()[-1]
    assert "Low mood after a job loss" in text_of(note)
    checklist = bot.fresh(checklist)
    assert buttons(checklist) == [Id.MOVED_CONFIRM]
    assert "Low mood" not in text_of(checklist)

    # Moved to the group: CCT is asked for its chart check and archive.
    assert bot.click(checklist, Id.MOVED_CONFIRM).status == 200
    assert state(bot, "R-1042") is State.DISCHARGED
    [request] = bot.cct()
    assert "Chart check and archive" in text_of(request)
    assert buttons(request) == [Id.CCT_TAKE, Id.CCT_DONE]
    assert "Checklist complete" in text_of(bot.fresh(checklist))

    # CCT takes it and marks it done; the message and the record follow.
    assert bot.click(request, Id.CCT_TAKE, user=CCT_GROUP_MEMBER).status == 200
    assert f"Taken by <@{CCT_GROUP_MEMBER}>" in text_of(bot.fresh(request))
    assert bot.click(bot.fresh(request), Id.CCT_DONE, user=CCT_MEMBER).status == 200
    done = bot.fresh(request)
    assert buttons(done) == []
    assert f"Done by <@{CCT_MEMBER}>" in text_of(done)
    assert state(bot, "R-1042") is State.CLOSED
    assert_no_first_names_in_cct_channel(bot)

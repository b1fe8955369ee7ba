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
    submit_summary,
    text_of,
)

TORONTO = ZoneInfo("America/Toronto")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TORONTO).astimezone(UTC)  # type: ignore[misc]


def state(bot: Bot, chart: str) -> State:
    [row] = [r for r in bot.service.reads.caseload() if r.chart_id == chart]
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
        title = "Final check-in" if n == 3 else f"Check-in {n} of 3"
        assert f"{title} is due" in text_of(prompt)
        assert "[client first name]" in text_of(prompt)
        assert "Zephyrine" not in text_of(prompt)
        assert prompt["metadata"]["event_type"] == "discharge_bot_outbox"
        assert bot.click(prompt, Id.MARK_SENT).status == 200
        updated = bot.fresh(prompt)
        # No platform writes the chart here: the admin note is given to paste.
        assert buttons(updated) == [Id.NOTE_DOCUMENTED]
        assert f'outreach message \\"{title}\\" was sent' in text_of(updated)  # the note to paste
        assert f"Marked as sent ({title.lower()}) by <@{CLINICIAN}>" in text_of(updated)
        assert bot.click(updated, Id.NOTE_DOCUMENTED).status == 200
        documented = bot.fresh(prompt)
        assert buttons(documented) == []
        assert "Admin note documented in the chart" in text_of(documented)
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
    assert "Outreach final check-in sent" in text_of(modal)
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
    assert answer.status == 200
    assert answer.body == b""  # the modal closes
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


def _to_checklist(bot: Bot, chart: str, name: str) -> dict:
    """Import a silent client and run outreach to the open checklist; the checklist message."""
    bot.clock.set(local(2026, 3, 3, 12))
    caseload(bot, f"{chart},{CLINICIAN},{name},2026-03-02T10:00,,")
    for when in [local(2026, 3, 16, 10), local(2026, 3, 30, 10), local(2026, 4, 13, 10)]:
        bot.tick(when)
        bot.click(bot.dm()[-1], Id.MARK_SENT)
        bot.click(bot.fresh(bot.dm()[-1]), Id.NOTE_DOCUMENTED)
    bot.tick(local(2026, 4, 27, 10))
    checklist = bot.dm()[-1]
    bot.click(checklist, Id.STEP_CONFIRM)
    return bot.fresh(checklist)


def test_client_replied_then_classified_as_continuing_returns_to_active(bot: Bot) -> None:
    bot.clock.set(local(2026, 3, 3, 12))
    caseload(bot, f"R-2001,{CLINICIAN},Balthazar,2026-03-02T10:00,,")
    bot.tick(local(2026, 3, 16, 10))
    prompt = bot.dm()[-1]

    assert bot.click(prompt, Id.CLIENT_REPLIED).status == 200

    assert state(bot, "R-2001") is State.REPLY_REVIEW
    assert "Client replied" in text_of(bot.fresh(prompt))
    assert buttons(bot.fresh(prompt)) == []
    question = bot.dm()[-1]
    assert "replied" in text_of(question)
    assert "Discharge \u2013 Completed" in text_of(question)
    assert buttons(question) == [Id.CLASSIFY] * 4
    assert bot.click(question, Id.CLASSIFY, label="Continuing care").status == 200
    assert state(bot, "R-2001") is State.ACTIVE
    assert "Classified (continuing care)" in text_of(bot.fresh(question))
    assert bot.cct() == []


def test_fit_concern_asks_cct_for_a_rematch_without_the_clients_name(bot: Bot) -> None:
    bot.clock.set(local(2026, 3, 3, 12))
    caseload(bot, f"R-3001,{CLINICIAN},Ottoline,2026-03-02T10:00,,")
    bot.tick(local(2026, 3, 16, 10))
    bot.click(bot.dm()[-1], Id.CLIENT_REPLIED)

    assert bot.click(bot.dm()[-1], Id.CLASSIFY, label="Fit concern").status == 200

    assert state(bot, "R-3001") is State.REMATCH
    [request] = bot.cct()
    assert "Rematch request" in text_of(request)
    assert "R-3001" in text_of(request)
    assert bot.click(request, Id.CCT_DONE, user=CCT_MEMBER).status == 200
    # Care goes on under whoever the caseload names; nothing is said while it names Dana.
    assert state(bot, "R-3001") is State.ACTIVE
    assert bot.tick(bot.clock.now() + timedelta(days=60)).sent == []
    assert_no_first_names_in_cct_channel(bot)


def test_still_seeing_other_providers_only_asks_cct_to_remove_the_clinician(bot: Bot) -> None:
    checklist = _to_checklist(bot, "R-4001", "Cassiopeia")

    assert bot.click(checklist, Id.OTHER_PROVIDERS, label="Yes, still seeing others").status == 200

    assert state(bot, "R-4001") is State.CARE_TEAM_REMOVAL
    [request] = bot.cct()
    assert "Care-team removal" in text_of(request)
    assert "archive" not in text_of(request).lower()
    ended = bot.fresh(checklist)
    assert buttons(ended) == []
    assert "still seen by other providers" in text_of(ended)
    bot.click(request, Id.CCT_DONE, user=CCT_MEMBER)
    assert state(bot, "R-4001") is State.ACTIVE  # under whoever the caseload names next
    assert len(bot.cct()) == 1  # no chart check / archive request ever
    assert_no_first_names_in_cct_channel(bot)


def test_discharged_client_who_returns_is_reopened_and_the_clinician_told(bot: Bot) -> None:
    checklist = _to_checklist(bot, "R-5001", "Peregrine")
    bot.click(checklist, Id.OTHER_PROVIDERS, label="No, nobody else")
    submit_summary(bot, bot.fresh(checklist))
    bot.click(bot.fresh(checklist), Id.MOVED_CONFIRM)
    bot.click(bot.cct()[-1], Id.CCT_DONE, user=CCT_MEMBER)
    assert state(bot, "R-5001") is State.CLOSED

    bot.clock.set(local(2026, 6, 4, 11))
    answer = bot.send(bot.slack.slash_command("session R-5001 attended", user_id=CLINICIAN))

    assert answer.status == 200
    assert "now active" in answer.json()["text"]
    assert state(bot, "R-5001") is State.ACTIVE
    notice = bot.dm()[-1]
    assert "is back" in text_of(notice)
    assert "R-5001" in text_of(notice)
    assert_no_first_names_in_cct_channel(bot)

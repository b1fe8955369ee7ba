"""`/care` over signed HTTP: ephemeral answers in the response, nothing written on error."""

from __future__ import annotations

import pytest

from bot.domain.model import State
from bot.slack.ids import Id
from tests.slack.conftest import CCT_MEMBER, CLINICIAN, STRANGER, Bot, buttons, caseload


@pytest.fixture
def clients(bot: Bot) -> Bot:
    caseload(
        bot,
        f"R-1042,{CLINICIAN},Zephyrine,2026-02-25T10:00,,",
        f"R-2002,{CLINICIAN},Balthazar,2026-02-27T10:00,2026-03-09T10:00,",
    )
    bot.surface.learn(CLINICIAN)  # the profile is learned once; "nothing written" is after that
    return bot


def care(bot: Bot, text: str, user: str = CLINICIAN) -> dict:
    answer = bot.send(bot.slack.slash_command(text, user_id=user))
    assert answer.status == 200
    body = answer.json()
    assert body["response_type"] == "ephemeral"
    return body


def test_help_is_the_default(clients: Bot) -> None:
    for text in ("", "help", "HELP"):
        assert "/care note CLIENT TEXT" in str(care(clients, text)["blocks"])


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("frobnicate R-1042", "I don't know the command `frobnicate`"),
        ("note", "needs a client's chart id"),
        ("note R-1042", "Write the note after the chart id"),
        ("session R-1042 attended 2026-13-40", "isn't a date I can read"),
        ("session R-1042 maybe", "Say how the session went"),
        ("pause R-1042 now please", "isn't a date I can read"),
        ("caseload two", "`two` isn't a page number"),
        ("caseload 0", "`0` isn't a page number"),
    ],
)
def test_bad_input_gets_a_specific_message_and_the_usage(clients: Bot, text: str, problem: str) -> None:
    before = clients.counts()
    body = care(clients, text)
    assert problem in body["text"]
    assert "/care session CLIENT" in str(body["blocks"])  # the usage follows
    assert clients.counts() == before


def test_unknown_client_is_named_and_nothing_is_written(clients: Bot) -> None:
    before = clients.counts()
    body = care(clients, "note R-9999 hello")
    assert "No client R-9999 is on your caseload" in body["text"]
    assert "(ref " in body["text"]
    assert clients.counts() == before


def test_a_future_session_date_is_refused(clients: Bot) -> None:
    before = clients.counts()
    body = care(clients, "session R-1042 attended 2026-04-01")
    assert "in the future" in body["text"]
    assert clients.counts() == before


def test_note_is_stored_and_confirmed(clients: Bot) -> None:
    body = care(clients, "note R-1042 Called, left a voicemail")
    assert body["text"] == "Admin note added to R-1042's log."
    with clients.engine.connect() as conn:
        from sqlalchemy import text

        assert conn.execute(text("select body from admin_notes")).scalar_one() == (
            "Called, left a voicemail"
        )


def test_status_and_caseload_show_times_in_the_users_zone(clients: Bot) -> None:
    status = care(clients, "status R-1042")
    assert "*R-1042* is *active*" in str(status["blocks"])
    assert "EST" in str(status["blocks"])  # America/Toronto from users.info
    listing = care(clients, "caseload")
    assert "R-1042" in str(listing["blocks"])
    assert "R-2002" in str(listing["blocks"])
    summary = care(clients, "status")
    assert "2 client(s)" in summary["text"]


def test_a_long_caseload_comes_a_page_at_a_time_within_slacks_block_limit(bot: Bot) -> None:
    caseload(bot, *(f"R-{i:03d},{CLINICIAN},N,2026-02-27T10:00,," for i in range(130)))
    first = care(bot, "caseload")
    assert "130 client(s): 130 active" in first["text"]
    assert "R-059" in str(first["blocks"])
    assert "R-060" not in str(first["blocks"])
    assert "Clients 1-60 (page 1 of 3). `/care caseload 2` shows the next 60." in str(
        first["blocks"]
    )
    second = care(bot, "caseload 2")
    assert "R-060" in str(second["blocks"])
    assert "R-119" in str(second["blocks"])
    assert "R-059" not in str(second["blocks"])
    assert "R-120" not in str(second["blocks"])
    last = care(bot, "caseload 3")
    assert "Clients 121-130 (page 3 of 3)." in str(last["blocks"])
    assert "shows the next" not in str(last["blocks"])
    assert "There is no page 4: your caseload fills 3." in str(care(bot, "caseload 4")["blocks"])
    assert max(len(b["blocks"]) for b in (first, second, last)) <= 50


def test_outreach_pause_resume_replied_discharge(clients: Bot) -> None:
    assert "Outreach started for R-1042" in care(clients, "outreach R-1042")["text"]
    prompt = clients.dm()[-1]
    assert "Check-in 1 of 3 is due" in str(prompt["blocks"])
    assert "paused" in care(clients, "pause R-1042")["text"]
    assert "No longer needed: outreach is paused" in str(clients.fresh(prompt)["blocks"])
    assert buttons(clients.fresh(prompt)) == []
    assert "resumed" in care(clients, "resume R-1042")["text"]
    assert Id.MARK_SENT in buttons(clients.fresh(prompt))  # the buttons come back
    assert "replied" in care(clients, "replied R-1042")["text"]
    assert clients.service.reads.caseload()[0].state is State.REPLY_REVIEW
    body = care(clients, "discharge R-2002")
    assert "criteria aren't met: only 0 of 3 check-ins documented" in body["text"]
    assert "`/care discharge R-2002 <reason>`" in body["text"]
    body = care(clients, "discharge R-2002 Moving abroad, asked to close the file")
    assert "discharge checklist for R-2002 is in your DMs" in body["text"]
    assert "Discharge checklist" in str(clients.dm()[-1]["blocks"])


def test_session_outcomes_are_recorded(clients: Bot) -> None:
    body = care(clients, "session R-1042 noshow")
    assert "session no-show" in body["text"]
    body = care(clients, "session R-1042 cancelled 2026-02-28")
    assert "session cancelled" in body["text"]


def test_cct_member_may_act_on_any_client_and_strangers_may_not(clients: Bot) -> None:
    assert care(clients, "note R-1042 CCT checked the chart", user=CCT_MEMBER)["text"].startswith(
        "Admin note added"
    )
    assert "Only R-1042's clinician" in care(clients, "pause R-1042", user=STRANGER)["text"]


def test_the_clinicians_zone_and_name_are_learned_from_slack(clients: Bot) -> None:
    care(clients, "caseload")
    zone, source, name = clients.service.clinicians.clinician_profile(CLINICIAN)
    assert (zone, source, name) == ("America/Toronto", "slack", "Dana")  # Slack's display name


def test_a_zone_the_caseload_set_wins_over_slack(bot: Bot) -> None:
    caseload(bot, f"R-1,{CLINICIAN},Zephyrine,2026-02-25T10:00,,America/Winnipeg")
    care(bot, "caseload")
    zone, source, name = bot.service.clinicians.clinician_profile(CLINICIAN)
    assert (zone, source, name) == ("America/Winnipeg", "caseload", "Dana")

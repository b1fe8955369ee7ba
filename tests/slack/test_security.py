"""Forged and stale requests, strangers and other clinicians: refused, nothing written."""

from __future__ import annotations

import time

import pytest

from bot.slack.ids import Id
from tests.slack.conftest import CLINICIAN, OTHER_CLINICIAN, STRANGER, Bot, caseload, text_of


@pytest.fixture
def prompt(bot: Bot) -> dict:
    caseload(bot, f"R-1042,{CLINICIAN},Zephyrine,2026-02-01T10:00,,")
    bot.tick()
    return bot.dm()[-1]


@pytest.mark.parametrize("forgery", ["wrong_secret", "stale"])
def test_forged_or_stale_signature_gets_401_and_changes_nothing(
    bot: Bot, prompt: dict, forgery: str
) -> None:
    before = bot.counts()
    calls = len(bot.fake.calls())
    signing = (
        {"secret": "not-the-secret"} if forgery == "wrong_secret"
        else {"timestamp": int(time.time()) - 6 * 60}
    )
    requests = [
        bot.slack.slash_command("note R-1042 forged", user_id=CLINICIAN, **signing),
        bot.slack.block_actions(
            Id.MARK_SENT, value=prompt["blocks"][-1]["elements"][0]["value"], user_id=CLINICIAN,
            message=prompt, **signing,
        ),
        bot.slack.view_submission(Id.SUMMARY_MODAL, private_metadata='{"c":"R-1042"}', **signing),
        bot.slack.app_home_opened(CLINICIAN) if forgery == "wrong_secret" else bot.slack.event(
            {"type": "app_home_opened", "user": CLINICIAN, "tab": "home"}, **signing
        ),
    ]
    if forgery == "wrong_secret":
        requests[-1] = bot.slack.event(
            {"type": "app_home_opened", "user": CLINICIAN, "tab": "home"}, **signing
        )
    for request in requests:
        assert bot.send(request).status == 401
    assert bot.counts() == before
    assert len(bot.fake.calls()) == calls


def test_a_stranger_pressing_a_button_is_refused_and_nothing_is_written(
    bot: Bot, prompt: dict
) -> None:
    before = bot.counts()

    answer = bot.click(prompt, Id.MARK_SENT, user=STRANGER)

    assert answer.status == 200
    assert bot.counts() == before
    [refusal] = bot.fake.ephemerals(user=STRANGER)
    assert "Only R-1042's clinician or the Care Coordination Team" in refusal["text"]
    assert "(ref " in refusal["text"]
    assert "Mark as sent" in text_of(bot.fresh(prompt))  # the message is untouched


def test_care_on_someone_elses_client_is_refused_and_nothing_is_written(
    bot: Bot, prompt: dict
) -> None:
    before = bot.counts()

    answer = bot.send(bot.slack.slash_command("note R-1042 hello", user_id=OTHER_CLINICIAN))

    assert answer.status == 200
    body = answer.json()
    assert body["response_type"] == "ephemeral"
    assert "Only R-1042's clinician or the Care Coordination Team" in body["text"]
    assert bot.counts() == before


def test_only_cct_members_may_press_cct_buttons(bot: Bot) -> None:
    caseload(bot, f"R-7,{CLINICIAN},Zephyrine,2026-02-01T10:00,,")
    bot.tick()
    bot.click(bot.dm()[-1], Id.CLIENT_REPLIED)
    bot.click(bot.dm()[-1], Id.CLASSIFY, label="Fit concern")
    [request] = bot.cct()
    before = bot.counts()

    for user in (CLINICIAN, STRANGER):
        assert bot.click(request, Id.CCT_DONE, user=user).status == 200
        assert bot.click(request, Id.CCT_TAKE, user=user).status == 200

    assert bot.counts() == before
    refusals = bot.fake.ephemerals(user=CLINICIAN) + bot.fake.ephemerals(user=STRANGER)
    assert len(refusals) == 4
    assert all("Only the Care Coordination Team" in r["text"] for r in refusals)


def test_a_forged_button_value_is_refused_politely(bot: Bot, prompt: dict) -> None:
    before = bot.counts()
    request = bot.slack.block_actions(
        Id.MARK_SENT, value='{"o": "x"}', user_id=CLINICIAN, message=prompt
    )
    assert bot.send(request).status == 200
    assert bot.counts() == before
    [refusal] = bot.fake.ephemerals(user=CLINICIAN)
    assert "out of date" in refusal["text"]


def test_a_second_click_on_mark_as_sent_documents_nothing_more(bot: Bot) -> None:
    caseload(bot, f"R-1,{CLINICIAN},Zephyrine,2026-02-01T10:00,,")
    bot.tick()
    prompt = bot.dm()[-1]  # as Slack still shows it, buttons and all
    assert bot.click(prompt, Id.MARK_SENT).status == 200
    before = bot.counts()
    assert bot.click(prompt, Id.MARK_SENT).status == 200  # a double click, or a stale tab
    assert bot.counts()["admin_notes"] == before["admin_notes"] == 1
    assert bot.counts()["events"] == before["events"]
    [refusal] = bot.fake.ephemerals(user=CLINICIAN)
    assert "already" in text_of(refusal)


def test_slacks_retry_of_an_event_has_one_effect(bot: Bot) -> None:
    dm = {"type": "message", "channel_type": "im", "channel": "D0CLIN", "user": CLINICIAN,
          "text": "hello?", "ts": "1.0"}
    first = bot.slack.event(dm, event_id="Ev0RETRY1")
    assert bot.send(first).status == 200
    for n in (1, 2):  # Slack thought we missed it and sends it again, same event_id
        again = bot.slack.event(dm, event_id="Ev0RETRY1", retry_num=n)
        assert bot.send(again).status == 200
    assert len(bot.fake.ephemerals(user=CLINICIAN)) == 1
    assert bot.send(bot.slack.event(dm, event_id="Ev0OTHER2")).status == 200
    assert len(bot.fake.ephemerals(user=CLINICIAN)) == 2  # a new event is not a retry

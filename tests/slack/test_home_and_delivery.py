"""App Home, the CCT digest, snooze and nudges, and what the dispatcher does when Slack refuses."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.slack.ids import Id
from storage.models import OutboxMessage
from tests.fakes.slack_api import NotOk, ResetBefore
from tests.slack.conftest import (
    CCT_CHANNEL,
    CCT_MEMBER,
    CLINICIAN,
    FIRST_NAMES,
    Bot,
    buttons,
    caseload,
    text_of,
)


def rows(bot: Bot) -> list[OutboxMessage]:
    with bot.uow_session() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_app_home_shows_the_caseload_by_what_it_needs_without_names(bot: Bot) -> None:
    caseload(
        bot,
        f"R-1,{CLINICIAN},Zephyrine,2026-02-01T10:00,,",  # silent: check-in due
        f"R-2,{CLINICIAN},Balthazar,2026-02-27T10:00,,",  # active
    )
    bot.tick()

    assert bot.send(bot.slack.app_home_opened(CLINICIAN)).status == 200

    home = bot.fake.home(CLINICIAN)
    assert home is not None
    blob = text_of(home)
    assert "Needs your action now* (1)" in blob
    assert "*R-1*: Check-in 1 of 3 is due" in blob
    assert "1 more client(s) in active care" in blob
    assert "CCT queue" not in blob
    assert not any(name in blob for name in FIRST_NAMES)


def test_cct_members_also_see_the_practice_queue(bot: Bot) -> None:
    caseload(bot, f"R-1,{CLINICIAN},Zephyrine,2026-02-01T10:00,,")
    bot.tick()
    bot.click(bot.dm()[-1], Id.CLIENT_REPLIED)
    bot.click(bot.dm()[-1], Id.CLASSIFY, label="Fit concern")

    bot.send(bot.slack.app_home_opened(CCT_MEMBER))

    blob = text_of(bot.fake.home(CCT_MEMBER) or {})
    assert "CCT queue (whole practice)* (1)" in blob
    assert "*R-1*: Waiting for CCT: rematch" in blob
    assert f"<@{CLINICIAN}>" in blob


def test_a_large_caseload_stays_inside_block_kit_limits_with_a_more_path(bot: Bot) -> None:
    caseload(bot, *[f"R-{n:04d},{CLINICIAN},Zephyrine,2026-02-01T10:00,," for n in range(130)])
    bot.clock.advance(timedelta(days=1))
    bot.service.outreach.tick()  # queued; not delivered - the home reads the record

    bot.send(bot.slack.app_home_opened(CLINICIAN))
    home = bot.fake.home(CLINICIAN) or {}
    assert len(home["blocks"]) <= 100
    more = next(
        e for b in home["blocks"] for e in b.get("elements") or [] if e.get("action_id") == Id.HOME_MORE
    )
    assert bot.send(
        bot.slack.block_actions(Id.HOME_MORE, value=more["value"], user_id=CLINICIAN, view=home)
    ).status == 200
    modal = bot.fake.calls("views.open")[-1].body["view"]
    assert "page 1 of 4" in text_of(modal)
    assert len(modal["blocks"]) <= 100
    stored = bot.fake.views()[-1]
    nxt = next(e for b in modal["blocks"] for e in b.get("elements") or [] if e.get("text", {}).get("text") == "Next")
    assert bot.send(
        bot.slack.block_actions(nxt["action_id"], value=nxt["value"], user_id=CLINICIAN, view=stored)
    ).status == 200
    assert "page 2 of 4" in text_of(bot.fake.calls("views.update")[-1].body["view"])


def test_snooze_and_a_later_nudge_keep_the_prompt_usable(bot: Bot) -> None:
    caseload(bot, f"R-1,{CLINICIAN},Zephyrine,2026-02-01T10:00,,")
    bot.tick()
    prompt = bot.dm()[-1]

    assert bot.click(prompt, Id.SNOOZE, option="3 days").status == 200
    snoozed = bot.fresh(prompt)
    assert "Snoozed (3 days" in text_of(snoozed)
    assert buttons(snoozed) == []


def test_an_unanswered_check_in_is_nudged_with_its_buttons(bot: Bot) -> None:
    caseload(bot, f"R-1,{CLINICIAN},Zephyrine,2026-02-01T10:00,,")
    bot.tick()
    bot.tick(bot.clock.now() + timedelta(days=3))
    nudge = bot.dm()[-1]
    assert len(bot.dm()) == 2
    assert "A gentle reminder" in text_of(nudge)
    assert Id.MARK_SENT in buttons(nudge)
    bot.click(nudge, Id.MARK_SENT)
    assert buttons(bot.fresh(bot.dm()[0])) == []  # the first prompt follows


def test_a_lost_answer_is_retried_after_looking_in_slack_first(bot: Bot) -> None:
    caseload(bot, f"R-1,{CLINICIAN},Zephyrine,2026-02-01T10:00,,")
    bot.fake.script("chat.postMessage", ResetBefore())

    report = bot.tick()  # the first try dies on the wire; the drain retries it
    assert [key for key, _ in report.retried] == ["ep1:checkin-1:0"]
    assert report.sent == ["ep1:checkin-1:0"]
    assert len(bot.fake.calls("conversations.history")) == 1  # looked before posting again
    [row] = rows(bot)
    assert row.status == "sent"
    assert row.attempts == 2
    assert row.channel == bot.fake.dm_channel(CLINICIAN)
    assert row.ts == bot.dm()[-1]["ts"]
    assert len(bot.dm()) == 1
    call = bot.fake.calls("chat.postMessage")[-1]
    assert call.body["metadata"] == {
        "event_type": "discharge_bot_outbox",
        "event_payload": {"idempotency_key": "ep1:checkin-1:0"},
    }


def test_a_post_slack_refuses_for_good_is_dead_lettered_and_cct_is_told(bot: Bot) -> None:
    caseload(bot, f"R-1,{CLINICIAN},Zephyrine,2026-02-01T10:00,,")
    bot.fake.script("chat.postMessage", NotOk("channel_not_found"))

    report = bot.tick()
    assert ("ep1:checkin-1:0", "channel_not_found") in report.dead
    [row] = [r for r in rows(bot) if r.idempotency_key == "ep1:checkin-1:0"]
    assert row.status == "dead"
    [notice] = bot.fake.messages(CCT_CHANNEL)
    assert "R-1" in text_of(notice)
    assert f"outbox retry {row.id}" in text_of(notice)
    assert "Zephyrine" not in text_of(notice)
    assert len(bot.fake.calls("chat.postMessage")) == 2  # the refused one was not retried


def test_weekly_digest_posts_once_and_is_skipped_when_empty(bot: Bot) -> None:
    assert bot.service.digest.queue_weekly_digest() is None  # nothing on the caseload
    caseload(bot, f"R-1,{CLINICIAN},Zephyrine,2026-02-01T10:00,,")
    bot.tick()
    key = bot.service.digest.queue_weekly_digest()
    assert key is not None
    assert bot.service.digest.queue_weekly_digest() is None  # once per week
    bot.surface.dispatcher.deliver([key])
    [digest] = bot.fake.messages(CCT_CHANNEL)
    assert "Clients in outreach: *1* (R-1)" in text_of(digest)
    assert "Zephyrine" not in text_of(digest)
    assert buttons(digest) == []


def test_cct_take_shows_who_took_it(bot: Bot) -> None:
    caseload(bot, f"R-1,{CLINICIAN},Zephyrine,2026-02-01T10:00,,")
    bot.tick()
    bot.click(bot.dm()[-1], Id.CLIENT_REPLIED)
    bot.click(bot.dm()[-1], Id.CLASSIFY, label="Fit concern")
    [request] = bot.cct()
    bot.click(request, Id.CCT_TAKE, user=CCT_MEMBER)
    taken = bot.fresh(request)
    assert f"Taken by <@{CCT_MEMBER}>" in text_of(taken)
    assert buttons(taken) == [Id.CCT_DONE]


def test_a_change_from_the_platform_refreshes_the_prompt_already_in_slack(bot: Bot) -> None:
    from bot.services.types import Actor, Source

    caseload(bot, f"R-1,{CLINICIAN},Zephyrine,2026-02-01T10:00,,")
    bot.tick()
    prompt = bot.dm()[-1]
    assert Id.MARK_SENT in buttons(prompt)
    # the client writes in the platform's chat; the webhook records it (no Slack click)
    outcome = bot.service.recording.record_client_message(
        "R-1", occurred_at=bot.clock.now(), actor=Actor("platform:healthie", Source.PLATFORM)
    )
    assert any(key.startswith("upd:") for key in outcome.queued)
    bot.tick()
    assert buttons(bot.fresh(prompt)) == []  # the check-in buttons went away
    assert "No longer needed" in text_of(bot.fresh(prompt))


def test_a_prompt_overtaken_before_it_went_out_is_not_sent(bot: Bot) -> None:
    from bot.services.types import Actor, Source

    caseload(bot, f"R-1,{CLINICIAN},Zephyrine,2026-02-01T10:00,,")
    bot.service.outreach.tick()  # check-in 1 queued, not yet delivered
    bot.service.recording.record_client_message(
        "R-1", occurred_at=bot.clock.now(), actor=Actor("platform:healthie", Source.PLATFORM)
    )
    report = bot.tick()
    assert "ep1:checkin-1:0" in report.skipped
    assert not any("Check-in 1 of 3 is due" in text_of(m) for m in bot.dm())

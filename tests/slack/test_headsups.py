"""The early heads-up end to end: the tick queues it, the dispatcher posts it to the
clinician's DM (never the CCT channel), and its buttons work through signed requests."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.model import EventKind
from bot.slack.ids import Id
from storage.models import HeadsUpRecord
from tests.helpers import PLATFORM
from tests.slack.conftest import CLINICIAN, STRANGER, Bot, buttons, text_of
from tests.test_scenario_headsup import weekly_then_slipping

TORONTO = ZoneInfo("America/Toronto")
LINE = "missed 2 of the last 4; usual gap 7 days, now 14"


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=TORONTO).astimezone(UTC)  # type: ignore[misc]


@pytest.fixture
def headsup(bot: Bot) -> dict:  # type: ignore[type-arg]
    weekly_then_slipping(bot.service, bot.clock, CLINICIAN)
    bot.tick(at(2026, 4, 6, 11, 5))
    [message] = [m for m in bot.dm() if "heads-up" in m["text"]]
    return message


def status(bot: Bot) -> str:
    with bot.uow_session() as session:
        return session.query(HeadsUpRecord).one().status


def test_the_heads_up_reaches_the_clinicians_dm_only_with_three_buttons(
    bot: Bot,
    headsup: dict,  # type: ignore[type-arg]
) -> None:
    assert LINE in text_of(headsup)
    assert buttons(headsup) == [Id.HEADSUP_REACH_OUT, Id.HEADSUP_EXPECTED, Id.HEADSUP_DISMISS]
    assert all("heads-up" not in text_of(m) for m in bot.cct())
    assert all("Ana" not in text_of(m) for m in bot.dm())


def test_dismiss_updates_the_message_in_place(bot: Bot, headsup: dict) -> None:  # type: ignore[type-arg]
    assert bot.click(headsup, Id.HEADSUP_DISMISS).status == 200
    fresh = bot.fresh(headsup)
    assert "Dismissed by <@U0CLIN0001>" in text_of(fresh)
    assert buttons(fresh) == []
    assert status(bot) == "dismissed"


def test_a_stranger_cannot_answer_someone_elses_heads_up(bot: Bot, headsup: dict) -> None:  # type: ignore[type-arg]
    bot.click(headsup, Id.HEADSUP_DISMISS, user=STRANGER)
    assert status(bot) == "open"
    assert buttons(bot.fresh(headsup)) == buttons(headsup)


def test_expected_asks_a_reason_in_a_modal_and_never_posts_it(
    bot: Bot,
    headsup: dict,  # type: ignore[type-arg]
) -> None:
    bot.click(headsup, Id.HEADSUP_EXPECTED)
    modal = bot.fake.calls("views.open")[-1].body["view"]
    assert modal["callback_id"] == Id.HEADSUP_EXPECTED_MODAL

    def submit(reason: str | None) -> dict:  # type: ignore[type-arg]
        values = {
            Id.B_HEADSUP_REASON: {
                Id.A_HEADSUP_REASON: {"type": "plain_text_input", "value": reason}
            }
        }
        answer = bot.send(
            bot.slack.view_submission(
                modal["callback_id"], private_metadata=modal["private_metadata"], values=values
            )
        )
        assert answer.status == 200
        return answer.json() if answer.body else {}

    refused = submit("  ")
    assert refused["response_action"] == "errors"
    assert Id.B_HEADSUP_REASON in refused["errors"]
    assert status(bot) == "open"
    submit("Travelling until the 20th")
    assert status(bot) == "expected"
    fresh = bot.fresh(headsup)
    assert "Marked as expected" in text_of(fresh)
    assert all("Travelling" not in text_of(m) for m in bot.dm())
    published = bot.fake.calls("views.publish")
    assert "Travelling" not in str(published[-1].body)


def test_reach_out_now_opens_the_active_check_in_ready_to_paste(
    bot: Bot,
    headsup: dict,  # type: ignore[type-arg]
) -> None:
    bot.click(headsup, Id.HEADSUP_REACH_OUT)
    modal = bot.fake.calls("views.open")[-1].body["view"]
    assert modal["callback_id"] == Id.HEADSUP_REACH_OUT_MODAL
    assert "[client first name]" in str(modal)
    assert "Ana" not in str(modal)
    assert "Reaching out" in text_of(bot.fresh(headsup))
    assert status(bot) == "reached_out"


def test_app_home_lists_open_heads_ups_with_their_buttons(bot: Bot, headsup: dict) -> None:  # type: ignore[type-arg]
    bot.send(bot.slack.app_home_opened(CLINICIAN))
    view = bot.fake.calls("views.publish")[-1].body["view"]
    assert "Early heads-ups" in str(view)
    assert LINE in str(view)
    assert Id.HEADSUP_DISMISS in str(view)


def test_when_the_client_comes_back_the_unanswered_heads_up_loses_its_buttons(
    bot: Bot,
    headsup: dict,  # type: ignore[type-arg]
) -> None:
    bot.clock.set(at(2026, 4, 8, 11))
    bot.service.recording.record_session(
        "R-1", EventKind.SESSION_ATTENDED, occurred_at=at(2026, 4, 8, 10), actor=PLATFORM
    )
    bot.tick(at(2026, 4, 8, 11, 5))
    fresh = bot.fresh(headsup)
    assert buttons(fresh) == []
    assert "No longer needed" in text_of(fresh)
    assert status(bot) == "lapsed"

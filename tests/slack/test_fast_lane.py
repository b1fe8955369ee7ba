"""The fast lane (`bot.slack.door`): a note and a stored-first press answered without Bolt,
exactly as Bolt's path answers them, and everything else left to Bolt untouched."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from slack_bolt import BoltResponse
from sqlalchemy import func, select

from bot.entrypoints.http import ServerThread, create_wsgi_app
from bot.slack.ids import Id, variant
from bot.slack.listeners import STORED_ROUTES, stored_kind
from storage.models import AdminNote, SlackInboxItem
from tests.fakes.slack_requests import Answer, SlackRequest, post
from tests.slack.conftest import CCT_MEMBER, CLINICIAN, STRANGER, Bot, caseload

REF = re.compile(r"_\(ref [0-9a-f]{8}\)_")


@pytest.fixture
def bolt_only(bot: Bot) -> Iterator[str]:
    """The same app served without the lane: every request goes through Bolt."""
    with ServerThread(create_wsgi_app(slack_app=bot.app)) as server:
        yield server.url


@pytest.fixture
def through_bolt(bot: Bot) -> list[str]:
    """What reached Bolt's middleware, by kind (`command` or an action id)."""
    seen: list[str] = []

    def record(body: dict[str, Any], next: Callable[[], BoltResponse]) -> BoltResponse:
        actions = body.get("actions") or [{}]
        seen.append(str(body.get("command") or actions[0].get("action_id")))
        return next()

    bot.app.use(record)
    return seen


def stored(bot: Bot) -> int:
    with bot.engine.connect() as c:
        return int(c.scalar(select(func.count()).select_from(SlackInboxItem)) or 0)


def notes(bot: Bot) -> list[str]:
    with bot.engine.connect() as c:
        return list(c.scalars(select(AdminNote.body).order_by(AdminNote.id)))


def both(bot: Bot, bolt_url: str, make: Callable[[], SlackRequest]) -> tuple[Answer, Answer]:
    """The same request (built twice: each has its own trigger_id) through each path."""
    lane, bolt = post(bot.url, make()), post(bolt_url, make())
    bot.surface.inbox.drain()
    return lane, bolt


def same_answer(a: Answer, b: Answer) -> bool:
    """The same status and the same message (its reference id apart)."""
    return a.status == b.status and json.loads(REF.sub("", a.text)) == json.loads(
        REF.sub("", b.text)
    )


def test_a_note_and_a_press_skip_bolt_and_everything_else_goes_through_it(
    bot: Bot, through_bolt: list[str]
) -> None:
    caseload(bot, f"R-1,{CLINICIAN},Zephyrine,2026-02-20T10:00,,")
    bot.send(bot.slack.slash_command("note R-1 called", user_id=CLINICIAN))
    bot.tick(bot.clock.now() + timedelta(days=14))
    assert bot.click(bot.dm()[-1], Id.MARK_SENT).status == 200
    assert through_bolt == []
    assert notes(bot)[0] == "called"  # and the press wrote its own admin note after it
    assert len(notes(bot)) == 2

    bot.send(bot.slack.slash_command("help", user_id=CLINICIAN))
    bot.send(bot.slack.slash_command("note", user_id=CLINICIAN))  # usage: Bolt's listener
    bot.send(bot.slack.block_actions(str(Id.HOME_REFRESH), user_id=CLINICIAN))
    assert through_bolt == ["/care", "/care", str(Id.HOME_REFRESH)]


def test_a_note_is_answered_the_same_by_both_paths(bot: Bot, bolt_only: str) -> None:
    caseload(bot, f"R-1,{CLINICIAN},Zephyrine,2026-02-20T10:00,,")
    for user, text in (
        (CLINICIAN, "note R-1 called, left a voicemail"),  # added
        (CCT_MEMBER, "note R-1 from the front desk"),  # CCT may write on any client
        (CLINICIAN, "note R-404 typo"),  # unknown client
        (STRANGER, "note R-1 hello"),  # not theirs: the same refusal as an unknown one
        (STRANGER, "note R-404 hello"),
        (CLINICIAN, "note R-1 " + "x" * 4001),  # too long
    ):
        lane, bolt = both(bot, bolt_only, lambda u=user, t=text: bot.slack.slash_command(t, user_id=u))
        assert same_answer(lane, bolt), (text, lane.text, bolt.text)
        assert lane.json()["response_type"] == "ephemeral"
    assert notes(bot) == ["called, left a voicemail"] * 2 + ["from the front desk"] * 2


def test_a_press_is_stored_and_applied_the_same_by_both_paths(bot: Bot, bolt_only: str) -> None:
    caseload(
        bot,
        f"R-1,{CLINICIAN},Zephyrine,2026-02-20T10:00,,",
        f"R-2,{CLINICIAN},Balthazar,2026-02-20T10:00,,",
    )
    bot.tick(bot.clock.now() + timedelta(days=14))
    first, second = bot.dm()[-2:]
    lane = bot.click(first, Id.MARK_SENT)
    bot.url, url = bolt_only, bot.url
    try:
        bolt = bot.click(second, Id.MARK_SENT)
    finally:
        bot.url = url
    assert (lane.status, lane.text) == (bolt.status, bolt.text) == (200, "")
    with bot.engine.connect() as c:
        rows = c.execute(select(SlackInboxItem.kind, SlackInboxItem.status)).all()
    assert rows == [("action:mark_sent", "done")] * 2
    updated = [call.body["ts"] for call in bot.fake.calls("chat.update")]
    assert updated[:2] == [first["ts"], second["ts"]]  # each prompt marked as dealt with


def test_what_the_lane_is_unsure_of_is_refused_by_bolts_gate_and_nothing_is_stored(
    bot: Bot,
) -> None:
    caseload(bot, f"R-1,{CLINICIAN},Zephyrine,2026-02-20T10:00,,")
    forged = bot.slack.slash_command("note R-1 forged", user_id=CLINICIAN, secret="not-ours")
    stale = bot.slack.slash_command(
        "note R-1 stale", user_id=CLINICIAN, timestamp=int(bot.slack.clock()) - 3600
    )
    press = bot.slack.block_actions(str(Id.MARK_SENT), value="{}", user_id=CLINICIAN, secret="x")
    for request in (forged, stale, press):
        assert bot.send(request).status == 401
    nul = bot.send(bot.slack.slash_command("note R-1 a\x00b", user_id=CLINICIAN))
    assert nul.status == 200
    assert "NUL character" in nul.text
    assert stored(bot) == 0
    assert notes(bot) == []


def test_a_replayed_note_is_stored_once_whichever_path_it_comes_by(
    bot: Bot, bolt_only: str
) -> None:
    caseload(bot, f"R-1,{CLINICIAN},Zephyrine,2026-02-20T10:00,,")
    request = bot.slack.slash_command("note R-1 once", user_id=CLINICIAN)
    assert "added" in post(bot.url, request).text
    assert "already received" in post(bot.url, request).text
    assert "already received" in post(bolt_only, request).text
    bot.surface.inbox.drain()
    assert notes(bot) == ["once"]
    assert "already received" in post(bot.url, request).text  # after it was applied too
    assert stored(bot) == 1


def test_a_note_that_says_payload_is_a_note(bot: Bot) -> None:
    """Bolt's parser reads any form body containing the word "payload" as an interactive
    payload and loses a command that only mentions it; the lane reads the form's fields."""
    caseload(bot, f"R-1,{CLINICIAN},Zephyrine,2026-02-20T10:00,,")
    answer = bot.send(bot.slack.slash_command("note R-1 faxed the payload form", user_id=CLINICIAN))
    assert "Admin note added to R-1's log." in answer.text
    assert notes(bot) == ["faxed the payload form"]


def test_the_lane_routes_every_press_as_bolt_does() -> None:
    """Every stored-first action id (and a variant where Bolt matches one) is routed to its
    kind; the buttons answered in the request are not routed at all."""
    routed = {kind for _, kind in STORED_ROUTES}
    assert len(routed) == len(STORED_ROUTES) == 13
    for constraint, kind in STORED_ROUTES:
        if isinstance(constraint, str):
            assert stored_kind(constraint) == kind
        else:
            base = constraint.pattern.removeprefix("^").split("(")[0].replace("\\", "")
            assert stored_kind(base) == kind
            assert stored_kind(variant(Id(base), "x1")) == kind
            assert stored_kind(base + "_other") is None
    for answered_in_the_request in (
        Id.OPEN_SUMMARY, Id.HOME_REFRESH, Id.HOME_MORE, Id.HEADSUP_REACH_OUT, Id.HEADSUP_DISMISS,
    ):
        assert stored_kind(str(answered_in_the_request)) is None
    assert json.dumps(sorted(routed))  # plain strings, as the inbox stores them

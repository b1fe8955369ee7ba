"""Notes and button presses are answered once stored, then applied by the Slack inbox: once
each, after a crash too, with refusals and failures told to the person who asked."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.exc import OperationalError

from bot.clock import FixedClock
from bot.slack.ids import Id
from bot.slack.inbox import SlackInbox
from storage import slack_inbox as rows
from storage.models import AdminNote, SlackInboxItem
from tests.fakes.slack_requests import post
from tests.slack.conftest import CLINICIAN, STRANGER, Bot, caseload, text_of


def notes(engine: Engine) -> list[str]:
    with engine.connect() as c:
        return list(c.scalars(select(AdminNote.body).order_by(AdminNote.id)))


def statuses(engine: Engine) -> list[str]:
    with engine.connect() as c:
        return list(c.scalars(select(SlackInboxItem.status).order_by(SlackInboxItem.id)))


def test_a_note_is_answered_once_stored_and_added_right_after(bot: Bot) -> None:
    caseload(bot, f"R-1,{CLINICIAN},Zephyrine,2026-02-20T10:00,,")
    answer = post(
        bot.url, bot.slack.slash_command("note R-1 called, left a voicemail", user_id=CLINICIAN)
    )
    assert "Admin note added to R-1's log." in answer.text
    assert notes(bot.engine) == []  # stored, not yet applied: the answer did not wait
    assert statuses(bot.engine) == ["pending"]

    assert bot.surface.inbox.drain() == 1
    assert notes(bot.engine) == ["called, left a voicemail"]
    assert statuses(bot.engine) == ["done"]
    assert bot.surface.inbox.drain() == 0  # a finished row is not applied again
    assert notes(bot.engine) == ["called, left a voicemail"]
    with bot.engine.connect() as c:  # and keeps no copy of the note
        assert c.scalar(select(SlackInboxItem.body)) == {}


def test_a_note_for_someone_elses_client_is_refused_in_the_answer_and_nothing_is_stored(
    bot: Bot,
) -> None:
    caseload(bot, f"R-1,{CLINICIAN},Zephyrine,2026-02-20T10:00,,")
    answer = bot.send(bot.slack.slash_command("note R-1 hello", user_id=STRANGER))
    assert "Admin note added" not in answer.text
    assert statuses(bot.engine) == []
    assert notes(bot.engine) == []


def test_a_stored_note_is_added_once_when_its_first_applier_stopped_mid_way(
    bot: Bot, engine: Engine
) -> None:
    caseload(bot, f"R-1,{CLINICIAN},Zephyrine,2026-02-20T10:00,,")
    post(bot.url, bot.slack.slash_command("note R-1 called twice", user_id=CLINICIAN))
    # A first applier claims the row, adds the note, and dies before marking it done.
    now = bot.clock.now()
    with engine.begin() as c:
        [item] = rows.claim(
            c, owner="gone:1", now=now, lease_until=now + timedelta(seconds=60), limit=5
        )
    bot.service.notes.log_note(
        "R-1", "called twice", actor=bot.surface.actor(CLINICIAN), once=f"slack-inbox:{item.id}"
    )
    assert bot.surface.inbox.drain() == 0  # its lease still runs: nobody takes it over

    bot.clock.advance(timedelta(seconds=61))
    posted = len(bot.fake.calls("chat.postMessage"))
    assert bot.surface.inbox.drain() == 1
    assert notes(bot.engine) == ["called twice"]  # once, not twice
    assert statuses(bot.engine) == ["done"]
    assert len(bot.fake.calls("chat.postMessage")) == posted  # nothing to tell anyone


def test_a_press_on_a_prompt_already_dealt_with_is_refused_to_the_clinician(bot: Bot) -> None:
    caseload(bot, f"R-1,{CLINICIAN},Zephyrine,2026-02-20T10:00,,")
    bot.tick(bot.clock.now() + timedelta(days=14))
    prompt = bot.dm()[-1]
    assert bot.click(prompt, Id.MARK_SENT).status == 200
    answer = bot.click(prompt, Id.MARK_SENT)  # the stale copy, clicked again
    assert answer.status == 200
    assert answer.text == ""
    assert statuses(bot.engine) == ["done", "refused"]
    [told] = bot.fake.ephemerals(user=CLINICIAN)
    assert "already dealt with" in text_of(told)


def test_a_note_applied_later_for_a_client_no_longer_there_is_told_by_dm(bot: Bot) -> None:
    caseload(bot, f"R-1,{CLINICIAN},Zephyrine,2026-02-20T10:00,,")
    post(bot.url, bot.slack.slash_command("note R-1 called", user_id=CLINICIAN))
    with bot.engine.begin() as c:  # the row now names a client that does not exist
        c.execute(
            SlackInboxItem.__table__.update().values(
                body={"command": "/care", "user_id": CLINICIAN, "chart": "R-404", "text": "called"}
            )
        )
    bot.surface.inbox.drain()
    assert statuses(bot.engine) == ["refused"]
    [dm] = [m for m in bot.dm() if "R-404" in text_of(m)]
    assert "ref" in text_of(dm)
    assert notes(bot.engine) == []


# -- the applier on its own ------------------------------------------------------------------
@pytest.fixture
def inbox(engine: Engine, clock: FixedClock) -> SlackInbox:
    from storage.db import migrate

    migrate(engine)
    return SlackInbox(engine, clock, background=True)


def transient() -> OperationalError:
    import sqlite3

    return OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))


def test_a_busy_database_is_tried_again_later_and_then_applied(
    inbox: SlackInbox, engine: Engine, clock: FixedClock
) -> None:
    tries: list[int] = []

    def flaky(body: dict[str, Any], item: rows.Item) -> None:
        tries.append(item.attempts)
        if len(tries) == 1:
            raise transient()

    inbox.handle("flaky", flaky)
    inbox.accept("flaky", {"x": 1}, user="U1")
    assert inbox.drain() == 1
    assert statuses(engine) == ["pending"]  # put back, with a wait
    assert inbox.drain() == 0
    clock.advance(timedelta(seconds=2))
    assert inbox.drain() == 1
    assert tries == [1, 2]
    assert statuses(engine) == ["done"]


def test_a_request_that_keeps_failing_is_dead_and_its_sender_told_with_a_reference(
    inbox: SlackInbox, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    told: list[tuple[str, dict[str, Any]]] = []

    def broken(body: dict[str, Any], item: rows.Item) -> None:
        raise RuntimeError("bug")

    inbox.handle("broken", broken)
    inbox.report_with(lambda error, body: told.append((type(error).__name__, body)))
    inbox.accept("broken", {"user": {"id": "U1"}}, user="U1")
    inbox.drain()
    assert statuses(engine) == ["dead"]
    assert told == [("RuntimeError", {"user": {"id": "U1"}})]
    with engine.connect() as c:
        error = c.scalar(select(SlackInboxItem.last_error))
    assert error is not None
    assert error.startswith("RuntimeError (ref ")
    assert error.split("ref ")[1].rstrip(")") in caplog.text  # the log has the same id


def test_a_batch_is_marked_in_one_write_each_row_with_its_own_end(
    inbox: SlackInbox, engine: Engine
) -> None:
    from bot.domain.errors import DomainError

    def picky(body: dict[str, Any], item: rows.Item) -> None:
        if body["n"] == 2:
            raise DomainError("That prompt is out of date.")

    inbox.handle("k", picky)
    for n in range(5):
        inbox.accept("k", {"n": n}, user="U1")
    writes: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(_c: object, _cur: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE SLACK_INBOX"):
            writes.append(statement)

    assert inbox.run_once() == 5
    event.remove(engine, "before_cursor_execute", _seen)
    # the claim, the refused row's own end, then the four applied rows together
    assert len(writes) == 3
    assert statuses(engine) == ["done", "done", "refused", "done", "done"]
    with engine.connect() as c:
        bodies = c.scalars(select(SlackInboxItem.body).order_by(SlackInboxItem.id)).all()
    assert bodies == [{}] * 5  # no second copy of what was asked is kept


def test_rows_a_stopped_process_left_are_applied_when_an_applier_starts(
    engine: Engine, clock: FixedClock
) -> None:
    from storage.db import migrate

    migrate(engine)
    done: list[int] = []
    first = SlackInbox(engine, clock, background=True)
    first.handle("k", lambda body, item: done.append(body["n"]))
    for n in range(3):
        first.accept("k", {"n": n}, user="U1")  # stored; this process stops here

    second = SlackInbox(engine, clock, background=True)
    second.handle("k", lambda body, item: done.append(body["n"]))
    second.start()
    try:
        deadline = time.monotonic() + 10
        while len(done) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        second.stop()
    assert done == [0, 1, 2]
    assert statuses(engine) == ["done"] * 3


def test_the_applier_gives_way_while_requests_are_being_answered(
    inbox: SlackInbox, engine: Engine
) -> None:
    applied = threading.Event()
    inbox.YIELD_SECONDS = 30.0  # long enough that only the end of the request releases it
    inbox.handle("k", lambda body, item: applied.set())
    inbox.start()
    try:
        with inbox.answering():
            inbox.accept("k", {}, user="U1")
            assert not applied.wait(0.3)  # stored, but the answer goes first
        assert applied.wait(10)
    finally:
        inbox.stop()
    with engine.connect() as c:
        assert c.scalar(select(func.count()).select_from(SlackInboxItem)) == 1

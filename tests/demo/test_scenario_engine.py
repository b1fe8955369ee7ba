"""The scenario engine on its own: a scenario test drives the real app the way the demo does."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain.model import Closure, State
from bot.entrypoints.demo.caseload import DANA, PEOPLE, ROBIN
from bot.entrypoints.demo.engine import Stage, open_controls
from bot.entrypoints.demo.run import DemoOptions, run_demo
from bot.entrypoints.demo.scenario import DemoClient, Director, Planned, fill_form, run_scenario
from bot.settings import Settings
from bot.slack.ids import Id

#: Its database backend is its own (a SQLite file, or none): the PostgreSQL pass skips it.
pytestmark = pytest.mark.once

START = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)  # Monday 08:00 in Toronto


@pytest.fixture
def stage(tmp_path: Path) -> Iterator[Stage]:
    with Stage(
        Settings(_env_file=None), database_url=f"sqlite:///{tmp_path / 's.db'}", start=START,
        people=PEOPLE,
    ) as running:
        yield running


def test_a_reply_meaning_met_goals_closes_the_file_for_discharge_completed(stage: Stage) -> None:
    client = DemoClient(
        "R-9001", "Wren", DANA, "met goals", 13,
        planned=(Planned("client.message", "checkin:1", 1, "15:00", say="the client writes"),),
        classify="met_goals", expect_closures=(Closure.MET_GOALS,),
    )
    [outcome] = run_scenario(stage, [client], end=START + timedelta(weeks=3))
    assert outcome.closures == (Closure.MET_GOALS,)
    assert outcome.reached
    # the engine saw the real app's words and the clinician's confirmed click
    clicks = [e.summary for e in stage.transcript.of("click")]
    assert 'clicked "Met their goals" and confirmed "Yes, met goals"' in clicks


def test_the_stage_ticks_clicks_and_reads_back_like_a_test_harness(stage: Stage) -> None:
    stage.import_caseload([f"R-9002,{DANA.slack_id},Ivo,2026-02-16T10:00,,America/Toronto"])
    stage.clock.set(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))  # Monday 10:00 in Toronto
    stage.tick()
    dm = stage.fake.dm_channel(DANA.slack_id)
    [prompt] = stage.messages(dm)
    mark = next(c for c in open_controls(prompt) if c["action_id"] == Id.MARK_SENT)
    assert stage.click(dm, prompt, mark, user=DANA.slack_id) == 200
    assert open_controls(stage.messages(dm)[0]) == []  # updated in place, buttons gone
    [row] = stage.surface.services.reads.caseload()
    assert (row.state, row.checkins_sent) == (State.OUTREACH, 1)
    assert stage.next_due() is not None  # check-in 2, two weeks on
    assert stage.platform_event("client.message", "R-9002") == 200
    stage.tick()
    assert "replied" in stage.transcript.of("message")[-1].summary


def test_an_unfamiliar_prompt_gets_its_primary_button_and_nothing_else(stage: Stage) -> None:
    director = Director(stage, {}, random.Random(1))
    primary = {"type": "button", "action_id": "new_thing", "style": "primary", "value": "{}"}
    plain = {"type": "button", "action_id": "other_thing", "value": "{}"}
    assert director.choose([plain, primary]) == primary
    assert director.choose([plain]) == plain  # e.g. a new "Documented in chart" button
    snooze = {"type": "button", "action_id": str(Id.PAUSE), "style": "primary", "value": "{}"}
    replied = {"type": "button", "action_id": str(Id.CLIENT_REPLIED), "value": "{}"}
    assert director.choose([snooze, replied]) is None  # never postpones or invents a reply
    assert director.reader_of(stage.cct_channel) == ROBIN


def test_forms_are_filled_from_what_the_app_sent() -> None:
    view = {"blocks": [
        {"type": "input", "block_id": "summary_focus", "element": {
            "type": "plain_text_input", "action_id": "summary_focus_input"}},
        {"type": "input", "block_id": "last_session", "element": {
            "type": "datepicker", "action_id": "pick", "initial_date": "2026-02-02"}},
        {"type": "input", "block_id": "summary_risk", "element": {
            "type": "static_select", "action_id": "risk",
            "options": [{"text": {"type": "plain_text", "text": "None"}, "value": "none"},
                        {"text": {"type": "plain_text", "text": "Low"}, "value": "low"}]}},
        {"type": "input", "block_id": "extra", "optional": True, "element": {
            "type": "plain_text_input", "action_id": "x"}},
    ]}
    values = fill_form(view, "2026-04-14")
    assert values["summary_focus"]["summary_focus_input"]["value"].startswith("Low mood")
    assert values["last_session"]["pick"]["selected_date"] == "2026-02-02"
    assert values["summary_risk"]["risk"]["selected_option"]["value"] == "low"
    assert values["extra"]["x"]["value"] is None


def test_speed_paces_virtual_days_against_the_wall_clock() -> None:
    started = time.monotonic()
    run_demo(Settings(_env_file=None), DemoOptions(weeks=1, speed=14.0, start=date(2026, 3, 2)))
    assert time.monotonic() - started >= 0.45  # 7 virtual days at 14 days a second


def test_the_demo_needs_no_network_beyond_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    real_connect = socket.socket.connect
    attempts: list[object] = []

    def loopback_only(self: socket.socket, address: object) -> None:
        host = address[0] if isinstance(address, tuple) else address
        if host not in {"127.0.0.1", "::1", "localhost"} and self.family != socket.AF_UNIX:
            attempts.append(address)
            raise OSError(f"the demo tried to reach {address!r}")
        real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", loopback_only)
    result = run_demo(Settings(_env_file=None), DemoOptions(weeks=2, start=date(2026, 3, 2)))
    assert attempts == []
    assert any(e.kind == "message" for e in result.entries)

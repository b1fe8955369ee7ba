"""`discharge-bot demo`: the real app through twelve virtual weeks; every path reaches its end."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.domain.model import Closure, State
from bot.entrypoints.cli import main
from bot.entrypoints.demo.caseload import demo_clients
from bot.entrypoints.demo.result import DemoResult, outcome_table
from bot.entrypoints.demo.run import Progress, timeline_line

#: Its database backend is its own (a SQLite file, or none): the PostgreSQL pass skips it.
pytestmark = pytest.mark.once


@pytest.fixture
def result(demo_result: DemoResult) -> DemoResult:
    return demo_result


def test_every_path_of_the_guide_reaches_its_end_in_twelve_weeks(result: DemoResult) -> None:
    by_path = {o.client.path: o for o in result.outcomes}
    quiet = by_path["quiet: 3 check-ins, then discharge"]
    assert quiet.closures == (Closure.ARCHIVED,)
    assert quiet.now is State.CLOSED
    assert quiet.checkins == 3
    missed = by_path["3 missed sessions in a row"]
    assert missed.closures == (Closure.ARCHIVED,)
    assert missed.now is State.CLOSED
    continuing = by_path["replies: continuing care"]
    assert continuing.closures == (Closure.CONTINUING,)
    assert continuing.now is State.ACTIVE
    assert by_path["replies with a fit concern"].closures[0] is Closure.REMATCHED
    assert by_path["still seen by another provider"].closures[0] is Closure.CARE_TEAM_REMOVED
    returned = by_path["discharged, then books again"]
    assert returned.closures[0] is Closure.ARCHIVED
    assert returned.now is State.ACTIVE
    assert "returned" in returned.story
    assert all(o.reached for o in result.outcomes), outcome_table(result.outcomes)


def test_the_transcript_is_what_the_app_sent_to_slack_and_who_clicked(result: DemoResult) -> None:
    messages = [e for e in result.entries if e.kind == "message"]
    clicks = [e for e in result.entries if e.kind == "click"]
    assert any(e.where == "#care-coordination" for e in messages)
    assert {e.actor for e in clicks} == {"Dana Whitfield", "Sam Okafor", "Robin Care"}
    assert all(e.status == 200 for e in result.entries if e.status is not None)
    # The app's own words, from the fake Slack: every message carries blocks to render.
    assert all(e.blocks for e in messages)
    # Nothing on a weekend in the clinician's own zone.
    from zoneinfo import ZoneInfo

    for e in messages:
        assert e.at.astimezone(ZoneInfo(e.zone)).weekday() < 5, timeline_line(e)


def test_halfway_and_at_the_end_each_clinician_opens_the_home_tab_the_app_publishes(
    result: DemoResult,
) -> None:
    homes = [e for e in result.entries if e.kind == "home"]
    assert [e.where for e in homes] == ["Home tab of Dana Whitfield", "Home tab of Sam Okafor"] * 2
    assert all(e.blocks for e in homes)
    assert homes[-1].at == max(e.at for e in result.entries)  # after everything else
    charts = [o.client.chart_id for o in result.outcomes]
    halfway = repr(homes[0].blocks) + repr(homes[1].blocks)
    assert any(chart in halfway for chart in charts)  # work under way, by chart id only
    names = [o.client.first_name for o in result.outcomes]
    assert not any(name in repr([e.blocks for e in homes]) for name in names)


def test_no_client_first_name_reaches_the_cct_channel(result: DemoResult) -> None:
    names = [c.first_name for c in demo_clients(1)]
    for e in result.entries:
        if e.where == "#care-coordination":
            blob = repr(e.blocks) + e.summary
            assert not any(name in blob for name in names)


def test_a_seed_changes_the_caseload_and_the_same_seed_repeats_it() -> None:
    assert [c.chart_id for c in demo_clients(1)] == [c.chart_id for c in demo_clients(1)]
    assert [c.chart_id for c in demo_clients(1)] != [c.chart_id for c in demo_clients(2)]


def test_the_progress_bar_redraws_on_a_terminal_and_prints_weeks_elsewhere(
    result: DemoResult,
) -> None:
    tty, plain = io.StringIO(), io.StringIO()
    bars = [Progress(tty, tty=True), Progress(plain, tty=False)]
    for bar in bars:
        bar.step(result.start, result.start, result.end)
        bar.entry("a line")
        bar.step(result.start, result.end, result.end)
        bar.done()
    assert "\r\033[K[" in tty.getvalue()
    assert "100%" in tty.getvalue()
    assert "\r" not in plain.getvalue()
    assert "-- week 1 of 12 --" in plain.getvalue()
    assert "-- week 12 of 12 --" in plain.getvalue()


def test_demo_command_prints_the_timeline_and_the_outcome_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "demo.db"
    assert main(["demo", "--start", "2026-03-02", "--weeks", "4", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "Check-in 1 of 3 is due" in out  # the app's own words
    assert "Outcomes after 4 weeks" in out
    assert "END REACHED" in out
    assert "paths reached their end" in out
    assert db.exists()  # --db keeps the database for a look afterwards
    assert not (tmp_path / "discharge-bot.db").exists()  # never the practice's own database


def test_demo_refuses_a_start_that_is_not_a_monday(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--start", "2026-03-03"]) == 2
    assert "not a Monday" in capsys.readouterr().err


def test_demo_never_replaces_a_database_it_did_not_make(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    practice = tmp_path / "discharge-bot.db"
    practice.write_bytes(b"the practice's real records")
    assert main(["demo", "--weeks", "1", "--db", str(practice)]) == 2
    assert "is not a database an earlier demo made" in capsys.readouterr().err
    assert practice.read_bytes() == b"the practice's real records"
    again = tmp_path / "demo.db"
    assert main(["demo", "--weeks", "1", "--start", "2026-03-02", "--db", str(again)]) == 0
    assert main(["demo", "--weeks", "1", "--start", "2026-03-02", "--db", str(again)]) == 0

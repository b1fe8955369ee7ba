"""`discharge-bot audit` and `export discharges` on the demo practice's history."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from bot.entrypoints.cli import main
from bot.entrypoints.demo.caseload import demo_clients
from bot.entrypoints.demo.result import DemoResult
from bot.entrypoints.ops.records import EXPORT_COLUMNS, export_discharges
from bot.settings import Settings

#: Its database backend is its own (a SQLite file, or none): the PostgreSQL pass skips it.
pytestmark = pytest.mark.once


@pytest.fixture
def settings_for(demo_result: DemoResult, demo_db: Path) -> Settings:
    return Settings(_env_file=None, database_url=f"sqlite:///{demo_db}")


def by_path(result: DemoResult, path: str) -> str:
    return next(o.client.chart_id for o in result.outcomes if o.client.path == path)


def test_export_lists_each_discharge_once_with_its_dates_and_no_names(
    settings_for: Settings, demo_result: DemoResult
) -> None:
    out = io.StringIO()
    count = export_discharges(settings_for, since=demo_result.start.date(), tz=None, out=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(rows[0].keys()) == EXPORT_COLUMNS
    discharged = {
        by_path(demo_result, "quiet: 3 check-ins, then discharge"),
        by_path(demo_result, "3 missed sessions in a row"),
        by_path(demo_result, "discharged, then books again"),
    }
    assert count == len(rows) == 3
    assert {r["chart_id"] for r in rows} == discharged  # no rematch, no care-team removal
    quiet = next(r for r in rows if r["chart_id"] == by_path(demo_result, "quiet: 3 check-ins, then discharge"))
    assert quiet["status"] == "archived"
    assert quiet["checkins_documented"] == "3"
    assert quiet["outreach_trigger"] == "silence"
    assert quiet["cct_archived_by"] == "U0DEMOCCT01"
    assert quiet["moved_to_discharged_group"] <= quiet["cct_archived"]
    names = [c.first_name for c in demo_clients(1)]
    assert not any(name in out.getvalue() for name in names)


def test_export_since_a_later_date_leaves_earlier_discharges_out(
    settings_for: Settings, demo_result: DemoResult
) -> None:
    out = io.StringIO()
    assert export_discharges(settings_for, since=demo_result.end.date(), tz=None, out=out) == 0
    assert out.getvalue().splitlines() == [",".join(EXPORT_COLUMNS)]


def test_audit_prints_one_clients_trail_in_order_with_who_did_it(
    demo_result: DemoResult, demo_db: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{demo_db}")
    chart = by_path(demo_result, "quiet: 3 check-ins, then discharge")
    assert main(["audit", chart]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines()[1:] if line.startswith("20")]
    assert " client_imported " in lines[0]
    assert sum(" checkin_sent " in line for line in lines) == 3
    assert " cct_done " in lines[-1]
    assert "U0DEMOCLIN1 (Dana)" in out  # Slack's display name
    assert all(chart in line for line in lines)


def test_audit_since_and_limit_narrow_the_trail(
    demo_result: DemoResult, demo_db: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{demo_db}")
    assert main(["audit", "--limit", "3"]) == 0
    assert "3 entries" in capsys.readouterr().out
    assert main(["audit", "--since", demo_result.end.date().isoformat()]) == 0
    assert "No audit entries" in capsys.readouterr().out
    assert main(["audit", "R-0000"]) == 1
    assert "R-0000" in capsys.readouterr().err


def test_export_command_writes_a_csv_file(
    demo_result: DemoResult, demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{demo_db}")
    target = tmp_path / "discharges.csv"
    since = demo_result.start.date().isoformat()
    assert main(["export", "discharges", "--since", since, "--format", "csv", "-o", str(target)]) == 0
    assert "3 discharge(s) written" in capsys.readouterr().err
    assert target.read_text(encoding="utf-8").startswith("chart_id,clinician_slack_id,")
    with pytest.raises(SystemExit) as refused:
        main(["export", "discharges", "--since", "yesterday"])
    assert refused.value.code == 2
    assert "is not a date" in capsys.readouterr().err

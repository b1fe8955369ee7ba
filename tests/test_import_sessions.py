"""`discharge-bot import-sessions`: session outcomes backfilled from CSV, same rules as the caseload."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.domain.model import State
from bot.entrypoints.cli import main
from bot.settings import Settings
from storage.models import EventRecord
from storage.repository import UnitOfWork

CASELOAD = (
    "client_id,clinician_slack_id,first_name,last_contact_at,next_session_at,clinician_timezone\n"
    "R-1,U0CLIN1,Ana,2026-01-05T10:00,,America/Toronto\n"
)


@pytest.fixture
def imported(tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    caseload = tmp_path / "caseload.csv"
    caseload.write_text(CASELOAD, encoding="utf-8")
    assert main(["import", str(caseload)]) == 0
    return tmp_path


def events(uow: UnitOfWork) -> int:
    with uow() as repo:
        return int(repo.session.scalar(select(func.count()).select_from(EventRecord)) or 0)


def test_three_missed_sessions_from_a_backfill_open_outreach_once(
    imported: Path, uow: UnitOfWork, capsys: pytest.CaptureFixture[str]
) -> None:
    sessions = imported / "sessions.csv"
    sessions.write_text(
        "client_id,occurred_at,outcome\n"
        "R-1,2026-01-12T10:00,no_show\n"
        "R-1,2026-01-19T10:00,Cancelled\n"
        "R-1,2026-01-26T10:00,no-show\n",
        encoding="utf-8",
    )
    assert main(["import-sessions", str(sessions)]) == 0
    assert "3 session outcome(s) recorded, 0 already known" in capsys.readouterr().out
    after_first = events(uow)
    assert main(["import-sessions", str(sessions)]) == 0  # the same file again: no effect
    assert "0 session outcome(s) recorded, 3 already known" in capsys.readouterr().out
    assert events(uow) == after_first
    assert main(["status", "R-1"]) == 0
    timeline = capsys.readouterr().out
    assert "3 consecutive cancellations/no-shows" in timeline
    assert f"state: {State.OUTREACH.value}" in timeline


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("client_id,outcome\nR-1,attended\n", "line 1, column occurred_at: missing column"),
        ("client_id,occurred_at,outcome\nR-1,2026-01-12,skipped\n",
         "line 2, column outcome: not one of attended, cancelled, no_show"),
        ("client_id,occurred_at,outcome\nR-1,12/01/2026,attended\n",
         "line 2, column occurred_at: not an ISO 8601 date"),
        ("client_id,occurred_at,outcome\nR-9,2026-01-12,attended\n",
         "line 2, column client_id: no client R-9 on the caseload"),
        ("client_id,occurred_at,outcome\nR-1,2099-01-12,attended\n",
         "line 2, column occurred_at: 2099-01-12T00:00:00-05:00 is in the future"),
    ],
    ids=["missing-column", "unknown-outcome", "bad-date", "unknown-client", "future-date"],
)
def test_a_bad_sessions_file_is_refused_whole(
    imported: Path, uow: UnitOfWork, capsys: pytest.CaptureFixture[str], content: str, expected: str
) -> None:
    bad = imported / "bad.csv"
    bad.write_text(content, encoding="utf-8")
    before = events(uow)
    capsys.readouterr()
    assert main(["import-sessions", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "nothing was imported" in err
    assert expected in err
    assert events(uow) == before


def test_rows_older_than_the_episode_are_reported_not_applied_and_the_rest_still_apply(
    imported: Path, uow: UnitOfWork, capsys: pytest.CaptureFixture[str]
) -> None:
    sessions = imported / "sessions.csv"
    sessions.write_text(
        "client_id,occurred_at,outcome\n"
        "R-1,2025-11-30T10:00,attended\n"  # before the last contact on record (2026-01-05)
        "R-1,2026-01-12T10:00,no_show\n",
        encoding="utf-8",
    )
    before = events(uow)
    assert main(["import-sessions", str(sessions)]) == 0
    out = capsys.readouterr().out
    assert "1 session outcome(s) recorded" in out
    assert "line 2, column occurred_at: 2025-11-30 is before this client's current episode" in out
    assert events(uow) > before  # the no-show (and what it scheduled) went in

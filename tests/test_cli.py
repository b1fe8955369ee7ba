"""The command line as an admin meets it: help, errors, migrate, status, tick."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.entrypoints.cli import main
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("command", ["migrate", "import", "status", "tick", "outbox"])
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert "usage: discharge-bot" in capsys.readouterr().out


def test_python_dash_m_bot_is_the_same_program() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--help"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "discharge-bot" in result.stdout
    assert "migrate" in result.stdout


def test_unmigrated_database_is_refused_with_the_command_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    assert main(["status"]) == 1
    assert "Run `discharge-bot migrate` first" in capsys.readouterr().err
    assert main(["migrate"]) == 0
    assert main(["status"]) == 0
    assert "The caseload is empty" in capsys.readouterr().out


def test_tick_rejects_a_naive_instant(settings: Settings, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    assert main(["tick", "--now", "2026-03-16T10:00"]) == 2
    assert "needs a time zone offset" in capsys.readouterr().err


def test_bad_setting_is_reported_by_name(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DISCHARGE_SILENCE_DAYS", "soon")
    assert main(["status"]) == 2
    assert "silence_days" in capsys.readouterr().err


def test_tick_prints_what_it_queued_and_nothing_twice(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    assert main(["import", str(ROOT / "examples" / "caseload.csv")]) == 0
    capsys.readouterr()
    assert main(["tick", "--now", "2027-01-04T15:00Z"]) == 0
    first = capsys.readouterr().out
    assert "6 message(s) queued" in first
    assert "ep1:checkin-1:0" in first
    assert main(["tick", "--now", "2027-01-04T15:00Z"]) == 0
    assert "0 message(s) queued" in capsys.readouterr().out
    assert main(["status", "R-1042", "--now", "2027-01-04T15:00Z"]) == 0
    timeline = capsys.readouterr().out
    assert "no client contact for 14 days" in timeline
    assert "Ana" not in timeline  # the first name is for client-facing chat text only

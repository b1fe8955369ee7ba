"""Issue 9, item 2: run the end-to-end and bad-input suites with logging at DEBUG and scan
every record (message and traceback) for the fixtures' names and note texts."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.logsafe import escape_line, quiet_libraries
from tests.conftest import LOG_SCAN_REPORT

ROOT = Path(__file__).resolve().parents[2]
SUITES = (
    "tests/slack/test_end_to_end.py",
    "tests/slack/test_security.py",
    "tests/slack/test_hardening.py",
    "tests/slack/test_commands.py",
    "tests/slack/test_summary_whole.py",
    "tests/platform/test_hostile_input.py",
    "tests/platform_e2e",
    "tests/security/test_dates_and_text.py",
    "tests/security/test_at_rest.py",
)


def test_no_fixture_name_or_note_text_reaches_any_log_record_at_debug(tmp_path: Path) -> None:
    report = tmp_path / "scan.json"
    env = {**os.environ, LOG_SCAN_REPORT: str(report)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not once",
         "-x", *SUITES],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    found = json.loads(report.read_text(encoding="utf-8"))
    assert found["records"] > 200  # the scan really saw the suites' logging
    assert found["hits"] == []


def test_escape_line_keeps_forged_lines_on_one_line() -> None:
    assert escape_line("hi\nERROR forged\r\x1b[31m") == "hi\\nERROR forged\\r\\x1b[31m"


def test_library_loggers_that_echo_bodies_stay_at_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("slack_bolt", "slack_sdk", "sqlalchemy.engine", "psycopg"):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.NOTSET)
    quiet_libraries()
    for name in ("slack_bolt.App", "slack_sdk.web.base_client", "sqlalchemy.engine.Engine",
                 "psycopg"):
        assert not logging.getLogger(name).isEnabledFor(logging.INFO)

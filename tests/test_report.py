"""The re-engagement report over a history built through the services, with known answers.

Runs on SQLite and (in the suite's second pass) on PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FixedClock
from bot.domain.model import ChecklistStep, Classification, EventKind
from bot.entrypoints.cli import main
from bot.entrypoints.report_formats import render
from bot.services import Services
from bot.services.report import Report, compile_report, digest_line
from smart_phrases import PhraseLibrary
from tests.helpers import ADMIN, PLATFORM, import_rows

TORONTO = ZoneInfo("America/Toronto")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TORONTO).astimezone(UTC)  # type: ignore[misc]


SINCE = local(2026, 3, 1)
UNTIL = local(2026, 5, 2)


@pytest.fixture
def history(service: Services, clock: FixedClock) -> Services:
    """Clinician U0A: A1-A5 come back after check-in 1, A6 is discharged after three
    check-ins sent with Send for me, A7 misses three sessions in a row and its check-in goes
    overdue. Clinician U0B: B1 is rematched after a fit concern, B2 leaves the care team."""
    clock.set(local(2026, 3, 3, 12))
    rows = [f"A{i},U0A,,2026-03-02T10:00,,America/Toronto" for i in range(1, 8)]
    rows += [f"B{i},U0B,,2026-03-02T10:00,,America/Toronto" for i in range(1, 3)]
    import_rows(service, *rows)

    # A7: three no-shows; check-in 1 is prompted at once and then re-nudged (overdue).
    for day in (4, 5, 6):
        clock.set(local(2026, 3, day, 11))
        service.recording.record_session(
            "A7", EventKind.SESSION_NO_SHOW, occurred_at=local(2026, 3, day, 10), actor=PLATFORM
        )
    service.outreach.tick(local(2026, 3, 6, 11))
    service.outreach.tick(local(2026, 3, 9, 12))  # 3 days on, a Monday: the first re-nudge

    # B1: outreach started by hand, the client writes, a fit concern, CCT rematches.
    clock.set(local(2026, 3, 10, 11))
    service.outreach.start_outreach("B1", actor=ADMIN)
    clock.set(local(2026, 3, 11, 11))
    service.recording.record_client_message("B1", occurred_at=local(2026, 3, 11, 9), actor=PLATFORM)
    service.replies.classify_reply("B1", Classification.FIT_CONCERN, actor=ADMIN)
    service.cct.cct_done("B1", actor=ADMIN)

    # B2: outreach by hand, one check-in, the checklist opened early; still seen by other
    # providers, so CCT removes the clinician from the care team.
    service.outreach.start_outreach("B2", actor=ADMIN)
    service.outreach.mark_checkin_sent("B2", actor=ADMIN)
    service.checklist.open_discharge("B2", actor=ADMIN, reason="Client asked to close the file")
    service.checklist.complete_step("B2", ChecklistStep.NOTES_SIGNED, actor=ADMIN)
    service.checklist.complete_step("B2", ChecklistStep.OTHER_PROVIDERS, answer="yes", actor=ADMIN)
    service.cct.cct_done("B2", actor=ADMIN)

    # A1-A6: outreach by silence on 2026-03-16; check-in 1 documented.
    clock.set(local(2026, 3, 16, 11))
    for i in range(1, 6):
        service.outreach.mark_checkin_sent(f"A{i}", actor=ADMIN)
    service.outreach.mark_checkin_sent("A6", actor=ADMIN, via="platform")
    clock.set(local(2026, 3, 20, 11))
    for i in range(1, 6):
        service.recording.record_session(
            f"A{i}", EventKind.SESSION_ATTENDED, occurred_at=local(2026, 3, 20, 10), actor=PLATFORM
        )
    for day in (30, 31):
        clock.set(local(2026, 3, day, 11))
        service.outreach.mark_checkin_sent("A6", actor=ADMIN, via="platform")

    # A6: inactive by communication; the checklist through to CCT's archive.
    clock.set(local(2026, 5, 1, 12))
    service.checklist.complete_step("A6", ChecklistStep.NOTES_SIGNED, actor=ADMIN)
    service.checklist.complete_step("A6", ChecklistStep.OTHER_PROVIDERS, answer="no", actor=ADMIN)
    service.checklist.save_discharge_summary(
        "A6", treatment_focus="f", goals_progress="g", risk_level="low", actor=ADMIN
    )
    service.checklist.complete_step("A6", ChecklistStep.MOVED_TO_GROUP, actor=ADMIN)
    service.cct.cct_done("A6", actor=ADMIN)
    return service


def report(service: Services, **kw: object) -> Report:
    return compile_report(service.uow, service.settings, now=UNTIL, since=SINCE, **kw)  # type: ignore[arg-type]


def test_practice_counts_match_the_history(history: Services) -> None:
    counts = report(history).practice.counts
    assert counts.get("outreach_silence") == 6
    assert counts.get("outreach_attendance") == 1
    assert counts.get("outreach_manual") == 2
    assert counts.get("reengaged") == 5
    assert counts.get("reengaged_1") == 5
    assert counts.get("discharged") == 1
    assert counts.get("care_team_removed") == 1
    assert counts.get("rematched") == 1
    assert counts.get("checkins") == 9
    assert counts.get("send_for_me") == 3
    assert counts.get("overdue_nudged") == 1
    [days] = report(history).practice.days
    assert days == pytest.approx(60 + 1 / 24, abs=1e-6)  # 03-02 10:00 EST to 05-01 12:00 EDT


def test_the_wording_that_brought_clients_back_is_counted_by_phrase_version(
    history: Services, phrases: PhraseLibrary
) -> None:
    version = phrases.get("checkin_1").version
    assert report(history).practice.phrases == {f"checkin_1@{version}": 5}
    text = render(report(history), "table")
    assert f"checkin_1 (version {version}): 5" in text


def test_small_cells_are_protected_in_shared_views(history: Services) -> None:
    r = report(history)
    p = r.practice
    assert (r.cell(p, "outreach_silence"), r.cell(p, "reengaged")) == ("6", "5")
    assert (r.cell(p, "outreach_attendance"), r.cell(p, "discharged")) == ("<5", "<5")
    assert r.cell(p, "median_days") == "n<5"
    assert r.cell(p, "headsups") == "0"
    rows = list(csv.reader(io.StringIO(render(r, "csv"))))
    values = {(row[0], row[1], row[2]): row[3] for row in rows[1:]}
    assert values[("clinician", "U0A", "outreach_attendance")] == "<5"
    assert values[("clinician", "U0B", "rematched")] == "<5"
    assert values[("practice", "", "outreach_silence")] == "6"
    assert all(value != "1" for value in values.values())


def test_a_clinicians_own_table_is_exact_and_the_rest_stays_protected(
    history: Services,
) -> None:
    r = report(history, clinician_slack_id="U0A", own_view=True)
    [mine] = r.clinicians
    assert mine.who == "U0A"
    assert r.cell(mine, "outreach_attendance") == "1"
    assert r.cell(mine, "median_days") == "60.0"
    assert r.cell(r.practice, "outreach_attendance") == "<5"  # the practice row is shared
    assert r.practice.counts.get("rematched") is None  # narrowed to U0A's clients


def test_nothing_names_a_client(history: Services) -> None:
    r = report(history)
    for fmt in ("table", "csv", "html"):
        text = render(r, fmt)  # type: ignore[arg-type]
        for chart in [f"A{i}" for i in range(1, 8)] + ["B1", "B2"]:
            for shape in (f"{chart},", f">{chart}<", f" {chart} ", f"{chart}\n"):
                assert shape not in text


def test_the_digest_line_is_practice_wide_and_protected(history: Services) -> None:
    assert digest_line(report(history)) == (
        "Re-engagement this week: outreach opened 9, re-engaged 5, came back after a "
        "heads-up 0, discharged <5, care-team removals <5, rematches <5"
    )


def test_before_the_window_nothing_is_counted(history: Services) -> None:
    r = compile_report(
        history.uow, history.settings, now=local(2026, 3, 1), since=local(2026, 1, 1)
    )
    assert not any(r.practice.counts.values())


# -- the command line and the HTML in a real browser -------------------------------------------
def _run_report(history: Services, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setenv("DATABASE_URL", history.settings.database_url)
    return main(["report", "--since", "2026-03-01", "--now", UNTIL.isoformat(), *args])


def test_the_command_prints_a_clinicians_own_table_exactly(
    history: Services, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run_report(history, monkeypatch, "--clinician", "U0A") == 0
    out = capsys.readouterr().out
    [line] = [row for row in out.splitlines() if row.startswith("outreach by attendance")]
    assert line.split()[-2:] == ["<5", "1"]  # the practice's (shared), then U0A's own


def test_the_command_refuses_an_unknown_clinician(
    history: Services, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run_report(history, monkeypatch, "--clinician", "U0NOBODY") == 2
    assert "no clinician U0NOBODY" in capsys.readouterr().err


def test_the_html_report_opens_in_headless_chromium_without_script_errors(
    history: Services, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    assert _run_report(history, monkeypatch, "--format", "html", "--output", str(page)) == 0
    text = page.read_text(encoding="utf-8")
    assert text.count("<svg") >= 3
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in text
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium)")
    browser = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1280,1600",
    ]
    shot = tmp_path / "report.png"
    subprocess.run(
        [*browser, f"--screenshot={shot}", page.as_uri()],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 5_000
    dom = subprocess.run(
        [*browser, "--dump-dom", page.as_uri()],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    body = re.search(r"<body[^>]*>", dom)
    assert body is not None
    assert 'data-ready="yes"' in body.group(0)  # the page's script ran to the end
    assert "data-script-error" not in body.group(0)


def test_the_weekly_cct_digest_carries_the_protected_reengagement_line(
    history: Services,
) -> None:
    monday = local(2026, 3, 23, 9)  # the week 2026-03-16 .. 03-22
    key = history.digest.queue_weekly_digest(monday)
    assert key is not None
    with history.uow() as repo:
        row = repo.outbox_by_key(key)
        assert row is not None
        outbox_id = row.id
    text = history.messages.outbox_message(outbox_id).text
    assert (
        "Re-engagement this week: outreach opened 6, re-engaged 5, came back after a heads-up 0, "
        "discharged 0, care-team removals 0, rematches 0"
    ) in text
    for chart in ("A1", "A5"):
        assert chart not in text.split("Re-engagement", 1)[1]

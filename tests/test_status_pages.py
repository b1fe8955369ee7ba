"""`status` of the caseload: the same rows as assessing every client, in a fixed number of
statements per page whatever the caseload's size, paged on request and through a pager on
a terminal."""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from bot.clock import FixedClock
from bot.domain.model import EventKind
from bot.domain.policy import assess
from bot.entrypoints.cli import main
from bot.entrypoints.pager import output_pager, pager_command
from bot.services import Services
from bot.services.episodes import step_label
from bot.services.reads import CaseloadRow, _title
from bot.settings import Settings
from tests.helpers import ADMIN, import_rows
from tests.test_reads_scale import counting

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def assessed(service: Services, clinician: str | None = None) -> list[CaseloadRow]:
    """The caseload as it was read before the cache: every client's history assessed."""
    now = service.clock.now()
    rows = []
    with service.uow() as repo:
        found = repo.clinician_by_slack_id(clinician) if clinician else None
        pages = service.episodes.caseload_pages(repo, clinician_id=found.id if found else None)
        for client, episode, records in pages:
            a = assess(
                service.episodes.history(repo, episode, records),
                service.episodes.policy,
                service.episodes.hours_for(client.clinician),
                now,
            )
            upcoming = a.due[0] if a.due else a.next
            rows.append(
                CaseloadRow(
                    client.chart_id,
                    client.clinician.slack_user_id,
                    a.state,
                    step_label(upcoming),
                    upcoming.due_at if upcoming else None,
                    a.last_contact_at,
                    a.checkins_sent,
                    _title(upcoming, a, service.episodes.policy.checkins),
                )
            )
    return rows


def mixed_caseload(service: Services, clock: FixedClock) -> None:
    """Clients in several states: active (settled), due, in outreach with a check-in
    documented, on the attendance path, replied, discharging."""
    clock.set(NOW)
    import_rows(
        service,
        "R-01,U0CLIN1,Ana,2026-02-27T10:00,,America/Toronto",
        "R-02,U0CLIN1,Ben,2026-02-20,2026-03-09T10:00,America/Toronto",
        "R-03,U0CLIN2,Cy,2026-01-05T09:00,,America/Vancouver",
        "R-04,U0CLIN2,Dee,2026-01-20,,America/Vancouver",
        "R-05,U0CLIN1,Eve,2026-03-01,,America/Toronto",
        "R-06,U0CLIN1,Fay,2026-01-02,,America/Toronto",
        "R-07,U0CLIN2,Gus,2026-02-26T09:00,,America/Vancouver",
    )
    service.outreach.tick(NOW)
    service.outreach.mark_checkin_sent("R-03", actor=ADMIN)
    service.recording.record_client_message("R-04", occurred_at=NOW, actor=ADMIN)
    service.checklist.open_discharge("R-06", actor=ADMIN, reason="moved away")
    for day in (3, 2, 1):  # three no-shows in a row: the attendance path
        service.recording.record_session(
            "R-07", EventKind.SESSION_NO_SHOW, occurred_at=NOW - timedelta(days=day), actor=ADMIN
        )
    service.notes.log_note("R-01", "called, left a voicemail", actor=ADMIN)


@pytest.mark.parametrize("days", [0, 3, 15, 40, 90])
def test_the_caseload_from_the_cache_is_the_caseload_from_the_histories(
    service: Services, clock: FixedClock, days: int
) -> None:
    mixed_caseload(service, clock)
    clock.set(NOW + timedelta(days=days))
    fast = service.reads.caseload()
    assert fast == assessed(service)
    assert len(fast) == 7
    assert service.reads.caseload(clinician_slack_id="U0CLIN2") == assessed(service, "U0CLIN2")


def test_episodes_cached_before_the_last_contact_was_are_assessed(
    engine: Engine, service: Services, clock: FixedClock
) -> None:
    mixed_caseload(service, clock)
    clock.set(NOW + timedelta(days=3))
    with engine.begin() as connection:  # as migration 0005 leaves existing episodes
        connection.execute(text("UPDATE episodes SET last_contact_at = NULL"))
    rows = service.reads.caseload()
    assert rows == assessed(service)
    assert all(r.last_contact_at is not None for r in rows)


def test_status_reads_a_page_in_the_same_statements_for_8_clients_as_for_400(
    engine: Engine, service: Services, clock: FixedClock
) -> None:
    def statements(size: int) -> int:
        clock.set(NOW)
        import_rows(  # a quarter of them due now (assessed), the rest settled
            service,
            *(
                f"R-{size}-{i:04d},U0CLIN{i % 3},N,"
                f"{'2026-01-05' if i % 4 == 0 else '2026-02-27'},,America/Toronto"
                for i in range(size)
            ),
        )
        with counting(engine) as seen:
            rows = list(service.reads.caseload_rows(clinician_slack_id=None, page=1000))
        assert len(rows) >= size
        return len(seen)

    small = statements(8)
    large = statements(400)
    assert small == large
    assert small <= 5


def test_pages_read_ahead_give_the_same_rows_and_a_reader_may_stop_at_any_row(
    service: Services, clock: FixedClock
) -> None:
    """Each next page is read by a helper thread while this one is assessed: in small pages
    the rows are the same, in order, and a reader that stops early leaves no thread."""
    mixed_caseload(service, clock)
    clock.set(NOW + timedelta(days=3))
    whole = service.reads.caseload()
    assert list(service.reads.caseload_rows(page=2)) == whole
    assert list(service.reads.caseload_rows(page=2, offset=1, limit=4)) == whole[1:5]
    reader = service.reads.caseload_rows(page=2)
    assert [next(reader) for _ in range(3)] == whole[:3]
    reader.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("caseload-read")]


@pytest.fixture
def cli(
    settings: Settings, service: Services, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> Services:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DISCHARGE_CLOCK_START", NOW.isoformat())
    clock.set(NOW)
    import_rows(
        service,
        *(f"R-{i:02d},U0CLIN{i % 2},N,2026-02-27T10:00,,America/Toronto" for i in range(7)),
    )
    return service


def table_rows(out: str) -> list[str]:
    return [line.split()[0] for line in out.splitlines() if line.startswith("R-")]


def test_status_pages_the_caseload_on_request(
    cli: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--no-pager"]) == 0
    out = capsys.readouterr().out
    assert table_rows(out) == [f"R-{i:02d}" for i in range(7)]
    assert out.splitlines()[0].split()[:3] == ["CLIENT", "CLINICIAN", "STATE"]
    assert "7 client(s); times in America/Toronto." in out

    assert main(["status", "--page", "2", "--page-size", "3"]) == 0
    out = capsys.readouterr().out
    assert table_rows(out) == ["R-03", "R-04", "R-05"]
    assert "Clients 4-6 of 7 (page 2 of 3); times in America/Toronto. Next: --page 3." in out

    assert main(["status", "--page", "3", "--page-size", "3"]) == 0
    out = capsys.readouterr().out
    assert table_rows(out) == ["R-06"]
    assert "Next:" not in out

    assert main(["status", "--page", "4", "--page-size", "3"]) == 0
    assert "Page 4 is past the end: 7 client(s) make 3 page(s)." in capsys.readouterr().out

    assert main(["status", "--clinician", "U0CLIN1", "--page", "1", "--page-size", "2"]) == 0
    out = capsys.readouterr().out
    assert table_rows(out) == ["R-01", "R-03"]
    assert "of 3 (page 1 of 2)" in out

    assert main(["status", "--clinician", "U0NOBODY"]) == 0
    assert "U0NOBODY's caseload is empty" in capsys.readouterr().out


@pytest.mark.parametrize("bad", [["--page", "0"], ["--page-size", "-1"], ["--page", "x"]])
def test_status_refuses_a_page_that_cannot_be(
    cli: Services, bad: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["status", *bad])
    assert exited.value.code == 2
    assert "--page" in capsys.readouterr().err


def test_status_of_one_client_takes_no_page(
    cli: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "R-01", "--page", "1"]) == 2
    assert "leave out CLIENT_ID" in capsys.readouterr().err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_caseload_goes_through_the_pager(
    cli: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paged = tmp_path / "paged.txt"
    monkeypatch.setenv("PAGER", f"cat > {paged}")
    terminal = Terminal()
    monkeypatch.setattr("sys.stdout", terminal)
    assert main(["status"]) == 0
    assert table_rows(paged.read_text(encoding="utf-8")) == [f"R-{i:02d}" for i in range(7)]
    assert terminal.getvalue() == ""

    paged.unlink()
    assert main(["status", "--no-pager"]) == 0
    assert not paged.exists()
    assert table_rows(terminal.getvalue()) == [f"R-{i:02d}" for i in range(7)]


def test_the_pager_is_used_only_on_a_terminal_and_as_configured(tmp_path: Path) -> None:
    assert pager_command({"PAGER": "more -s"}) == "more -s"
    assert pager_command({"PAGER": ""}) is None
    assert pager_command({"PAGER": "cat"}) is None
    piped = io.StringIO()
    with output_pager(stdout=piped, environ={"PAGER": "false"}) as out:
        out.write("plain\n")
    assert piped.getvalue() == "plain\n"
    # A reader who quits the pager early ends the output quietly.
    with output_pager(stdout=Terminal(), environ={"PAGER": "true"}) as out:
        for _ in range(100_000):
            out.write("a line the pager never reads\n")

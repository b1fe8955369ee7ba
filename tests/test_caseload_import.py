"""The caseload CSV: bad files are refused whole with line and column; good ones import once."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.entrypoints.cli import main
from bot.services import Services
from bot.services.caseload_file import CaseloadError, parse_caseload
from bot.settings import Settings
from storage.models import AuditEntry, Client, Clinician, Episode
from storage.repository import UnitOfWork
from tests.helpers import HEADER, import_rows

GOOD = HEADER + (
    "R-1,U0CLIN1,Ana,2026-03-02T10:00,,America/Toronto\n"
    "R-2,U0CLIN1,Ben,2026-03-02,2026-12-01T10:00,America/Toronto\n"
)


def counts(uow: UnitOfWork) -> tuple[int, int, int, int]:
    with uow() as repo:
        s = repo.session
        return tuple(  # type: ignore[return-value]
            s.scalar(select(func.count()).select_from(m)) for m in (Client, Clinician, Episode, AuditEntry)
        )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(
            "client_id,clinician_slack_id,first_name,last_contact_at,next_session_at\nR-1,U0C,A,2026-03-02,\n",
            "line 1, column clinician_timezone: missing column 'clinician_timezone'",
            id="missing-column",
        ),
        pytest.param(
            HEADER + "R-1,U0CLIN1,Ana,2026-03-02,,Mars/Olympus\n",
            "line 2, column clinician_timezone: unknown time zone (use an IANA name",
            id="unknown-time-zone",
        ),
        pytest.param(
            HEADER + "R-1,U0CLIN1,Ana,2026-03-02,,\nR-2,U0CLIN1,Ben,02/03/2026,,\n",
            "line 3, column last_contact_at: not an ISO 8601 date",
            id="bad-date",
        ),
        pytest.param(
            HEADER + "R-1,U0CLIN1,Ana,2026-03-02,,\nR-2,U0CLIN1,Ben,2026-03-02,,\nR-1,U0CLIN2,Cy,2026-03-02,,\n",
            "line 4, column client_id: duplicate client id (first on line 2)",
            id="duplicate-client",
        ),
        pytest.param(
            HEADER + "R-1,bob,Ana,2026-03-02,,\n",
            "line 2, column clinician_slack_id: not a Slack user id",
            id="bad-slack-id",
        ),
        pytest.param(
            HEADER + "R-1,U0CLIN1,Ana,,,\n",
            "line 2, column last_contact_at: last_contact_at is required",
            id="missing-value",
        ),
        pytest.param(HEADER, "line 2: the file has a header but no clients", id="no-rows"),
    ],
)
def test_bad_caseload_is_refused_with_line_and_column(content: str, expected: str) -> None:
    with pytest.raises(CaseloadError) as error:
        parse_caseload(content, practice_timezone="America/Toronto")
    assert any(str(p).startswith(expected) for p in error.value.problems), error.value.problems


def test_a_bad_row_anywhere_leaves_the_database_untouched(
    tmp_path: Path, settings: Settings, uow: UnitOfWork, service: Services,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    import_rows(service, "R-9,U0CLIN1,Zed,2026-03-02,,")
    before = counts(uow)
    bad = tmp_path / "bad.csv"
    bad.write_text(GOOD + "R-3,U0CLIN1,Cy,yesterday,,\n", encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    assert main(["import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "nothing was imported" in err
    assert f"{bad}:line 4, column last_contact_at" in err
    assert counts(uow) == before


def test_importing_the_same_file_twice_changes_nothing(
    tmp_path: Path, settings: Settings, uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    good = tmp_path / "caseload.csv"
    good.write_text(GOOD, encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    assert main(["import", str(good)]) == 0
    after_first = counts(uow)
    assert after_first[:3] == (2, 1, 2)
    assert main(["import", str(good)]) == 0
    assert "0 client(s) added, 0 updated, 2 unchanged" in capsys.readouterr().out
    assert counts(uow) == after_first


def test_a_bare_date_is_midnight_in_the_clinicians_zone() -> None:
    [row] = parse_caseload(HEADER + "R-1,U0CLIN1,Ana,2026-03-02,,America/Vancouver\n", practice_timezone="America/Toronto")
    assert row.last_contact_at.isoformat() == "2026-03-02T00:00:00-08:00"


def test_reimport_with_a_new_clinician_reassigns_the_client(service: Services, uow: UnitOfWork) -> None:
    import_rows(service, "R-1,U0CLIN1,Ana,2026-03-02,,")
    import_rows(service, "R-1,U0CLIN2,Ana,2026-03-02,,")
    with uow() as repo:
        client = repo.client_by_chart_id("R-1")
        assert client is not None
        assert client.clinician.slack_user_id == "U0CLIN2"
        # the audit trail records the change but never the client's name
        entries = repo.audit_entries(client_id=client.id)
        assert entries[0].action == "client_updated"
        assert "Ana" not in str(entries[0].details)


PLATFORM_HEADER = HEADER.rstrip("\n") + ",clinician_platform_id\n"


def test_optional_clinician_platform_id_says_who_the_clinician_is_in_the_platform(
    service: Services, uow: UnitOfWork
) -> None:
    import_rows(service, "R-1,U0CLIN1,Ana,2026-03-02,,,77", "R-2,U0CLIN1,Bo,2026-03-02,,,",
                header=PLATFORM_HEADER)

    with uow() as repo:
        [clinician] = repo.session.scalars(select(Clinician)).all()
        assert clinician.platform_user_id == "77"
        audit = repo.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "clinician_platform_id")).all()
        assert [a.details["source"] for a in audit] == ["caseload"]


def test_one_clinician_with_two_platform_ids_is_refused() -> None:
    content = PLATFORM_HEADER + "R-1,U0CLIN1,,2026-03-02,,,77\nR-2,U0CLIN1,,2026-03-02,,,78\n"

    with pytest.raises(CaseloadError, match="line 3, column clinician_platform_id: U0CLIN1 is "
                                            "platform user 77 on line 2"):
        parse_caseload(content, practice_timezone="America/Toronto")

"""The batched caseload import writes exactly what one row at a time wrote, all or nothing,
encrypted as before, with a progress line only on a terminal."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

from bot.clock import FixedClock
from bot.entrypoints.cli import main
from bot.entrypoints.progress import ProgressLine
from bot.services import Services, build_services
from bot.services.caseload_file import parse_caseload
from bot.settings import Settings
from smart_phrases import PhraseLibrary
from storage.crypto import Keyring, attach_keyring, generate_key
from storage.db import make_engine, make_session_factory
from storage.models import AuditEntry, Base, Client, Clinician, Episode, EventRecord
from storage.repository import Repository, UnitOfWork
from tests.helpers import ADMIN
from tests.reference_import import RowByRowImport

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
HEADER = (
    "client_id,clinician_slack_id,first_name,last_contact_at,next_session_at,"
    "clinician_timezone,last_session_at,clinician_name,clinician_platform_id\n"
)
# New clients of three clinicians (one named, one with a platform id, one in the practice
# zone), bookings past and future, a bare date, a last session, an old contact (due now).
FIRST = HEADER + (
    "R-1,U0CLIN1,Ana,2026-02-27T10:00,,America/Toronto,,,\n"
    "R-2,U0CLIN1,Ben,2026-02-20,2026-03-09T10:00,America/Toronto,2026-02-20,,\n"
    "R-3,U0CLIN2,,2026-01-05T09:00,2026-02-01T10:00,America/Vancouver,,Dr Lee,77\n"
    "R-4,U0CLIN3,Cy,2026-02-28T16:30,,,2026-02-28T16:00,,\n"
    "R-5,U0CLIN2,Dee,2025-12-01,,America/Vancouver,,Dr Lee,77\n"
)
# Again, with: R-1 unchanged; R-2 reassigned and renamed; R-3 (in outreach by now) a later
# contact and a booking, which the import leaves alone; R-4 a later contact, session and a
# new booking; two new clients; a clinician's new platform id and name.
SECOND = HEADER + (
    "R-1,U0CLIN1,Ana,2026-02-27T10:00,,America/Toronto,,,\n"
    "R-2,U0CLIN3,Bea,2026-02-20,2026-03-09T10:00,,2026-02-20,,\n"
    "R-3,U0CLIN2,,2026-02-25T09:00,2026-03-20T10:00,America/Vancouver,,Dr Lee-Ray,78\n"
    "R-4,U0CLIN3,Cy,2026-03-01T09:00,2026-03-10T10:00,,2026-03-01T11:00,,\n"
    "R-6,U0CLIN4,Eve,2026-03-01,,America/Halifax,,,\n"
    "R-0,U0CLIN1,Fay,2026-02-02,,America/Toronto,,,\n"
    "R-5,U0CLIN2,Dee,2025-12-01,,America/Vancouver,,Dr Lee-Ray,78\n"
)
TABLES = (Clinician, Client, Episode, EventRecord, AuditEntry)


def rows(content: str) -> Any:
    return parse_caseload(content, practice_timezone="America/Toronto")


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every column of every row the import touches, in id order (names decrypted)."""
    with engine.connect() as connection:
        return {
            model.__tablename__: [
                tuple(row)
                for row in connection.execute(
                    select(model.__table__).order_by(model.__table__.c.id)  # type: ignore[attr-defined]
                )
            ]
            for model in TABLES
        }


def wipe(engine: Engine) -> None:
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            tables = ", ".join(t.name for t in reversed(Base.metadata.sorted_tables))
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())


@pytest.mark.parametrize("batch", [1, 2, 1000])
def test_the_batched_import_writes_exactly_what_one_row_at_a_time_wrote(
    engine: Engine, service: Services, uow: UnitOfWork, clock: FixedClock, batch: int
) -> None:
    clock.set(NOW)
    reference = RowByRowImport(service.episodes)
    before = (reference.import_caseload(rows(FIRST), actor=ADMIN),)
    clock.set(datetime(2026, 3, 3, 15, 0, tzinfo=UTC))
    before += (reference.import_caseload(rows(SECOND), actor=ADMIN),)
    expected = dump(engine)
    wipe(engine)

    clock.set(NOW)
    after = (service.caseload.import_caseload(rows(FIRST), actor=ADMIN, batch=batch),)
    clock.set(datetime(2026, 3, 3, 15, 0, tzinfo=UTC))
    after += (service.caseload.import_caseload(rows(SECOND), actor=ADMIN, batch=batch),)

    assert after == before
    assert [str(r) for r in after] == [
        "5 client(s) added, 0 updated, 0 unchanged; 3 new clinician(s).",
        "2 client(s) added, 2 updated, 3 unchanged; 1 new clinician(s).",
    ]
    assert dump(engine) == expected
    assert {len(v) for k, v in expected.items() if k in ("clients", "episodes", "events")} == {7}


def test_names_imported_in_bulk_are_encrypted_at_rest(
    engine: Engine, settings: Settings, phrases: PhraseLibrary, uow: UnitOfWork
) -> None:
    attach_keyring(engine, Keyring([generate_key()]))
    service = build_services(uow, FixedClock(NOW), settings, phrases)
    service.caseload.import_caseload(rows(FIRST), actor=ADMIN)
    with engine.connect() as connection:
        stored = (
            connection.exec_driver_sql(
                "SELECT first_name FROM clients WHERE first_name IS NOT NULL"
            )
            .scalars()
            .all()
        )
    assert len(stored) == 4
    assert all(value.startswith("enc1:") and "Ana" not in value for value in stored)
    with uow() as repo:
        client = repo.client_by_chart_id("R-1")
        assert client is not None
        assert client.first_name == "Ana"


def counts(uow: UnitOfWork) -> tuple[int, ...]:
    with uow() as repo:
        return tuple(
            int(repo.session.scalar(select(func.count()).select_from(m)) or 0) for m in TABLES
        )


def test_a_failure_in_a_later_batch_leaves_nothing_of_the_earlier_ones(
    service: Services, uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    service.caseload.import_caseload(
        rows(HEADER + "R-9,U0CLIN1,Zed,2026-03-02,,,,,\n"), actor=ADMIN
    )
    before = counts(uow)
    real = Repository.insert_many
    calls: list[str] = []

    def failing(self: Repository, model: Any, batch: Any) -> None:
        calls.append(model.__tablename__)
        if calls.count("audit_log") == 2:  # the second batch's audit entries
            raise RuntimeError("disk full")
        real(self, model, batch)

    monkeypatch.setattr(Repository, "insert_many", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        service.caseload.import_caseload(rows(FIRST), actor=ADMIN, batch=2)
    assert counts(uow) == before


def test_progress_is_reported_after_every_batch(service: Services) -> None:
    seen: list[tuple[int, int]] = []
    service.caseload.import_caseload(
        rows(FIRST), actor=ADMIN, batch=2, progress=lambda done, total: seen.append((done, total))
    )
    assert seen == [(2, 5), (4, 5), (5, 5)]


class FakeTerminal(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_the_progress_line_is_drawn_in_place_on_a_terminal_only() -> None:
    ticks = iter([0.0, 1.0, 2.0])
    terminal = FakeTerminal(tty=True)
    line = ProgressLine(terminal, label="caseload.csv: importing", timer=lambda: next(ticks))
    line.update(2000, 4000)
    line.update(4000, 4000)
    line.finish()
    drawn = terminal.getvalue()
    assert drawn.count("\r") == 2
    assert drawn.endswith("\n")
    assert "2,000/4,000 clients  50%, 2,000/s" in drawn
    assert "4,000/4,000 clients 100%, 2,000/s" in drawn

    piped = FakeTerminal(tty=False)
    quiet = ProgressLine(piped, label="caseload.csv: importing", timer=lambda: 0.0)
    quiet.update(2000, 4000)
    quiet.finish()
    assert piped.getvalue() == ""


def test_the_import_command_draws_progress_on_a_terminal_and_summarises_in_a_pipe(
    tmp_path: Path,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    path = tmp_path / "caseload.csv"
    path.write_text(FIRST, encoding="utf-8")
    assert main(["import", str(path)]) == 0  # captured: not a terminal
    out, err = capsys.readouterr()
    assert "\r" not in err
    assert "importing" not in err
    assert out == f"{path}: 5 client(s) added, 0 updated, 0 unchanged; 3 new clinician(s).\n"

    terminal = FakeTerminal(tty=True)
    monkeypatch.setattr("sys.stderr", terminal)
    path.write_text(FIRST.replace("R-1,", "R-7,"), encoding="utf-8")
    assert main(["import", str(path)]) == 0
    assert f"\r{path}: importing [" in terminal.getvalue()
    assert "5/5 clients 100%" in terminal.getvalue()
    assert "1 client(s) added, 0 updated, 4 unchanged" in capsys.readouterr().out


def vacuumed(engine: Engine) -> dict[str, Any]:
    """When each table the import fills was last vacuumed by hand (None: never)."""
    with engine.connect() as connection:
        found = connection.execute(
            text(
                "SELECT relname, last_vacuum, last_analyze FROM pg_stat_user_tables "
                "WHERE relname IN ('clients', 'episodes', 'events', 'audit_log')"
            )
        ).all()
    return {name: (vacuum, analyze) for name, vacuum, analyze in found}


def vacuumed_since(before: dict[str, Any], after: dict[str, Any], name: str) -> bool:
    previous = before.get(name, (None, None))[0]
    vacuum = after[name][0]
    return vacuum is not None and (previous is None or vacuum > previous)


@pytest.fixture
def bulk_from(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """PostgreSQL only: sets how many clients make an import a bulk write."""
    if engine.dialect.name != "postgresql":
        pytest.skip("VACUUM (ANALYZE) after a bulk import: PostgreSQL (SQLite needs neither)")
    import bot.services.caseload as caseload

    return lambda clients: monkeypatch.setattr(caseload, "BULK", clients)


def test_a_bulk_import_on_postgresql_leaves_the_tables_vacuumed_and_analysed(
    engine: Engine, service: Services, bulk_from: Callable[[int], None]
) -> None:
    bulk_from(6)
    before = vacuumed(engine)
    service.caseload.import_caseload(rows(FIRST), actor=ADMIN)  # 5 clients: not bulk
    assert vacuumed(engine) == before

    wipe(engine)
    bulk_from(5)
    service.caseload.import_caseload(rows(FIRST), actor=ADMIN)
    after = vacuumed(engine)
    assert sorted(after) == ["audit_log", "clients", "episodes", "events"]
    for name, (_, analyze) in after.items():
        assert vacuumed_since(before, after, name), name
        assert analyze is not None, name


def test_a_table_held_locked_is_skipped_and_the_import_still_succeeds(
    engine: Engine, service: Services, bulk_from: Callable[[int], None]
) -> None:
    bulk_from(5)
    before = vacuumed(engine)
    done: list[Any] = []
    holder = engine.connect()
    try:
        # Another session holds a lock a VACUUM of `events` would wait for (inserts pass).
        holder.exec_driver_sql("LOCK TABLE events IN SHARE UPDATE EXCLUSIVE MODE")
        worker = threading.Thread(
            target=lambda: done.append(
                service.caseload.import_caseload(rows(FIRST), actor=ADMIN)
            ),
            daemon=True,
        )
        worker.start()
        worker.join(30)
        waited = worker.is_alive()
    finally:
        holder.rollback()  # frees a VACUUM that waited, so a failure cannot hang the run
        holder.close()
    worker.join(30)
    assert not waited, "the import waited for the lock instead of skipping the table"
    assert [str(r) for r in done] == ["5 client(s) added, 0 updated, 0 unchanged; 3 new clinician(s)."]
    after = vacuumed(engine)
    assert after["events"][0] == before.get("events", (None, None))[0]  # skipped
    for name in ("clients", "episodes", "audit_log"):
        assert vacuumed_since(before, after, name), name


@pytest.mark.once
def test_a_vacuum_that_fails_is_logged_and_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    # A server that is not there: the import before it committed, so nothing is raised.
    engine = make_engine("postgresql://postgres@127.0.0.1:9/absent?connect_timeout=2")
    try:
        with caplog.at_level(logging.WARNING, logger="storage.repository"):
            UnitOfWork(make_session_factory(engine)).after_bulk_write(("clients", "events"))
    finally:
        engine.dispose()
    assert [r.getMessage() for r in caplog.records] == [
        "the tables a bulk write filled were not vacuumed (OperationalError); autovacuum "
        "will see to them"
    ]
    with pytest.raises(ValueError, match="not our tables"):
        UnitOfWork(make_session_factory(engine)).after_bulk_write(("pg_class",))

"""Issue 9, items 8-10: encryption at rest, key rotation, the retention purge, and a CLI that
says plainly when the database is unreachable."""

from __future__ import annotations

import logging
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

import bot.entrypoints.bootstrap
from bot.clock import FixedClock
from bot.entrypoints.bootstrap import build_runtime, warn_if_unencrypted
from bot.entrypoints.cli import main
from bot.services import Services as CareService
from bot.settings import Settings
from bot.slack.inbox import SlackInbox
from storage.crypto import EncryptionError, generate_key
from storage.models import AdminNote, AuditEntry, Client, Episode, EventRecord
from tests.helpers import ADMIN, import_rows

NOTE = "Spoke with Zephyrine about the panic attacks at work"
FOCUS = "Generalised anxiety after the divorce"
NAME = "Zephyrine"
KEY_A, KEY_B = generate_key(), generate_key()


@pytest.fixture(autouse=True)
def _fresh_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bot.entrypoints.bootstrap, "_warned_plaintext", False)


def keyed(settings: Settings, key: str | None, *old: str) -> Settings:
    from pydantic import SecretStr

    return settings.model_copy(update={
        "data_encryption_key": SecretStr(key) if key else None,
        "data_encryption_old_keys": SecretStr(",".join(old)) if old else None,
    })


def write_sensitive(settings: Settings, clock: FixedClock) -> None:
    runtime = build_runtime(settings, clock=clock)
    try:
        import_rows(runtime.services, f"R-1,U0CLIN0001,{NAME},2026-02-01T10:00,,")
        runtime.services.notes.log_note("R-1", NOTE, actor=ADMIN)
        with Session(runtime.engine) as session, session.begin():
            client = session.scalars(select(Client)).one()
            episode = session.scalars(select(Episode)).one()
            session.add(AdminNote(client_id=client.id, episode_id=episode.id,
                                  kind="discharge_summary", author="U0CLIN0001",
                                  body=f"Summary: {FOCUS}",
                                  fields={"treatment_focus": FOCUS, "risk_level": "low"},
                                  created_at=clock.now()))
        # A note stored by the Slack inbox and not yet applied: its request holds the text.
        inbox = SlackInbox(runtime.engine, clock, background=True)
        inbox.handle("care:note", lambda body, item: None)
        inbox.accept("care:note", {"command": "/care", "chart": "R-1", "text": NOTE},
                     user="U0CLIN0001")
    finally:
        runtime.close()


def read_back(settings: Settings) -> tuple[list[str], list[object], str | None]:
    runtime = build_runtime(settings)
    try:
        with Session(runtime.engine) as session:
            notes = session.scalars(select(AdminNote).order_by(AdminNote.id)).all()
            name = session.scalars(select(Client.first_name)).one()
            return [n.body for n in notes], [n.fields for n in notes], name
    finally:
        runtime.close()


def raw_storage(engine: Engine, database_url: str) -> bytes:
    """Every byte the database keeps: the SQLite file and its WAL, or a PostgreSQL dump."""
    if database_url.startswith("sqlite"):
        with engine.connect() as conn:
            conn.execute(text("PRAGMA wal_checkpoint(FULL)"))
        path = Path(database_url.removeprefix("sqlite:///"))
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    dump = subprocess.run(["pg_dump", "--data-only", database_url.replace("+psycopg", "")],
                          capture_output=True, check=True, timeout=60)
    return dump.stdout


def test_with_a_key_no_note_text_summary_or_name_is_on_disk(
    settings: Settings, clock: FixedClock, engine: Engine, database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    write_sensitive(keyed(settings, KEY_A), clock)
    stored = raw_storage(engine, database_url)
    assert b"R-1" in stored  # the dump is real: ids are there
    for secret in (NOTE, FOCUS, NAME):
        assert secret.encode() not in stored, f"{secret!r} is readable at rest"
    bodies, fields, name = read_back(keyed(settings, KEY_A))
    assert bodies == [NOTE, f"Summary: {FOCUS}"]
    assert fields[1] == {"treatment_focus": FOCUS, "risk_level": "low"}
    assert name == NAME
    assert "DATA_ENCRYPTION_KEY is not set" not in caplog.text


def test_without_a_key_one_warning_at_start_and_plain_rows_stay_readable(
    settings: Settings, clock: FixedClock, engine: Engine, database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    write_sensitive(settings, clock)
    for _ in range(2):  # serve and worker both call it at start; one process, one warning
        warn_if_unencrypted(settings)
    warn_if_unencrypted(keyed(settings, KEY_A))
    warnings = [r for r in caplog.records if "DATA_ENCRYPTION_KEY is not set" in r.getMessage()]
    assert len(warnings) == 1
    assert NOTE.encode() in raw_storage(engine, database_url)
    # Turning encryption on later: the old plain rows still read; rotate-key encrypts them.
    assert read_back(keyed(settings, KEY_A))[0] == [NOTE, f"Summary: {FOCUS}"]


def test_an_old_key_decrypts_and_rotate_key_moves_every_row_to_the_new_one(
    settings: Settings, clock: FixedClock, engine: Engine, database_url: str,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    write_sensitive(keyed(settings, KEY_A), clock)
    assert read_back(keyed(settings, KEY_B, KEY_A))[2] == NAME  # new key first, old decrypts
    with pytest.raises(EncryptionError, match="cannot be decrypted"):
        read_back(keyed(settings, KEY_B))

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DATA_ENCRYPTION_KEY", KEY_B)
    monkeypatch.setenv("DATA_ENCRYPTION_OLD_KEYS", KEY_A)
    assert main(["rotate-key"]) == 0
    out = capsys.readouterr().out
    for part in ("2 admin_notes.body", "1 admin_notes.fields", "1 clients.first_name",
                 "1 slack_inbox.body"):
        assert part in out

    bodies, fields, name = read_back(keyed(settings, KEY_B))  # the new key alone now
    assert bodies == [NOTE, f"Summary: {FOCUS}"]
    assert fields[1] == {"treatment_focus": FOCUS, "risk_level": "low"}
    assert name == NAME
    with pytest.raises(EncryptionError):
        read_back(keyed(settings, KEY_A))
    for secret in (NOTE, FOCUS, NAME):
        assert secret.encode() not in raw_storage(engine, database_url)


def test_rotate_key_without_a_key_says_what_to_set(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    assert main(["rotate-key"]) == 2
    assert "set DATA_ENCRYPTION_KEY" in capsys.readouterr().err


def test_a_wrong_key_is_one_clear_line_not_a_traceback(
    settings: Settings, clock: FixedClock, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_sensitive(keyed(settings, KEY_A), clock)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DATA_ENCRYPTION_KEY", KEY_B)
    assert main(["rotate-key"]) == 1
    err = capsys.readouterr().err
    assert "cannot be decrypted" in err
    assert "Traceback" not in err


# -- retention ------------------------------------------------------------------------------


@pytest.fixture
def closed_and_open(service: CareService, clock: FixedClock, engine: Engine) -> None:
    import_rows(service, "R-1,U0CLIN0001,Ana,2026-02-01T10:00,,",
                "R-2,U0CLIN0001,Ben,2026-02-01T10:00,,")
    service.notes.log_note("R-1", NOTE, actor=ADMIN)
    service.notes.log_note("R-2", "Still open: keep this", actor=ADMIN)
    with Session(engine) as session, session.begin():
        ep1 = session.scalars(select(Episode).join(Client).where(Client.chart_id == "R-1")).one()
        ep1.state, ep1.closure = "closed", "discharged"
        ep1.closed_at = datetime(2026, 2, 20, tzinfo=UTC)
        session.add(AdminNote(client_id=ep1.client_id, episode_id=ep1.id,
                              kind="discharge_summary", author="U0CLIN0001",
                              body=f"Summary: {FOCUS}", fields={"treatment_focus": FOCUS},
                              created_at=datetime(2026, 2, 19, tzinfo=UTC)))


def test_purge_removes_note_text_of_episodes_closed_before_the_date_and_keeps_the_facts(
    closed_and_open: None, settings: Settings, engine: Engine, database_url: str,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    with engine.connect() as conn:
        events_before = conn.execute(select(EventRecord.id)).all()
        audit_before = conn.execute(select(AuditEntry.id)).all()

    assert main(["purge", "--before", "2026-02-01"]) == 0  # closed after: nothing
    assert "nothing removed" in capsys.readouterr().out
    assert main(["purge", "--before", "2026-02-25"]) == 0
    out = capsys.readouterr().out
    assert "Removed the text of 2 note(s), 1 of them discharge summaries" in out
    assert "from 1 episode(s) closed before 2026-02-25" in out

    with Session(engine) as session:
        notes = {n.body: n.fields for n in session.scalars(select(AdminNote))}
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "retention_purge")).all()
    assert "Still open: keep this" in notes
    assert NOTE not in notes
    assert all(fields is None for body, fields in notes.items() if body.startswith("[removed"))
    assert not any(FOCUS in body for body in notes)
    with engine.connect() as conn:
        assert conn.execute(select(EventRecord.id)).all() == events_before
        assert len(conn.execute(select(AuditEntry.id)).all()) == len(audit_before) + 1
    assert audit[0].details["notes"] == 2
    assert main(["purge", "--before", "2026-02-25"]) == 0  # again: nothing more
    assert "nothing removed" in capsys.readouterr().out


def test_purge_refuses_a_date_in_the_future_or_not_a_date(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    assert main(["purge", "--before", "2999-01-01"]) == 2
    assert main(["purge", "--before", "last year"]) == 2
    assert "not a date" in capsys.readouterr().err


# -- an unreachable database -----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["postgresql://admin:hunter2-secret@127.0.0.1:1/discharge",
     "sqlite:////nonexistent-dir/sub/discharge.db"],
    ids=["postgres-refused", "sqlite-no-folder"],
)
@pytest.mark.parametrize("command", [["status"], ["migrate"], ["tick"], ["purge", "--before", "2020-01-01"]])
def test_the_cli_on_an_unreachable_database_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str,
    command: list[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(command) == 1
    out = capsys.readouterr()
    lines = [line for line in out.err.splitlines() if line.strip()]
    assert len(lines) == 1, out.err
    assert "cannot reach the database" in lines[0]
    assert "hunter2" not in out.err + out.out
    assert "Traceback" not in out.err


REASON = "Expected: her mother is in hospital this month"


def test_a_heads_up_reason_is_encrypted_and_purged_with_its_episode(
    settings: Settings, clock: FixedClock, engine: Engine, database_url: str,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from storage.models import Clinician, HeadsUpRecord

    write_sensitive(keyed(settings, KEY_A), clock)
    runtime = build_runtime(keyed(settings, KEY_A), clock=clock)
    try:
        with Session(runtime.engine) as session, session.begin():
            episode = session.scalars(select(Episode)).one()
            clinician = session.scalars(select(Clinician)).one()
            session.add(HeadsUpRecord(client_id=episode.client_id, episode_id=episode.id,
                                      clinician_id=clinician.id, stretch="s1", pattern={},
                                      line="1 of 3 missed", status="expected", reason=REASON,
                                      created_at=clock.now()))
            episode.state, episode.closed_at = "closed", datetime(2026, 2, 20, tzinfo=UTC)
        with Session(runtime.engine) as session:
            assert session.scalars(select(HeadsUpRecord.reason)).one() == REASON
    finally:
        runtime.close()
    assert REASON.encode() not in raw_storage(engine, database_url)

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DATA_ENCRYPTION_KEY", KEY_A)
    assert main(["purge", "--before", "2026-02-25"]) == 0
    assert "Removed the text" in capsys.readouterr().out
    with engine.connect() as conn:
        assert conn.execute(text("SELECT reason FROM headsups")).scalar_one() is None

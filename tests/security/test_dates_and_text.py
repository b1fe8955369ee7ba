"""Issue 9: dates that cannot be true are refused, not applied; NUL characters are refused on
both backends; the CSV importers name line and column and never a client's words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from bot.clock import FixedClock
from bot.domain.errors import DomainError
from bot.domain.model import Cancellation, EventKind, State
from bot.entrypoints.cli import main
from bot.platform.events import PlatformEvent, PlatformEventType
from bot.platform.sink import ServiceSink
from bot.services import Services as CareService
from bot.services.caseload_file import CaseloadError, parse_caseload, parse_sessions
from bot.services.checklist import SummaryInvalid
from bot.services.types import Actor, Source
from bot.settings import Settings
from bot.slack.views.home import home_view
from bot.slack.views.replies import caseload_reply, status_reply
from storage.models import AdminNote, AuditEntry, Client, Episode, EventRecord
from storage.repository import UnitOfWork
from tests.helpers import ADMIN, HEADER, import_rows

CLINICIAN = Actor("U0CLIN0001", Source.SLACK)


def counts(uow: UnitOfWork) -> tuple[int, ...]:
    with uow() as repo:
        return tuple(
            int(repo.session.scalar(select(func.count()).select_from(m)) or 0)
            for m in (EventRecord, AdminNote, AuditEntry, Episode)
        )


@pytest.fixture
def in_outreach(service: CareService, clock: FixedClock) -> CareService:
    """R-1042: last contact a month ago, outreach started, check-in 1 documented."""
    import_rows(service, "R-1042,U0CLIN0001,Zephyrine,2026-02-01T10:00,,")
    service.outreach.tick()
    service.outreach.mark_checkin_sent("R-1042", actor=CLINICIAN, number=1)
    assert service.recording.current_state("R-1042", actor=CLINICIAN) is State.OUTREACH
    return service


def test_a_session_typed_with_last_years_date_changes_nothing_of_a_live_episode(
    in_outreach: CareService, uow: UnitOfWork
) -> None:
    before = counts(uow)
    with pytest.raises(DomainError, match="before this client's current episode began"):
        in_outreach.recording.record_session(
            "R-1042", EventKind.SESSION_ATTENDED,
            occurred_at=datetime(2025, 11, 30, 12, tzinfo=UTC), actor=CLINICIAN,
        )
    assert counts(uow) == before
    timeline = in_outreach.reads.timeline("R-1042", actor=CLINICIAN)
    assert len(timeline.episodes) == 1
    assert timeline.episodes[-1].assessment.state is State.OUTREACH
    assert timeline.episodes[-1].assessment.checkins_sent == 1


def test_a_late_webhook_from_last_year_is_not_applied(
    in_outreach: CareService, uow: UnitOfWork
) -> None:
    before = counts(uow)
    sink = ServiceSink(in_outreach)
    for kind in (PlatformEventType.SESSION_ATTENDED, PlatformEventType.CLIENT_MESSAGE):
        sink(PlatformEvent(event_id=f"late-{kind}", type=kind, client_id="R-1042",
                           occurred_at=datetime(2025, 6, 1, tzinfo=UTC),
                           session_at=datetime(2025, 6, 1, tzinfo=UTC)))
    assert counts(uow) == before
    assert in_outreach.recording.current_state("R-1042", actor=CLINICIAN) is State.OUTREACH


@pytest.mark.parametrize(
    ("kind", "at", "session_at", "reason"),
    [
        (EventKind.SESSION_ATTENDED, datetime(1999, 12, 31, tzinfo=UTC), None, "before 2000"),
        (EventKind.SESSION_NO_SHOW, datetime(1, 1, 1, tzinfo=UTC), None, "before 2000"),
        (EventKind.SESSION_SCHEDULED, None, timedelta(days=3 * 365), "two years at most"),
        (EventKind.SESSION_SCHEDULED, None, datetime(1990, 1, 1, tzinfo=UTC), "before 2000"),
    ],
    ids=["1999", "year-1", "booking-in-3-years", "booking-in-1990"],
)
def test_far_past_and_far_future_dates_are_refused_with_a_reason(
    in_outreach: CareService, uow: UnitOfWork, clock: FixedClock, kind: EventKind,
    at: datetime | None, session_at: object, reason: str,
) -> None:
    before = counts(uow)
    now = clock.now()
    booked = now + session_at if isinstance(session_at, timedelta) else session_at
    with pytest.raises(DomainError, match=reason):
        in_outreach.recording.record_session("R-1042", kind, occurred_at=at or now, actor=ADMIN,
                                   session_at=booked)  # type: ignore[arg-type]
    assert counts(uow) == before


def test_a_message_dated_two_days_ahead_is_refused(in_outreach: CareService, clock: FixedClock) -> None:
    with pytest.raises(DomainError, match="future"):
        in_outreach.recording.record_client_message(
            "R-1042", occurred_at=clock.now() + timedelta(days=2), actor=ADMIN
        )


def test_a_booking_next_year_is_still_accepted(in_outreach: CareService, clock: FixedClock) -> None:
    outcome = in_outreach.recording.record_session(
        "R-1042", EventKind.SESSION_SCHEDULED, occurred_at=clock.now(), actor=ADMIN,
        session_at=clock.now() + timedelta(days=300),
    )
    assert outcome.assessment.booked_session_at is not None


def test_rescheduling_a_booking_weeks_ahead_is_accepted_and_moves_it(
    in_outreach: CareService, clock: FixedClock
) -> None:
    booked = clock.now() + timedelta(days=10)
    in_outreach.recording.record_session(
        "R-1042", EventKind.SESSION_SCHEDULED, occurred_at=clock.now(), actor=ADMIN,
        session_at=booked,
    )
    moved = clock.now() + timedelta(days=17)
    outcome = in_outreach.recording.record_session(
        "R-1042", EventKind.SESSION_CANCELLED, occurred_at=clock.now(), actor=ADMIN,
        session_at=booked, cancellation=Cancellation.RESCHEDULED, rescheduled_to=moved,
    )
    assert outcome.assessment.booked_session_at == moved


@pytest.mark.parametrize("days", [3 * 365, -30 * 365], ids=["in-3-years", "before-2000"])
def test_a_reschedule_to_an_impossible_time_is_refused_and_changes_nothing(
    in_outreach: CareService, uow: UnitOfWork, clock: FixedClock, days: int
) -> None:
    booked = clock.now() + timedelta(days=10)
    in_outreach.recording.record_session(
        "R-1042", EventKind.SESSION_SCHEDULED, occurred_at=clock.now(), actor=ADMIN,
        session_at=booked,
    )
    before = counts(uow)
    with pytest.raises(DomainError, match=r"too far ahead|before 2000"):
        in_outreach.recording.record_session(
            "R-1042", EventKind.SESSION_CANCELLED, occurred_at=clock.now(), actor=ADMIN,
            session_at=booked, cancellation=Cancellation.RESCHEDULED,
            rescheduled_to=clock.now() + timedelta(days=days),
        )
    assert counts(uow) == before


# -- NUL characters (PostgreSQL cannot store them; SQLite stored them and sent them on) ------


def test_a_nul_in_a_note_is_refused_with_a_clear_message(in_outreach: CareService, uow: UnitOfWork) -> None:
    before = counts(uow)
    with pytest.raises(DomainError, match="NUL character"):
        in_outreach.notes.log_note("R-1042", "left a\x00voicemail", actor=CLINICIAN)
    assert counts(uow) == before


def test_a_nul_in_a_chart_id_is_an_unknown_client_not_a_database_error(
    in_outreach: CareService,
) -> None:
    with pytest.raises(DomainError):
        in_outreach.notes.log_note("R-10\x0042", "hello", actor=ADMIN)
    with pytest.raises(DomainError):
        in_outreach.notes.log_note("R-10\x0042", "hello", actor=CLINICIAN)


def test_a_nul_in_a_summary_field_is_shown_on_that_field(in_outreach: CareService) -> None:
    with pytest.raises(SummaryInvalid) as refused:
        in_outreach.checklist.save_discharge_summary(
            "R-1042", treatment_focus="mood\x00", goals_progress="ok", risk_level="low",
            actor=CLINICIAN,
        )
    assert "NUL character" in refused.value.problems["treatment_focus"]


def test_a_nul_in_an_imported_name_is_refused_before_anything_is_written(
    service: CareService, uow: UnitOfWork
) -> None:
    from bot.services.caseload_file import CaseloadRow

    row = CaseloadRow(2, "R-1", "U0CLIN1", "Ze\x00phyrine",
                      datetime(2026, 2, 1, tzinfo=UTC), None, None)
    with pytest.raises(DomainError, match="NUL character"):
        service.caseload.import_caseload([row], actor=ADMIN)
    assert counts(uow) == (0, 0, 0, 0)


# -- the CSV importers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (HEADER + "R-1,U0CLIN1,Ana,9999-12-31,,\n",
         "line 2, column last_contact_at: the year 9999 cannot be right"),
        (HEADER + "R-1,U0CLIN1,Ana,2026-02-01,0001-01-01T10:00+05:00,\n",
         "line 2, column next_session_at:"),
        (HEADER.strip() + ",first_name\nR-1,U0CLIN1,Ana,2026-02-01,,,Ana\n",
         "line 1, column first_name: column 'first_name' appears twice"),
        (HEADER + "R-1,U0CLIN1,Ana,2026-02-01,,\nR-2,U0CLIN1,B\x00en,2026-02-01,,\n",
         "line 3: contains a NUL character"),
    ],
    ids=["year-9999", "year-1-with-offset", "duplicate-header", "nul"],
)
def test_a_bad_caseload_is_refused_with_line_and_column(content: str, expected: str) -> None:
    with pytest.raises(CaseloadError) as refused:
        parse_caseload(content, practice_timezone="America/Toronto")
    assert expected in str(refused.value)


def test_a_sessions_file_with_year_9999_or_a_duplicate_column_is_refused() -> None:
    with pytest.raises(CaseloadError, match="line 2, column occurred_at: the year 9999"):
        parse_sessions("client_id,occurred_at,outcome\nR-1,9999-12-31,attended\n",
                       practice_timezone="America/Toronto")
    with pytest.raises(CaseloadError, match="line 1, column outcome: column 'outcome' appears"):
        parse_sessions("client_id,occurred_at,outcome,outcome\nR-1,2026-01-01,attended,x\n",
                       practice_timezone="America/Toronto")


def test_a_refused_caseload_never_prints_a_clients_name(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    shifted = tmp_path / "caseload.csv"
    # Each row is one column off: names land in the id, zone and date columns.
    shifted.write_text(HEADER + "R-1,Zephyrine,U0CLIN1,2026-02-01,,\n"
                       "R-2,U0CLIN1,Balthazar,Ottoline,,\n"
                       "Cassiopeia Peregrine,U0CLIN1,x,2026-02-01,,Peregrine\n", encoding="utf-8")
    assert main(["import", str(shifted)]) == 1
    out = capsys.readouterr()
    printed = out.out + out.err
    assert "line 2, column clinician_slack_id" in printed
    for name in ("Zephyrine", "Balthazar", "Ottoline", "Cassiopeia", "Peregrine"):
        assert name not in printed


# -- a stored extreme date never breaks status or a view --------------------------------------


@pytest.mark.parametrize(
    "extreme", [datetime(9999, 12, 31, 23, 0, tzinfo=UTC), datetime(1, 1, 1, 1, 0, tzinfo=UTC)],
    ids=["9999", "0001"],
)
def test_a_stored_extreme_date_never_breaks_status_or_the_views(
    service: CareService, uow: UnitOfWork, settings: Settings, extreme: datetime,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    import_rows(service, "R-1,U0CLIN0001,Ana,2026-02-01T10:00,,")
    with uow() as repo:
        client = repo.session.scalars(select(Client)).one()
        episode = repo.session.scalars(select(Episode)).one()
        repo.session.execute(insert(EventRecord).values(
            client_id=client.id, episode_id=episode.id, kind=EventKind.SESSION_ATTENDED.value,
            occurred_at=extreme, recorded_at=extreme, actor="legacy", source="platform",
            session_at=extreme, data={},
        ))
    service.outreach.tick()
    assert service.reads.timeline("R-1", actor=CLINICIAN).chart_id == "R-1"
    assert service.reads.caseload()
    zone = "America/Toronto"
    for is_cct in (False, True):
        home_view(service.reads.home(CLINICIAN.id, is_cct=is_cct)).to_dict()
    status_reply(service.reads.timeline("R-1", actor=CLINICIAN), zone).to_dict()
    caseload_reply(service.reads.caseload(clinician_slack_id=CLINICIAN.id), zone).to_dict()
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    assert main(["status"]) == 0
    assert main(["status", "R-1"]) == 0
    assert "R-1" in capsys.readouterr().out

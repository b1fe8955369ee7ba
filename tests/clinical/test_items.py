"""Issue #11's items where a table can't show the whole rule: the service and start-up."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.clock import FixedClock
from bot.domain.errors import DomainError
from bot.domain.model import Cancellation, ChecklistStep, EventKind, State
from bot.entrypoints.bootstrap import build_runtime
from bot.services import Services, build_services
from bot.services.caseload_file import parse_caseload
from bot.services.checklist import SummaryInvalid
from bot.settings import Settings
from smart_phrases import PhraseLibrary
from storage.repository import UnitOfWork
from tests.clinical.harness import local
from tests.helpers import ADMIN, PLATFORM, document_checkin

HEADER = (
    "client_id,clinician_slack_id,first_name,last_contact_at,next_session_at,"
    "clinician_timezone,last_session_at,clinician_name,clinician_platform_id\n"
)


def load(service: Services, *lines: str) -> None:
    rows = parse_caseload(HEADER + "\n".join(lines) + "\n", practice_timezone="America/Toronto")
    service.caseload.import_caseload(rows, actor=ADMIN)


def to_checklist(service: Services, clock: FixedClock, chart: str) -> None:
    for when in (local(2026, 3, 16, 10), local(2026, 3, 30, 10), local(2026, 4, 13, 10)):
        clock.set(when)
        service.outreach.tick()
        document_checkin(service, chart)  # marked sent, its admin note pasted into the chart
    clock.set(local(2026, 4, 27, 12))
    service.outreach.tick()


def test_summary_last_session_is_the_last_attended_one_and_can_be_corrected(
    service: Services, clock: FixedClock
) -> None:
    clock.set(local(2026, 3, 3, 12))
    load(service, "R-1,U0CLIN1,Ana,2026-03-02T10:00,,America/Toronto,,,")
    to_checklist(service, clock, "R-1")
    # The last contact is on record, but no attended session: the summary never passes one
    # off as the other.
    assert service.checklist.summary_prefill("R-1", actor=ADMIN).last_session_date is None
    service.checklist.complete_step("R-1", ChecklistStep.NOTES_SIGNED, actor=ADMIN)
    service.checklist.complete_step("R-1", ChecklistStep.OTHER_PROVIDERS, answer="no", actor=ADMIN)
    with pytest.raises(SummaryInvalid) as invalid:
        service.checklist.save_discharge_summary(
            "R-1", treatment_focus="x", goals_progress="y", risk_level="low",
            last_session_date="2099-01-01", actor=ADMIN,
        )
    assert "last_session_date" in invalid.value.problems
    saved = service.checklist.save_discharge_summary(
        "R-1", treatment_focus="x", goals_progress="y", risk_level="low",
        last_session_date="2026-02-23", actor=ADMIN,
    )
    assert "Last session date: 2026-02-23" in (saved.text or "")


def test_caseload_last_session_at_fills_the_summary(service: Services, clock: FixedClock) -> None:
    clock.set(local(2026, 3, 3, 12))
    load(service, "R-2,U0CLIN1,Ana,2026-03-02T10:00,,America/Toronto,2026-02-23T10:00,,")
    to_checklist(service, clock, "R-2")
    prefill = service.checklist.summary_prefill("R-2", actor=ADMIN)
    assert prefill.last_session_date is not None
    assert prefill.last_session_date.isoformat() == "2026-02-23"


def test_nothing_goes_into_a_clients_chat_without_the_practice_name(
    uow: UnitOfWork, clock: FixedClock, settings: Settings, phrases: PhraseLibrary
) -> None:
    class Chat:
        sent: list[str] = []

        def send_chat_message(self, client_id: str, clinician: str | None, text: str) -> str:
            self.sent.append(text)
            return "m"

        def move_to_group(self, client_id: str, group_name: str) -> str:
            return "ok"

        def other_providers(self, client_id: str, clinician_platform_id: str) -> list[str]:
            return []

    chat = Chat()
    unnamed = settings.model_copy(update={"practice_name": None})
    service = build_services(uow, clock, unnamed, phrases, platform=chat)
    clock.set(local(2026, 3, 3, 12))
    load(service, "R-3,U0CLIN1,Ana,2026-03-02T10:00,,America/Toronto,,Dana W.,")
    clock.set(local(2026, 3, 16, 10))
    service.outreach.tick()
    with pytest.raises(DomainError, match="DISCHARGE_PRACTICE_NAME"):
        service.outreach.send_checkin_via_platform("R-3", actor=ADMIN)
    assert chat.sent == []
    named = build_services(uow, clock, settings, phrases, platform=chat)
    named.outreach.send_checkin_via_platform("R-3", actor=ADMIN)
    # Signed with the caseload's clinician_name, never "your clinician".
    assert chat.sent[0].rstrip().endswith("Dana W.")


def test_start_up_warns_when_the_practice_name_is_the_default(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        runtime = build_runtime(settings.model_copy(update={"practice_name": None}))
        runtime.close()
    assert "DISCHARGE_PRACTICE_NAME is not set" in caplog.text


def test_a_caseload_name_wins_over_slacks(service: Services, clock: FixedClock) -> None:
    clock.set(local(2026, 3, 3, 12))
    load(service, "R-4,U0CLIN1,Ana,2026-03-02T10:00,,America/Toronto,,Dana Whitfield,")
    service.clinicians.learn_clinician("U0CLIN1", timezone=None, display_name="dana")
    assert service.clinicians.clinician_profile("U0CLIN1")[2] == "Dana Whitfield"


def test_a_session_with_another_provider_counts_only_when_the_clinicians_own_id_is_known(
    service: Services, clock: FixedClock
) -> None:
    clock.set(local(2026, 3, 3, 12))
    load(
        service,
        "R-5,U0CLIN1,Ana,2026-03-02T10:00,,America/Toronto,,,prov-1",
        "R-6,U0CLIN2,Bo,2026-03-02T10:00,,America/Toronto,,,",
    )
    clock.set(local(2026, 3, 20, 12))  # both in outreach since 03-16
    other = service.recording.record_session(
        "R-5", EventKind.SESSION_ATTENDED, occurred_at=local(2026, 3, 20, 10),
        provider_id="prov-2", actor=PLATFORM,
    )
    assert other.assessment.state is State.OUTREACH
    assert other.assessment.other_sessions == ((local(2026, 3, 20, 10), "prov-2"),)
    own = service.recording.record_session(
        "R-5", EventKind.SESSION_ATTENDED, occurred_at=local(2026, 3, 20, 11),
        provider_id="prov-1", actor=PLATFORM,
    )
    assert own.assessment.state is State.ACTIVE  # re-engaged with this clinician
    unknown = service.recording.record_session(
        "R-6", EventKind.SESSION_ATTENDED, occurred_at=local(2026, 3, 20, 10),
        provider_id="prov-9", actor=PLATFORM,
    )
    assert unknown.assessment.state is State.ACTIVE  # can't tell: counted as the clinician's


def test_plain_cancel_and_rebook_during_outreach_never_says_reengaged(
    service: Services, clock: FixedClock
) -> None:
    clock.set(local(2026, 3, 3, 12))
    load(service, "R-7,U0CLIN1,Ana,2026-03-02T10:00,,America/Toronto,,,")
    clock.set(local(2026, 3, 16, 10))
    service.outreach.tick()
    service.outreach.mark_checkin_sent("R-7", actor=ADMIN)
    session = local(2026, 3, 19, 10)
    for week in range(3):
        clock.set(local(2026, 3, 17, 9) + timedelta(days=7 * week))
        booked = service.recording.record_session(
            "R-7", EventKind.SESSION_SCHEDULED, occurred_at=clock.now(), session_at=session,
            actor=PLATFORM,
        )
        assert booked.assessment.state is State.OUTREACH
        assert not any("notice-reengaged" in key for key in booked.queued)
        clock.set(session - timedelta(hours=2))
        service.recording.record_session(
            "R-7", EventKind.SESSION_CANCELLED, occurred_at=clock.now(), session_at=session,
            cancellation=Cancellation.CLIENT, actor=PLATFORM,
        )
        session += timedelta(days=7)
    [row] = service.reads.caseload()
    # Three client cancellations: the attendance path, still outreach, never "re-engaged".
    assert row.state is State.OUTREACH
    assert row.next_step == "checkin 3"

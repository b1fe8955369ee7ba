"""The chart as the services see it, against the schema-checking fake Healthie."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bot.platform.healthie_api import HealthieClient
from bot.platform.healthie_chart import HealthieChart
from tests.fakes.healthie import FakeHealthie
from tests.platform.conftest import CLIENT, CLINICIAN

ATTEMPT = datetime(2026, 11, 2, 15, 30, tzinfo=UTC)


@dataclass
class ChartSettings:
    healthie_admin_note_form_id: str | None = None
    healthie_admin_note_form_name: str = "Outreach Admin Note"
    healthie_discharge_form_id: str | None = None
    healthie_discharge_form_name: str = "Discharge Summary"
    platform_app_url: str | None = "https://secure.gethealthie.com"
    platform_note_url: str | None = None


def forms(fake: FakeHealthie) -> None:
    fake.add_form("300", "Outreach Admin Note",
                  questions=[("2999", "label", "Read me"), ("3001", "textarea", "Note")])
    fake.add_form("301", "Discharge Summary", questions=[("3011", "textarea", "Summary")])
    fake.add_form("302", "Progress Note", questions=[("3021", "textarea", "Notes")])


def test_admin_note_is_a_finished_charting_note_in_the_first_text_question_dated_the_attempt(
    fake_healthie: FakeHealthie, healthie_client: HealthieClient
) -> None:
    forms(fake_healthie)
    chart = HealthieChart(healthie_client, ChartSettings())

    link = chart.write_admin_note(CLIENT, "Check-in 1 of 3 sent.\nNo reply yet.", dated=ATTEMPT)

    assert link is not None
    assert link.id is not None
    note = fake_healthie.state.charting_notes[link.id]
    assert (note["user_id"], note["custom_module_form_id"], note["finished"]) == (CLIENT, "300", True)
    assert note["date"] == ATTEMPT.isoformat()
    assert note["answers"] == [{"custom_module_id": "3001",
                                "answer": "Check-in 1 of 3 sent.\nNo reply yet."}]
    assert not note["is_locked"]
    assert link.url == f"https://secure.gethealthie.com/users/{CLIENT}"
    assert fake_healthie.schema_errors == []


def test_form_found_by_id_and_note_links_use_the_practices_template(
    fake_healthie: FakeHealthie, healthie_client: HealthieClient
) -> None:
    forms(fake_healthie)
    settings = ChartSettings(healthie_discharge_form_id="301", healthie_discharge_form_name="x",
                             platform_note_url="https://ehr.example/c/{client_id}/notes/{note_id}")
    chart = HealthieChart(healthie_client, settings)

    link = chart.write_summary_draft(CLIENT, "Summary", dated=ATTEMPT)

    assert link is not None
    assert link.url == f"https://ehr.example/c/{CLIENT}/notes/{link.id}"
    assert fake_healthie.state.charting_notes[str(link.id)]["is_locked"] is False


def test_without_the_form_nothing_is_written_and_the_caller_falls_back_to_pasting(
    fake_healthie: FakeHealthie, healthie_client: HealthieClient
) -> None:
    chart = HealthieChart(healthie_client, ChartSettings())

    assert chart.write_admin_note(CLIENT, "Check-in 1 sent.", dated=ATTEMPT) is None
    assert fake_healthie.state.charting_notes == {}


def test_unsigned_notes_are_the_clients_session_notes_neither_signed_nor_locked(
    fake_healthie: FakeHealthie, healthie_client: HealthieClient
) -> None:
    forms(fake_healthie)
    fake_healthie.add_user("5555")
    fake_healthie.add_charting_note("701", client_id=CLIENT, form_id="302", created_at=ATTEMPT)
    fake_healthie.add_charting_note("702", client_id=CLIENT, form_id="302", created_at=ATTEMPT,
                                    locked=True, signed=True)
    fake_healthie.add_charting_note("703", client_id="5555", form_id="302", created_at=ATTEMPT)
    fake_healthie.add_charting_note("704", client_id=CLIENT, form_id="300", created_at=ATTEMPT)
    chart = HealthieChart(healthie_client, ChartSettings())

    assert [n.id for n in chart.unsigned_notes(CLIENT)] == ["701"]

    fake_healthie.lock_note("701")
    assert chart.unsigned_notes(CLIENT) == []


def test_clinician_found_by_email_and_last_occurred_session(
    fake_healthie: FakeHealthie, healthie_client: HealthieClient
) -> None:
    fake_healthie.add_user(CLINICIAN, is_patient=False, full_name="Sam Okafor",
                           email="Sam.Okafor@practice.example")
    fake_healthie.add_appointment("1", client_id=CLIENT, provider_id=CLINICIAN,
                                  date=datetime(2026, 9, 1, 14, tzinfo=UTC), pm_status="Occurred")
    fake_healthie.add_appointment("2", client_id=CLIENT, provider_id=CLINICIAN,
                                  date=datetime(2026, 9, 15, 14, tzinfo=UTC), pm_status="No-Show")
    fake_healthie.add_appointment("3", client_id=CLIENT, provider_id="78",
                                  date=datetime(2026, 9, 20, 14, tzinfo=UTC), pm_status="Occurred")
    chart = HealthieChart(healthie_client, ChartSettings())

    assert chart.member_id_for_email("sam.okafor@practice.example") == CLINICIAN
    assert chart.member_id_for_email("nobody@practice.example") is None
    assert chart.last_session(CLIENT, CLINICIAN, before=ATTEMPT) == datetime(2026, 9, 1, 14,
                                                                             tzinfo=UTC)

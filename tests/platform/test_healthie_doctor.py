"""The check API `discharge-bot doctor` calls for Healthie, against the schema-checking fake."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.platform.healthie_api import HealthieClient
from bot.platform.healthie_doctor import Status, check_healthie, event_name
from tests.fakes.healthie import API_KEY, FakeHealthie

EVENTS = ["appointment.created", "appointment.updated", "appointment.deleted",
          "message.created", "patient.updated", "form_answer_group.signed",
          "form_answer_group.locked"]


@dataclass
class DoctorSettings:
    healthie_api_version: str = "2026-07-01"
    healthie_admin_note_form_id: str | None = None
    healthie_admin_note_form_name: str = "Outreach Admin Note"
    healthie_discharge_form_id: str | None = None
    healthie_discharge_form_name: str = "Discharge Summary"
    discharged_group_name: str = "Discharged Clients"


def set_up_fully(fake: FakeHealthie) -> None:
    fake.add_form("300", "Outreach Admin Note", questions=[("3001", "textarea", "Note")])
    fake.add_form("301", "Discharge Summary", questions=[("3011", "textarea", "Summary")])
    fake.add_webhook("1", url="https://bot.example.org/platform/healthie", event_types=EVENTS,
                     should_retry=True)


def statuses(checks: list) -> dict[str, Status]:  # type: ignore[type-arg]
    return {c.name: c.status for c in checks}


def test_a_fully_set_up_practice_passes_every_check(
    fake_healthie: FakeHealthie, healthie_client: HealthieClient
) -> None:
    set_up_fully(fake_healthie)

    checks = check_healthie(healthie_client, DoctorSettings())

    assert statuses(checks) == {
        "healthie.api": Status.OK,
        "healthie.version": Status.OK,
        "healthie.admin_note_form": Status.OK,
        "healthie.discharge_form": Status.OK,
        "healthie.discharged_group": Status.OK,
        "healthie.webhooks": Status.OK,
        "healthie.webhook_retries": Status.OK,
        "healthie.recurring_appointments": Status.INFO,
    }
    assert fake_healthie.schema_errors == []


def test_doctor_says_what_is_missing_and_what_happens_meanwhile(
    fake_healthie: FakeHealthie, healthie_client: HealthieClient
) -> None:
    fake_healthie.add_form("301", "Discharge Summary", questions=[("3011", "checkbox", "Done")])
    fake_healthie.add_webhook("1", url="https://bot.example.org/platform/healthie",
                              event_types=["appointment.updated"])

    checks = {c.name: c for c in check_healthie(healthie_client, DoctorSettings())}

    assert checks["healthie.admin_note_form"].status is Status.WARN
    assert "Documented in chart" in checks["healthie.admin_note_form"].detail
    assert "no text question" in checks["healthie.discharge_form"].detail
    assert "message.created" in checks["healthie.webhooks"].detail
    assert "appointment.updated" not in checks["healthie.webhooks"].detail
    assert "Turn on retries" in checks["healthie.webhook_retries"].detail
    assert "recurring" in checks["healthie.recurring_appointments"].detail


def test_doctor_reports_the_sunset_warning_healthie_sends(fake_healthie: FakeHealthie) -> None:
    set_up_fully(fake_healthie)
    client = HealthieClient(fake_healthie.url, API_KEY, api_version="2026-01-01")

    checks = {c.name: c for c in check_healthie(client, DoctorSettings("2026-01-01"))}

    assert checks["healthie.version"].status is Status.WARN
    assert "API_VERSION_SUNSET_WARNING" in checks["healthie.version"].detail
    assert "2027-01-31" in checks["healthie.version"].detail


def test_unreachable_healthie_is_one_failed_check_not_an_exception(
    fake_healthie: FakeHealthie,
) -> None:
    client = HealthieClient(fake_healthie.url, "wrong-key", timeout=1)

    checks = check_healthie(client, DoctorSettings())

    assert checks[0].status is Status.FAIL
    assert "HEALTHIE_API_KEY" in checks[0].detail
    assert checks[-1].name == "healthie.recurring_appointments"


@pytest.mark.parametrize(("value", "expected"), [
    ("APPOINTMENT_CREATED", "appointment.created"),
    ("FORM_ANSWER_GROUP_LOCKED", "form_answer_group.locked"),
    ("patient.updated", "patient.updated"),
])
def test_webhook_event_names_are_read_in_both_of_healthies_spellings(
    value: str, expected: str
) -> None:
    assert event_name(value) == expected

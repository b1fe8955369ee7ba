"""What `discharge-bot doctor` asks Healthie: is the adapter set up the way the bot needs it?

`check_healthie(client, settings)` runs every check against the live API and returns one
`Check` per line, never raising: a failure to reach Healthie is itself a check result. Each
detail is written for a practice admin and names the setting or Healthie screen to change.
Nothing here reads or prints chart content.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.platform.healthie_api import (
    DEFAULT_API_VERSION,
    HealthieClient,
    PlatformError,
)
from bot.platform.healthie_chart import FormSettings

# The webhook events the bot uses (bot/platform/healthie.py), as Healthie names them.
REQUIRED_WEBHOOK_EVENTS = (
    "appointment.created",
    "appointment.updated",
    "appointment.deleted",
    "message.created",
    "patient.updated",
    "form_answer_group.signed",
    "form_answer_group.locked",
)
SUNSET_DATE = "2027-01-31"
RECURRING_CAVEAT = (
    "Healthie sends appointment.created/updated/deleted for one-time appointments only; "
    "for recurring appointments ask Healthie support (hello@gethealthie.com) to enable them, "
    "or outcomes of recurring sessions must be recorded by hand (/care session)."
)


class Status(StrEnum):
    OK = "ok"
    INFO = "info"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    detail: str


class DoctorSettings(FormSettings, Protocol):
    """The part of `bot.settings.Settings` these checks read."""

    @property
    def healthie_api_version(self) -> str: ...
    @property
    def discharged_group_name(self) -> str: ...


def check_healthie(client: HealthieClient, settings: DoctorSettings) -> list[Check]:
    """Every Healthie check, in the order an admin would fix them. Never raises."""
    checks = [_api(client)]
    if checks[0].status is Status.FAIL:
        return [*checks, _version(client, settings), recurring_appointments_caveat()]
    checks.append(_version(client, settings))
    checks.append(_form(client, "admin_note_form", settings.healthie_admin_note_form_id,
                        settings.healthie_admin_note_form_name, "HEALTHIE_ADMIN_NOTE_FORM",
                        "admin notes are given in the DM to paste, with a Documented in chart "
                        "button"))
    checks.append(_form(client, "discharge_form", settings.healthie_discharge_form_id,
                        settings.healthie_discharge_form_name, "HEALTHIE_DISCHARGE_FORM",
                        "the discharge summary is given back whole to paste"))
    checks.append(_group(client, settings.discharged_group_name))
    checks.extend(_webhooks(client))
    checks.append(recurring_appointments_caveat())
    return checks


def recurring_appointments_caveat() -> Check:
    return Check("healthie.recurring_appointments", Status.INFO, RECURRING_CAVEAT)


def _api(client: HealthieClient) -> Check:
    try:
        user_id = client.current_user_id()
    except PlatformError as exc:
        return Check("healthie.api", Status.FAIL,
                     f"Healthie did not answer: {exc} (check HEALTHIE_API_URL and "
                     "HEALTHIE_API_KEY)")
    if user_id is None:
        return Check("healthie.api", Status.FAIL, "the API key belongs to no Healthie user")
    return Check("healthie.api", Status.OK, f"answers; the API key is Healthie user {user_id}")


def _version(client: HealthieClient, settings: DoctorSettings) -> Check:
    version = settings.healthie_api_version
    warnings = client.warnings.current()
    if warnings:
        said = "; ".join(f"{w.code}: {w.message}" for w in warnings)
        return Check("healthie.version", Status.WARN,
                     f"HEALTHIE_API_VERSION={version}; Healthie warns: {said}")
    if version < DEFAULT_API_VERSION:
        return Check("healthie.version", Status.WARN,
                     f"HEALTHIE_API_VERSION={version} is sunset on {SUNSET_DATE}; set "
                     f"{DEFAULT_API_VERSION} or later")
    return Check("healthie.version", Status.OK, f"API version {version}, no warnings")


def _form(
    client: HealthieClient, name: str, form_id: str | None, form_name: str, env: str,
    fallback: str,
) -> Check:
    try:
        form = client.find_form(form_id=form_id, name=form_name)
    except PlatformError as exc:
        how = f"{env}_ID={form_id}" if form_id else f"a form named {form_name!r}"
        return Check(f"healthie.{name}", Status.WARN,
                     f"{how}: {exc}. Until it exists {fallback}. Create the form in Healthie's "
                     f"Form Builder (charting, with a text question) or set {env}_ID")
    return Check(f"healthie.{name}", Status.OK,
                 f"form {form.name!r} (id {form.id}); the text goes into question "
                 f"{form.text_question_id}")


def _group(client: HealthieClient, group_name: str) -> Check:
    try:
        group_id = client.find_group_id(group_name)
    except PlatformError as exc:
        return Check("healthie.discharged_group", Status.WARN,
                     f"{exc}. Until then Move for me cannot work")
    return Check("healthie.discharged_group", Status.OK,
                 f"client group {group_name!r} is id {group_id}")


def _webhooks(client: HealthieClient) -> list[Check]:
    try:
        hooks = client.webhooks()
    except PlatformError as exc:
        return [Check("healthie.webhooks", Status.WARN,
                      f"could not list webhooks ({exc}); check them in Healthie's Settings > "
                      f"Developer > Webhooks: {', '.join(REQUIRED_WEBHOOK_EVENTS)}")]
    enabled = [h for h in hooks if h.enabled]
    subscribed = {event_name(t) for h in enabled for t in h.event_types}
    missing = [e for e in REQUIRED_WEBHOOK_EVENTS if e not in subscribed]
    checks = []
    if missing:
        checks.append(Check("healthie.webhooks", Status.WARN,
                            f"no enabled webhook for {', '.join(missing)}; subscribe the bot's "
                            "/platform/healthie URL to them"))
    else:
        checks.append(Check("healthie.webhooks", Status.OK,
                            f"subscribed to {', '.join(REQUIRED_WEBHOOK_EVENTS)}"))
    ours = [h for h in enabled if {event_name(t) for t in h.event_types}
            & set(REQUIRED_WEBHOOK_EVENTS)]
    without_retry = [h.id for h in ours if not h.retries]
    if without_retry:
        checks.append(Check("healthie.webhook_retries", Status.WARN,
                            f"retries are off for webhook(s) {', '.join(without_retry)}: an "
                            "event that arrives while the bot is down or Healthie is rate "
                            "limiting is lost. Turn on retries (should_retry) for them"))
    elif ours:
        checks.append(Check("healthie.webhook_retries", Status.OK, "retries are on"))
    return checks


def event_name(value: str) -> str:
    """Healthie's enum form (APPOINTMENT_CREATED) or dotted form -> appointment.created."""
    if "." in value:
        return value.lower()
    head, _, tail = value.lower().rpartition("_")
    return f"{head}.{tail}" if head else tail

"""The chart in Healthie, as the services need it: notes written, notes to sign, who is who.

`HealthieChart` wraps the GraphQL client with the practice's settings (which forms, which
links) so the services speak of "an admin note" or "the summary draft", never of forms,
questions or form answer groups. A form that does not exist is not an error here: the write
returns None and the services fall back to the text to paste. Failures to reach Healthie
raise the client's PlatformError subclasses.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Protocol
from urllib.parse import quote

from bot.platform.healthie_api import (
    ChartingForm,
    FormNotFound,
    HealthieClient,
    profile_url,
)
from bot.services.readmodels import ChartLink

log = logging.getLogger(__name__)


class FormSettings(Protocol):
    """Which charting forms the bot writes: by id, else found by name."""

    @property
    def healthie_admin_note_form_id(self) -> str | None: ...
    @property
    def healthie_admin_note_form_name(self) -> str: ...
    @property
    def healthie_discharge_form_id(self) -> str | None: ...
    @property
    def healthie_discharge_form_name(self) -> str: ...


class ChartSettings(FormSettings, Protocol):
    @property
    def platform_app_url(self) -> str | None: ...
    @property
    def platform_note_url(self) -> str | None: ...


def note_url(settings: ChartSettings, client_id: str, note_id: str) -> str | None:
    """PLATFORM_NOTE_URL with {client_id} and {note_id}; else the client's profile."""
    template = settings.platform_note_url
    if template:
        return template.replace("{client_id}", quote(client_id, safe="")).replace(
            "{note_id}", quote(note_id, safe="")
        )
    return profile_url(settings.platform_app_url, client_id)


class HealthieChart:
    """What the services ask of the chart, over one HealthieClient."""

    def __init__(self, client: HealthieClient, settings: ChartSettings) -> None:
        self.client = client
        self.settings = settings
        self._forms: dict[str, ChartingForm] = {}
        self._lock = threading.Lock()

    # --- notes the bot writes -----------------------------------------------------------

    def write_admin_note(self, client_id: str, text: str, *, dated: datetime) -> ChartLink | None:
        """A finished charting note from the admin-note form; None when there is no form."""
        form = self._form(
            "admin_note", self.settings.healthie_admin_note_form_id,
            self.settings.healthie_admin_note_form_name,
        )
        return None if form is None else self._write(client_id, form, text, dated)

    def write_summary_draft(
        self, client_id: str, text: str, *, dated: datetime
    ) -> ChartLink | None:
        """The discharge summary as a charting note, left unlocked for the clinician to sign."""
        form = self._form(
            "discharge", self.settings.healthie_discharge_form_id,
            self.settings.healthie_discharge_form_name,
        )
        return None if form is None else self._write(client_id, form, text, dated)

    def _write(
        self, client_id: str, form: ChartingForm, text: str, dated: datetime
    ) -> ChartLink:
        note_id = self.client.create_charting_note(client_id, form, text, dated=dated)
        return ChartLink(form.name, note_url(self.settings, client_id, note_id), dated, note_id)

    def _form(self, key: str, form_id: str | None, name: str) -> ChartingForm | None:
        with self._lock:
            cached = self._forms.get(key)
        if cached is not None:
            return cached
        try:
            form = self.client.find_form(form_id=form_id, name=name)
        except FormNotFound as missing:
            log.info("healthie %s form not usable: %s", key, missing)
            return None
        with self._lock:
            self._forms[key] = form
        return form

    def _bot_form_ids(self) -> set[str]:
        with self._lock:
            return {f.id for f in self._forms.values()}

    # --- what the checklist reads -------------------------------------------------------

    def unsigned_notes(self, client_id: str) -> list[ChartLink]:
        """The client's finished charting notes neither signed nor locked (newest first).

        The bot's own admin notes and summary draft are not session notes and are left out.
        """
        for key, form_id, name in (
            ("admin_note", self.settings.healthie_admin_note_form_id,
             self.settings.healthie_admin_note_form_name),
            ("discharge", self.settings.healthie_discharge_form_id,
             self.settings.healthie_discharge_form_name),
        ):
            self._form(key, form_id, name)
        ours = self._bot_form_ids()
        return [
            ChartLink(n.name, note_url(self.settings, client_id, n.id), n.created_at, n.id)
            for n in self.client.charting_notes(client_id)
            if n.finished and not (n.locked or n.signed) and n.form_id not in ours
        ]

    def other_providers(self, client_id: str, clinician_platform_id: str | None) -> list[str]:
        return self.client.other_providers(client_id, clinician_platform_id)

    def member_id_for_email(self, email: str) -> str | None:
        return self.client.find_member_id_by_email(email)

    def last_session(
        self, client_id: str, clinician_platform_id: str | None, *, before: datetime
    ) -> datetime | None:
        return self.client.last_occurred_session(client_id, clinician_platform_id, before=before)

    # --- the existing confirmed actions -------------------------------------------------

    def send_chat_message(
        self, client_id: str, clinician_platform_id: str | None, text: str
    ) -> str:
        return self.client.send_chat_message(client_id, clinician_platform_id, text)

    def move_to_group(self, client_id: str, group_name: str) -> str:
        return self.client.move_to_group(client_id, group_name)


"""What a Smart Phrase may see about a client, built from records: labels, links, dates.

Privacy lives here: the first name is only put into a context for client-facing chat text,
and a Slack label is the chart id (optionally with the initial, in clinician DMs only).
"""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import quote

from bot.domain.calendar import WorkingHours
from bot.domain.model import Policy, Recipient
from bot.domain.policy import Assessment
from bot.settings import Settings
from smart_phrases import (
    ClientContext,
    ClinicianContext,
    Effort,
    EpisodeContext,
    PracticeContext,
    RenderContext,
)
from storage.models import Client, Clinician


def profile_url(settings: Settings, chart_id: str) -> str | None:
    """Deep link to the client's profile in the clinical platform, when its URL is set."""
    if not settings.platform_app_url:
        return None
    return f"{settings.platform_app_url.rstrip('/')}/users/{quote(chart_id, safe='')}"


def label_for(settings: Settings, client: Client, recipient: Recipient) -> str:
    """The pseudonymous label: the chart id; chart id + initial only in a clinician's DM."""
    if (
        recipient is Recipient.CLINICIAN
        and settings.label_style == "chart_id_initials"
        and client.first_name
    ):
        return f"{client.chart_id} ({client.first_name.strip()[:1].upper()}.)"
    return client.chart_id


def clinician_context(clinician: Clinician) -> ClinicianContext:
    return ClinicianContext(
        display_name=clinician.display_name or "your clinician",
        slack_user_id=clinician.slack_user_id,
    )


def practice_context(settings: Settings) -> PracticeContext:
    return PracticeContext(
        name=settings.practice_name, discharged_group_name=settings.discharged_group_name
    )


def efforts(assessment: Assessment, policy: Policy, hours: WorkingHours) -> tuple[Effort, ...]:
    return tuple(
        Effort(hours.local_date(at), f"Outreach check-in {n} of {policy.checkins} sent")
        for n, at in enumerate(assessment.checkin_dates, start=1)
    )


def _day(value: datetime | None, hours: WorkingHours) -> date | None:
    return hours.local_date(value) if value else None


def render_context(
    settings: Settings,
    policy: Policy,
    hours: WorkingHours,
    client: Client,
    assessment: Assessment,
    *,
    recipient: Recipient,
    for_client_chat: bool = False,
    number: int | None = None,
    next_step: str | None = None,
    due_at: datetime | None = None,
    reason: str | None = None,
    today: datetime | None = None,
) -> RenderContext:
    """Everything a phrase about this client may use; the first name only for chat text."""
    client_ctx = ClientContext(
        chart_id=client.chart_id,
        label=label_for(settings, client, recipient),
        first_name=client.first_name if for_client_chat else None,
        profile_url=profile_url(settings, client.chart_id),
    )
    episode_ctx = EpisodeContext(
        checkin_number=number or max(1, min(assessment.checkins_sent + 1, policy.checkins)),
        checkins_total=policy.checkins,
        last_session_date=_day(assessment.last_session_at, hours),
        last_contact_date=_day(assessment.last_contact_at, hours),
        due_date=_day(due_at, hours),
        efforts=efforts(assessment, policy, hours),
        next_step=next_step,
        reason=reason,
    )
    return RenderContext(
        client=client_ctx,
        clinician=clinician_context(client.clinician),
        episode=episode_ctx,
        practice=practice_context(settings),
        today=_day(today, hours),
    )

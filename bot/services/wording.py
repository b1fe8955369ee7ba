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


#: What client-facing text says where the practice's name belongs while it isn't set (the
#: Slack preview shows it; nothing is sent into a client's chat until it is set).
PRACTICE_NAME_MISSING = "[practice name: set DISCHARGE_PRACTICE_NAME]"


def practice_context(settings: Settings) -> PracticeContext:
    return PracticeContext(
        name=settings.practice_name or PRACTICE_NAME_MISSING,
        discharged_group_name=settings.discharged_group_name,
        crisis_line=settings.crisis_line,
        crisis_line_in_every_checkin=settings.crisis_line_in_every_checkin,
    )


def efforts(assessment: Assessment, policy: Policy, hours: WorkingHours) -> tuple[Effort, ...]:
    return tuple(
        Effort(hours.local_date(at), text) for at, text in effort_lines(assessment, policy)
    )


def effort_lines(assessment: Assessment, policy: Policy) -> list[tuple[datetime, str]]:
    """The re-engagement efforts on record, in date order: documented check-ins (named as the
    prompts named them) and the clinician's own admin notes (/care note)."""
    numbers = assessment.checkin_numbers or tuple(range(1, len(assessment.checkin_dates) + 1))
    lines = [
        (at, f"Outreach {assessment.checkin_title(n, policy.checkins).lower()} sent")
        for n, at in zip(numbers, assessment.checkin_dates, strict=False)
    ]
    lines += [(at, "Admin note on outreach logged") for at in assessment.note_dates]
    return sorted(lines, key=lambda line: line[0])


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
    checkin_number = number or assessment.next_checkin_number or max(
        1, min(assessment.checkins_sent + 1, policy.checkins)
    )
    episode_ctx = EpisodeContext(
        checkin_number=checkin_number,
        checkin_title=assessment.checkin_title(checkin_number, policy.checkins),
        checkins_total=policy.checkins,
        last_session_date=_day(assessment.last_session_at, hours),
        last_contact_date=_day(assessment.last_contact_at, hours),
        due_date=_day(due_at, hours),
        efforts=efforts(assessment, policy, hours),
        next_step=next_step,
        reason=reason,
        early_discharge=assessment.discharge_reason,
    )
    return RenderContext(
        client=client_ctx,
        clinician=clinician_context(client.clinician),
        episode=episode_ctx,
        practice=practice_context(settings),
        today=_day(today, hours),
    )

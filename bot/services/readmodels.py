"""What the Slack surface reads from the services: small frozen values, never ORM rows.

Views are pure functions of these; building one is the services' job (it may read the
database and the platform), rendering one is the views' job (it may not).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from bot.domain.model import ChecklistStep, State


class OutboxKind(StrEnum):
    """Outbox kinds beyond the policy's StepKind values."""

    MESSAGE_UPDATE = "message_update"  # re-render a message already sent, in place
    SUMMARY_NOTE = "summary_note"  # the rendered discharge summary, to the clinician's DM
    CCT_DIGEST = "cct_digest"  # the weekly digest in the CCT channel


class Resolved(StrEnum):
    """What a clinician or CCT member did with a prompt (shown on the message afterwards)."""

    MARKED_SENT = "marked_sent"
    SENT_FOR_ME = "sent_for_me"
    CLIENT_REPLIED = "client_replied"
    SNOOZED = "snoozed"
    PAUSED = "paused"
    CLASSIFIED = "classified"
    TAKEN = "taken"
    DONE = "done"


@dataclass(frozen=True)
class Resolution:
    action: Resolved
    by: str  # a Slack user id, or "platform"/"cli:…"
    at: datetime
    detail: str | None = None


@dataclass(frozen=True)
class ChecklistLine:
    step: ChecklistStep
    title: str
    done_at: datetime | None = None
    done_by: str | None = None
    answer: str | None = None
    automatic: bool = False  # ticked from the log (re-engagement attempts)


@dataclass(frozen=True)
class OutboxMessageData:
    """One outbox row with everything needed to say it (or re-say it in place).

    `text` is the main Smart Phrase already rendered for Slack; `preview` the client-facing
    check-in with the first-name placeholder; `current` says whether the prompt can still
    be acted on (an answered or overtaken prompt loses its buttons).
    """

    id: int  # the message shown (for an in-place update: the message being updated)
    delivery_id: int  # the outbox row being delivered now
    key: str
    kind: str
    attempt: int
    recipient_kind: str
    recipient: str | None
    status: str
    channel: str | None
    ts: str | None
    zone: str
    text: str
    chart_id: str | None = None
    clinician: str | None = None
    preview: str | None = None
    number: int | None = None
    total: int = 3
    title: str | None = None  # the check-in as prompts name it ("Final check-in")
    pause_days: tuple[int, ...] = (14, 30, 60, 90)
    state: State | None = None
    current: bool = True
    checklist: tuple[ChecklistLine, ...] = ()
    next_step: ChecklistStep | None = None
    other_providers: tuple[str, ...] | None = None
    #: Sessions this episode saw with other providers ("March 20, 2026 (provider prov-7)").
    other_sessions: tuple[str, ...] = ()
    can_send_for_me: bool = False
    can_move_for_me: bool = False
    snooze_days: tuple[int, ...] = (1, 3, 7)
    discharged_group: str = "Discharged Clients"
    resolutions: tuple[Resolution, ...] = ()

    @property
    def is_update(self) -> bool:
        return self.delivery_id != self.id


@dataclass(frozen=True)
class HomeRow:
    chart_id: str
    state: State
    detail: str
    due_at: datetime | None = None
    clinician: str | None = None


@dataclass(frozen=True)
class HomeData:
    """A user's App Home: their caseload by what it needs, and for CCT the practice queue."""

    user_id: str
    zone: str
    now: datetime
    is_cct: bool
    is_clinician: bool
    needs_action: tuple[HomeRow, ...] = ()
    outreach: tuple[HomeRow, ...] = ()
    discharging: tuple[HomeRow, ...] = ()
    recent: tuple[HomeRow, ...] = ()
    active_count: int = 0
    cct_queue: tuple[HomeRow, ...] = ()

    def section(self, name: str) -> tuple[HomeRow, ...]:
        rows: tuple[HomeRow, ...] = getattr(self, name)
        return rows


@dataclass(frozen=True)
class DigestData:
    period_start: date
    period_end: date
    rows: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())
    reengagement: str | None = None  # the report's weekly line (counts only, small cells <5)

    @property
    def empty(self) -> bool:
        return not any(labels for _, labels in self.rows) and not self.reengagement


#: The longest reason a clinician may give for *Expected* on a heads-up.
HEADSUP_REASON_MAX = 500


@dataclass(frozen=True)
class HeadsUpData:
    """One heads-up as the Slack views show it (no name, no note text; never the reason)."""

    id: int
    outbox_id: int | None
    chart_id: str
    label: str
    profile_url: str | None
    line: str
    text: str  # the rendered `headsup` phrase
    status: str
    current: bool  # the stretch is still on and the clinician has not answered
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    zone: str = "UTC"

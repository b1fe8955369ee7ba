"""The typed values a Smart Phrase may see: plain frozen dataclasses, never ORM rows.

The app builds these from its own records and hands them to `PhraseLibrary.render`.
Keeping them small, immutable and free of behaviour is what lets the sandbox allow
exactly their fields and nothing else (see `smart_phrases.environment`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class ClientContext:
    """Who the phrase is about.

    `label` is the pseudonymous name shown in Slack (by default the chart id).
    `first_name` is only ever put into client-audience phrases rendered for the
    platform chat; every other render sees a placeholder or no such field at all.
    """

    chart_id: str
    label: str
    first_name: str | None = None
    profile_url: str | None = None


@dataclass(frozen=True, slots=True)
class ClinicianContext:
    """The assigned clinician; `slack_user_id` lets CCT messages mention them."""

    display_name: str
    slack_user_id: str


@dataclass(frozen=True, slots=True)
class Effort:
    """One documented re-engagement attempt, as it should read in the chart."""

    day: date
    description: str


@dataclass(frozen=True, slots=True)
class EpisodeContext:
    """Where the client's outreach/discharge episode stands.

    `reason` is why the episode is where it is, in words fit for the clinician
    (e.g. "No contact for 14 days and no session booked", or for a return "Booked a
    session for March 10"), with no final full stop: phrases add their own punctuation.
    `next_step` names the checklist step a nudge or escalation is about. Dates are
    practice-local dates.
    """

    checkin_number: int
    checkins_total: int
    last_session_date: date | None = None
    last_contact_date: date | None = None
    due_date: date | None = None
    efforts: tuple[Effort, ...] = ()
    next_step: str | None = None
    reason: str | None = None
    checkin_title: str = ""  # "Check-in 1 of 3" ... "Final check-in"
    #: Why the checklist was opened, or step 1 ticked, before the guide's criteria were met
    #: (the clinician's own words): only the chart note (plain) carries it.
    early_discharge: str | None = None


@dataclass(frozen=True, slots=True)
class PracticeContext:
    name: str
    discharged_group_name: str
    crisis_line: str | None = None
    crisis_line_in_every_checkin: bool = False


@dataclass(frozen=True, slots=True)
class SummaryContext:
    """What the clinician writes into the discharge summary modal.

    Clinical text: only plain-format clinician phrases (the chart note) may use it;
    the linter refuses it anywhere else so it can never reach a Slack channel.
    An empty `considerations` means none were noted.
    """

    treatment_focus: str
    goals_progress: str
    risk_level: str
    considerations: str = ""


@dataclass(frozen=True, slots=True)
class DigestRow:
    """One line of the weekly CCT digest: a category, its count, and the labels in it.

    `client_labels` are pseudonymous labels (chart ids), never names.
    """

    title: str
    count: int
    client_labels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DigestContext:
    period_start: date
    period_end: date
    rows: tuple[DigestRow, ...] = ()
    #: The week's re-engagement counts in one line (practice-wide, small cells as "<5").
    reengagement: str | None = None


@dataclass(frozen=True, slots=True)
class RenderContext:
    """Everything a render may draw on; a phrase receives only what its header declares.

    Fields are optional because most phrases need only some of them. Rendering a
    phrase whose header declares a variable the context lacks raises
    `PhraseRenderError` instead of printing an empty gap. `today` is the business
    date the text is written on (e.g. the date an admin note documents).
    """

    client: ClientContext | None = None
    clinician: ClinicianContext | None = None
    episode: EpisodeContext | None = None
    practice: PracticeContext | None = None
    summary: SummaryContext | None = None
    digest: DigestContext | None = None
    today: date | None = None

"""The words of the policy: states, events, steps and the numbers that tune them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class State(StrEnum):
    ACTIVE = "active"
    OUTREACH = "outreach"
    PAUSED = "paused"
    REPLY_REVIEW = "reply_review"
    INACTIVE = "inactive"  # the discharge checklist is open
    CARE_TEAM_REMOVAL = "care_team_removal"  # still seen by other providers: CCT removes
    REMATCH = "rematch"  # fit concern: CCT rematches under the Fit Guarantee
    DISCHARGED = "discharged"  # moved to Discharged Clients; CCT chart check and archive
    CLOSED = "closed"


TERMINAL_STATES = frozenset({State.CLOSED})


class Trigger(StrEnum):
    """Why outreach started."""

    SILENCE = "silence"
    ATTENDANCE = "attendance"
    MANUAL = "manual"


class EventKind(StrEnum):
    SESSION_ATTENDED = "session_attended"
    SESSION_CANCELLED = "session_cancelled"
    SESSION_NO_SHOW = "session_no_show"
    SESSION_SCHEDULED = "session_scheduled"
    CLIENT_MESSAGE = "client_message"
    CHECKIN_SENT = "checkin_sent"
    ADMIN_NOTE = "admin_note"
    # a check-in's admin note is in the chart (written there through the platform, or the
    # clinician confirmed they pasted it): only these tick checklist step 1 by themselves
    NOTE_IN_CHART = "note_in_chart"
    OUTREACH_STARTED = "outreach_started"
    OUTREACH_PAUSED = "outreach_paused"
    OUTREACH_RESUMED = "outreach_resumed"
    SNOOZED = "snoozed"
    DISCHARGE_OPENED = "discharge_opened"
    CLASSIFIED = "classified"
    STEP_COMPLETED = "step_completed"
    CCT_DONE = "cct_done"
    PROMPTED = "prompted"
    EPISODE_OPENED = "episode_opened"


SESSION_OUTCOMES = frozenset(
    {EventKind.SESSION_ATTENDED, EventKind.SESSION_CANCELLED, EventKind.SESSION_NO_SHOW}
)
MISSED = frozenset({EventKind.SESSION_CANCELLED, EventKind.SESSION_NO_SHOW})
SESSION_KINDS = SESSION_OUTCOMES | {EventKind.SESSION_SCHEDULED}


class Cancellation(StrEnum):
    """Who (or what) ended a booked session; only the client's own cancellation is a miss."""

    CLIENT = "client"
    PROVIDER = "provider"  # the provider cancelled: not the client's miss
    DELETED = "deleted"  # the appointment was deleted, e.g. booked in error
    RESCHEDULED = "rescheduled"  # moved to another date: neither a miss nor a contact


class Classification(StrEnum):
    CONTINUING = "continuing"
    MET_GOALS = "met_goals"
    FIT_CONCERN = "fit_concern"
    OTHER = "other"


class ChecklistStep(StrEnum):
    """The discharge checklist, in the order the practice guide gives it."""

    ATTEMPTS_DOCUMENTED = "attempts_documented"
    NOTES_SIGNED = "notes_signed"
    OTHER_PROVIDERS = "other_providers"
    SUMMARY_NOTE = "summary_note"
    MOVED_TO_GROUP = "moved_to_group"


class StepKind(StrEnum):
    """Something the bot must say; each has one idempotent key per episode and attempt."""

    CHECKIN = "checkin"
    CLASSIFY_REPLY = "classify_reply"
    CHECKLIST = "checklist"
    REENGAGED_NOTICE = "reengaged_notice"
    RETURNED_NOTICE = "returned_notice"
    CCT_CARE_TEAM_REMOVAL = "cct_care_team_removal"
    CCT_REMATCH = "cct_rematch"
    CCT_ARCHIVE = "cct_archive"
    CCT_ESCALATION = "cct_escalation"
    PAUSE_ENDS = "pause_ends"  # the date the clinician paused outreach until


class Recipient(StrEnum):
    CLINICIAN = "clinician"
    CCT = "cct"


class Closure(StrEnum):
    """How an episode ended; some endings hand over to a new episode at once."""

    ARCHIVED = "archived"  # discharged and archived by CCT
    CARE_TEAM_REMOVED = "care_team_removed"  # still seen by others; this clinician left
    MET_GOALS = "met_goals"  # goes to the Discharge - Completed process instead
    REMATCHED = "rematched"  # fit concern, CCT rematched the client
    REENGAGED = "reengaged"  # came back during outreach: a new episode starts
    CONTINUING = "continuing"  # replied and continues care: a new episode starts
    RETURNED = "returned"  # discharged, then came back: a new episode starts


class OpenReason(StrEnum):
    """Why an episode began; the clinician is told about some of them."""

    IMPORTED = "imported"
    REENGAGED = "reengaged"
    CONTINUING = "continuing"
    RETURNED = "returned"
    HANDED_OVER = "handed_over"  # after CCT's rematch or care-team removal


@dataclass(frozen=True)
class Event:
    """One fact in a client's history. `at` is when it happened (aware UTC)."""

    kind: EventKind
    at: datetime
    session_at: datetime | None = None
    number: int | None = None  # check-in number
    step: ChecklistStep | None = None
    answer: str | None = None  # "yes"/"no" for OTHER_PROVIDERS
    classification: Classification | None = None
    until: datetime | None = None  # snooze end
    prompt: str | None = None  # key of the step a PROMPTED event records
    label: str | None = None  # free words for the timeline (never note text)
    known_at: datetime | None = None  # when the bot learned it; defaults to `at`
    provider: str | None = None  # a session with another provider of the practice
    cancellation: Cancellation | None = None  # who ended a cancelled session
    moved_to: datetime | None = None  # a rescheduled session's new time

    @property
    def learned_at(self) -> datetime:
        return self.known_at or self.at


@dataclass(frozen=True)
class Policy:
    """The numbers of DESIGN's "workflow as rules" (all settings, with these defaults)."""

    silence_days: int = 14
    consecutive_missed: int = 3
    checkins: int = 3
    outreach_interval_days: int = 14
    no_reply_weeks: int = 8
    reply_window_days: int = 14
    nudge_after_days: int = 3
    max_nudges: int = 2
    escalate_after_days: int = 14


@dataclass(frozen=True)
class EpisodeHistory:
    """What the policy reads: the episode's start, the last contact known then, its events."""

    opened_at: datetime
    baseline_contact_at: datetime | None
    opened_reason: OpenReason = OpenReason.IMPORTED
    events: tuple[Event, ...] = ()
    booked_sessions: tuple[datetime, ...] = field(default=())  # known at opening
    baseline_session_at: datetime | None = None  # last attended session known at opening
    #: After a rematch or care-team removal, while the caseload still names the clinician
    #: the client left: nothing is said until someone else is named.
    awaiting_assignment: bool = False
    #: The clinician's own admin notes (/care note), as (note id, when written): efforts to
    #: show but no state change, so a store reads them apart from `events` (two columns,
    #: not a fold step each) and the policy only looks at them when asked which efforts
    #: were made. A note also among the events (its label "note 12") counts once.
    notes: tuple[tuple[int | str, datetime], ...] = ()


def note_key(label: str | None) -> int | str:
    """The note id an ADMIN_NOTE event's label names ("note 12" -> 12), else the label."""
    rest = (label or "").removeprefix("note ")
    return int(rest) if rest.isdigit() else label or ""

"""The inactivity policy: an episode's history and `now` in; its state, reasons and due steps out.

The history is folded event by event through one explicit transition table; the clock only
matters for the two rules that fire on their own (no contact for `silence_days`, and no reply
`no_reply_weeks` after three check-ins). What must be said, and when, is derived from the
folded state: a step is due at a time, shifted into the clinician's working hours, and each
attempt of it has a stable key so that saying it twice is impossible downstream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cached_property

from bot.domain.calendar import WorkingHours
from bot.domain.checklist import ChecklistStatus, checklist_status
from bot.domain.errors import IllegalTransition
from bot.domain.model import (
    MISSED,
    SESSION_KINDS,
    Cancellation,
    ChecklistStep,
    Classification,
    Closure,
    EpisodeHistory,
    Event,
    EventKind,
    OpenReason,
    Policy,
    Recipient,
    State,
    StepKind,
    Trigger,
    note_key,
)


class Signal(StrEnum):
    """What an event (or the clock) means to the state machine."""

    CONTACT = "contact"  # an attended session with this clinician
    BOOKED = "booked"  # a future session booked: holds outreach until its outcome
    MESSAGE = "message"  # the client wrote
    MISSED = "missed"  # cancellation or no-show
    SILENCE_ELAPSED = "silence_elapsed"
    STALE_OUTREACH = "stale_outreach"  # a late-reported contact moves the silence clock back
    MISSED_RUN = "missed_run"
    START_OUTREACH = "start_outreach"
    CHECKIN_SENT = "checkin_sent"
    SNOOZE = "snooze"
    PAUSE = "pause"
    RESUME = "resume"
    NO_REPLY_ELAPSED = "no_reply_elapsed"
    OPEN_DISCHARGE = "open_discharge"
    CONTINUING = "continuing"
    MET_GOALS = "met_goals"
    FIT_CONCERN = "fit_concern"
    OTHER = "other"
    STEP = "step"
    OTHER_PROVIDERS = "other_providers"
    CHECKLIST_DONE = "checklist_done"
    CCT_DONE = "cct_done"
    NOTE = "note"
    PROMPTED = "prompted"


S = State
_OUTREACH_LIKE = (S.OUTREACH, S.PAUSED, S.INACTIVE, S.REPLY_REVIEW)
#: Every legal (state, signal) -> next state. Anything missing is an IllegalTransition.
#: None means "back to the state the client's reply interrupted".
TRANSITIONS: dict[tuple[State, Signal], State | None] = {
    (S.ACTIVE, Signal.CONTACT): S.ACTIVE,
    (S.ACTIVE, Signal.BOOKED): S.ACTIVE,
    (S.ACTIVE, Signal.MESSAGE): S.ACTIVE,
    (S.ACTIVE, Signal.MISSED): S.ACTIVE,
    (S.ACTIVE, Signal.SILENCE_ELAPSED): S.OUTREACH,
    (S.ACTIVE, Signal.MISSED_RUN): S.OUTREACH,
    (S.ACTIVE, Signal.START_OUTREACH): S.OUTREACH,
    (S.ACTIVE, Signal.OPEN_DISCHARGE): S.INACTIVE,
    (S.OUTREACH, Signal.CONTACT): S.CLOSED,  # re-engaged: the episode hands over
    (S.OUTREACH, Signal.STALE_OUTREACH): S.ACTIVE,
    (S.OUTREACH, Signal.BOOKED): S.OUTREACH,  # held until the booked session's outcome
    (S.OUTREACH, Signal.MESSAGE): S.REPLY_REVIEW,
    (S.OUTREACH, Signal.MISSED): S.OUTREACH,
    (S.OUTREACH, Signal.MISSED_RUN): S.OUTREACH,
    (S.OUTREACH, Signal.CHECKIN_SENT): S.OUTREACH,
    (S.OUTREACH, Signal.SNOOZE): S.OUTREACH,
    (S.OUTREACH, Signal.PAUSE): S.PAUSED,
    (S.OUTREACH, Signal.NO_REPLY_ELAPSED): S.INACTIVE,
    (S.OUTREACH, Signal.OPEN_DISCHARGE): S.INACTIVE,
    (S.PAUSED, Signal.CONTACT): S.CLOSED,
    (S.PAUSED, Signal.MESSAGE): S.REPLY_REVIEW,
    (S.PAUSED, Signal.BOOKED): S.PAUSED,
    (S.PAUSED, Signal.MISSED): S.PAUSED,
    (S.PAUSED, Signal.MISSED_RUN): S.PAUSED,
    (S.PAUSED, Signal.CHECKIN_SENT): S.PAUSED,
    (S.PAUSED, Signal.RESUME): S.OUTREACH,
    (S.PAUSED, Signal.OPEN_DISCHARGE): S.INACTIVE,
    (S.REPLY_REVIEW, Signal.CONTACT): S.CLOSED,
    (S.REPLY_REVIEW, Signal.MESSAGE): S.REPLY_REVIEW,
    (S.REPLY_REVIEW, Signal.BOOKED): S.REPLY_REVIEW,
    (S.REPLY_REVIEW, Signal.MISSED): S.REPLY_REVIEW,
    (S.REPLY_REVIEW, Signal.MISSED_RUN): S.REPLY_REVIEW,
    (S.REPLY_REVIEW, Signal.CONTINUING): S.CLOSED,
    (S.REPLY_REVIEW, Signal.MET_GOALS): S.CLOSED,
    (S.REPLY_REVIEW, Signal.FIT_CONCERN): S.REMATCH,
    (S.REPLY_REVIEW, Signal.OTHER): None,
    (S.INACTIVE, Signal.CONTACT): S.CLOSED,
    (S.INACTIVE, Signal.MESSAGE): S.REPLY_REVIEW,
    (S.INACTIVE, Signal.BOOKED): S.INACTIVE,  # the checklist waits for the session's outcome
    (S.INACTIVE, Signal.MISSED): S.INACTIVE,
    (S.INACTIVE, Signal.MISSED_RUN): S.INACTIVE,
    (S.INACTIVE, Signal.CHECKIN_SENT): S.INACTIVE,
    (S.INACTIVE, Signal.STEP): S.INACTIVE,
    (S.INACTIVE, Signal.OTHER_PROVIDERS): S.CARE_TEAM_REMOVAL,
    (S.INACTIVE, Signal.CHECKLIST_DONE): S.DISCHARGED,
    (S.CARE_TEAM_REMOVAL, Signal.CONTACT): S.CARE_TEAM_REMOVAL,
    (S.CARE_TEAM_REMOVAL, Signal.MESSAGE): S.CARE_TEAM_REMOVAL,
    (S.CARE_TEAM_REMOVAL, Signal.BOOKED): S.CARE_TEAM_REMOVAL,
    (S.CARE_TEAM_REMOVAL, Signal.MISSED): S.CARE_TEAM_REMOVAL,
    (S.CARE_TEAM_REMOVAL, Signal.CCT_DONE): S.CLOSED,
    (S.REMATCH, Signal.CONTACT): S.REMATCH,
    (S.REMATCH, Signal.MESSAGE): S.REMATCH,
    (S.REMATCH, Signal.BOOKED): S.REMATCH,
    (S.REMATCH, Signal.MISSED): S.REMATCH,
    (S.REMATCH, Signal.CCT_DONE): S.CLOSED,
    (S.DISCHARGED, Signal.STEP): S.DISCHARGED,
    (S.DISCHARGED, Signal.CCT_DONE): S.CLOSED,
    (S.DISCHARGED, Signal.MISSED): S.DISCHARGED,
    # a contact here is a return; services open a new episode before it is recorded
    (S.DISCHARGED, Signal.CONTACT): S.DISCHARGED,
    (S.DISCHARGED, Signal.MESSAGE): S.DISCHARGED,
    (S.DISCHARGED, Signal.BOOKED): S.DISCHARGED,
    (S.CLOSED, Signal.CONTACT): S.CLOSED,
    (S.CLOSED, Signal.BOOKED): S.CLOSED,
    (S.CLOSED, Signal.MESSAGE): S.CLOSED,
    (S.CLOSED, Signal.MISSED): S.CLOSED,
    (S.CLOSED, Signal.STEP): S.CLOSED,
}
# Notes, prompts and missed sessions are always recorded; they never move the state.
for _state in State:
    TRANSITIONS[(_state, Signal.NOTE)] = _state
    TRANSITIONS[(_state, Signal.PROMPTED)] = _state

_HINTS = {
    Signal.PAUSE: "Outreach isn't running, so there is nothing to pause.",
    Signal.RESUME: "Outreach isn't paused.",
    Signal.START_OUTREACH: "Outreach can only be started for an active client.",
    Signal.CHECKIN_SENT: "Check-ins are documented during outreach.",
    Signal.SNOOZE: "Only a due check-in can be snoozed.",
    Signal.STEP: "The discharge checklist isn't open for this client.",
    Signal.OPEN_DISCHARGE: "The discharge checklist is already open or done.",
    Signal.CCT_DONE: "There is no CCT request open for this client.",
    Signal.CONTINUING: "There is no client reply waiting to be classified.",
    Signal.MET_GOALS: "There is no client reply waiting to be classified.",
    Signal.FIT_CONCERN: "There is no client reply waiting to be classified.",
    Signal.OTHER: "There is no client reply waiting to be classified.",
}

#: Closures that hand over to a new episode at once, and why the new one opens. After CCT's
#: rematch or care-team removal the client goes on under whoever the caseload names then.
SUCCESSOR: dict[Closure, OpenReason] = {
    Closure.REENGAGED: OpenReason.REENGAGED,
    Closure.CONTINUING: OpenReason.CONTINUING,
    Closure.RETURNED: OpenReason.RETURNED,
    Closure.REMATCHED: OpenReason.HANDED_OVER,
    Closure.CARE_TEAM_REMOVED: OpenReason.HANDED_OVER,
}
#: Episodes whose silence clock starts when they open (the contact or hand-over that opened them).
_FRESH_START = frozenset({OpenReason.RETURNED, OpenReason.HANDED_OVER})
_CONTACT_KINDS = frozenset(
    {EventKind.SESSION_ATTENDED, EventKind.SESSION_SCHEDULED, EventKind.CLIENT_MESSAGE}
)


def next_state(state: State, signal: Signal) -> State | None:
    """Look the move up in the table; an illegal one raises a readable domain error.

    None is a legal answer: back to the state a client's reply interrupted.
    """
    try:
        return TRANSITIONS[(state, signal)]
    except KeyError:
        raise IllegalTransition(state.value, signal.value, _HINTS.get(signal)) from None


def counts_for_clinician(event: Event) -> bool:
    """Sessions with another provider, and cancellations that are not the client's doing
    (by the provider, a deleted appointment, a reschedule), never move this episode."""
    if event.provider:
        return False
    return event.cancellation in (None, Cancellation.CLIENT)


def is_return(
    state: State, closure: Closure | None, kind: EventKind, event: Event | None = None
) -> bool:
    """A discharged (or goals-met) client who books or writes again is re-opened as active."""
    if kind not in _CONTACT_KINDS:
        return False
    if event is not None and not counts_for_clinician(event):
        return False
    if state is State.DISCHARGED:
        return True
    return state is State.CLOSED and closure in (Closure.ARCHIVED, Closure.MET_GOALS)


@dataclass(frozen=True)
class DueStep:
    """One thing to say. `key` names the step within the episode; `attempt` counts re-nudges."""

    key: str
    kind: StepKind
    recipient: Recipient
    due_at: datetime
    attempt: int = 0
    number: int | None = None  # check-in number
    origin_due_at: datetime | None = None  # an escalation: when the late step was first due
    final: bool = False  # the closing check-in

    @property
    def idempotency_suffix(self) -> str:
        return f"{self.key}:{self.attempt}"


@dataclass(frozen=True)
class Assessment:
    """The policy's answer for one episode at one instant."""

    state: State
    trigger: Trigger | None
    closure: Closure | None
    reasons: tuple[str, ...]
    due: tuple[DueStep, ...]
    next: DueStep | None
    last_contact_at: datetime | None
    last_session_at: datetime | None
    checkins_sent: int
    checkin_dates: tuple[datetime, ...]
    missed_run: int
    outreach_started_at: datetime | None
    inactive_at: datetime | None
    checklist: ChecklistStatus
    booked_session_at: datetime | None
    bookings: tuple[datetime, ...]
    next_checkin_number: int | None = None  # None once the closing check-in is documented
    held_by_booking: datetime | None = None  # outreach waits for this session's outcome
    other_sessions: tuple[tuple[datetime, str], ...] = ()  # (when, provider) not this clinician's
    discharge_reason: str | None = None  # why the checklist was opened before the criteria
    checkin_numbers: tuple[int, ...] = ()
    paused_until: datetime | None = None
    #: The manual admin notes as the history gave them (shared, not copied) and those among
    #: the events (a note being added): `note_dates` is worked out from them when asked for.
    #: No state or step depends on a note, so a change that lists no efforts does no work
    #: per note: a client's thousandth note costs what the first did.
    notes_written: tuple[tuple[int | str, datetime], ...] = field(default=(), repr=False)
    notes_in_events: tuple[tuple[int | str, datetime], ...] = field(default=(), repr=False)
    as_of: datetime | None = None

    @cached_property
    def note_dates(self) -> tuple[datetime, ...]:
        """When each manual admin note (an effort to re-engage) was written, oldest first,
        up to the assessment's instant; a note given both ways counts once."""
        written = self.notes_written
        if self.notes_in_events:
            merged = dict(written)
            for key, at in self.notes_in_events:
                merged.setdefault(key, at)
            dates: Iterable[datetime] = merged.values()
        else:
            dates = (at for _, at in written)
        now = self.as_of
        return tuple(sorted(at for at in dates if now is None or at <= now))

    def checkin_title(self, number: int, total: int) -> str:
        return checkin_title(number, total, attendance=self.trigger is Trigger.ATTENDANCE)

    @property
    def next_due_at(self) -> datetime | None:
        return self.next.due_at if self.next else None


@dataclass
class _Fold:
    policy: Policy
    hours: WorkingHours
    state: State = State.ACTIVE
    trigger: Trigger | None = None
    closure: Closure | None = None
    last_contact: datetime | None = None
    last_session: datetime | None = None
    bookings: set[datetime] = field(default_factory=set)
    missed_run: list[datetime] = field(default_factory=list)
    outreach_started_at: datetime | None = None
    checkins: list[datetime] = field(default_factory=list)
    checkin_numbers: list[int] = field(default_factory=list)
    other_sessions: list[tuple[datetime, str]] = field(default_factory=list)
    discharge_reason: str | None = None
    fresh_start: datetime | None = None  # a return or hand-over: the silence clock starts here
    charted: set[int] = field(default_factory=set)  # check-in numbers whose note is in the chart
    resumed_at: datetime | None = None
    snoozed_until: dict[int, datetime] = field(default_factory=dict)
    reply_at: datetime | None = None
    replies_reviewed: int = 0
    before_reply: State | None = None
    inactive_at: datetime | None = None
    steps_done: dict[ChecklistStep, datetime] = field(default_factory=dict)
    other_providers: bool | None = None
    ended_at: datetime | None = None  # entered a CCT-facing state
    prompts: dict[str, list[datetime]] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    paused_until: datetime | None = None
    #: Manual admin notes (/care note) among the events: one being added.
    notes_in_events: tuple[tuple[int | str, datetime], ...] = ()
    awaiting: bool = False  # handed over, the caseload still names the clinician who left

    # -- time ------------------------------------------------------------------------
    def later(self, instant: datetime, days: int) -> datetime:
        return self.hours.add_days(instant, days)

    def silence_deadline(self, opened_at: datetime) -> datetime:
        anchors = [
            a for a in (self.last_contact, *self.bookings, self.fresh_start) if a is not None
        ]
        return self.later(max(anchors, default=opened_at), self.policy.silence_days)

    # -- check-ins ---------------------------------------------------------------------
    @property
    def attendance(self) -> bool:
        return self.trigger is Trigger.ATTENDANCE

    @property
    def final_sent(self) -> bool:
        return self.policy.checkins in self.checkin_numbers

    def next_checkin_number(self) -> int | None:
        """Which check-in comes next: 1, 2, ... the closing one; on the attendance path the
        closing one follows check-in 1 directly. None once the closing one is documented."""
        total = self.policy.checkins
        if self.final_sent or len(self.checkins) >= total:
            return None
        if not self.checkin_numbers:
            return 1
        if self.trigger is Trigger.ATTENDANCE:
            return total
        return min(max(self.checkin_numbers) + 1, total)

    def hold(self) -> datetime | None:
        """A booked session holds outreach and the checklist until its outcome arrives; one
        whose outcome is never reported stops holding `silence_days` after its date."""
        return max(self.bookings, default=None)

    def hold_ends(self) -> datetime | None:
        booked = self.hold()
        return self.later(booked, self.policy.silence_days) if booked else None

    def inactive_deadline(self) -> datetime | None:
        if not self.checkins:
            return None
        window_ends = self.later(self.checkins[-1], self.policy.reply_window_days)
        held = self.hold_ends()
        if held is not None and held > window_ends:
            window_ends = held
        if self.trigger is Trigger.ATTENDANCE:
            return window_ends if self.final_sent else None
        if len(self.checkins) < self.policy.checkins:
            return None
        anchor = self.last_contact or self.outreach_started_at or self.checkins[0]
        return max(self.later(anchor, 7 * self.policy.no_reply_weeks), window_ends)

    def move(self, signal: Signal, at: datetime, reason: str | None = None) -> State:
        before = self.state
        target = next_state(self.state, signal) or self.before_reply or State.OUTREACH
        if target is State.REPLY_REVIEW and before is not State.REPLY_REVIEW:
            self.before_reply = before
            self.reply_at = at
        self.state = target
        if reason:
            self.reasons.append(f"{_day(at)}: {reason}")
        return before

    def run_clock(self, until: datetime, opened_at: datetime, *, inclusive: bool = True) -> None:
        """Apply the rules that fire by themselves, up to `until` (or just before it)."""

        def reached(deadline: datetime) -> bool:
            return deadline <= until if inclusive else deadline < until

        while True:
            if self.state is State.ACTIVE and not self.awaiting:
                deadline = self.silence_deadline(opened_at)
                if reached(deadline):
                    self.trigger = Trigger.SILENCE
                    self.outreach_started_at = deadline
                    days = self.policy.silence_days
                    self.move(
                        Signal.SILENCE_ELAPSED,
                        deadline,
                        f"no client contact for {days} days and no session booked: outreach starts",
                    )
                    continue
            elif self.state is State.OUTREACH:
                inactive = self.inactive_deadline()
                if inactive is not None and reached(inactive):
                    self.inactive_at = inactive
                    self.move(Signal.NO_REPLY_ELAPSED, inactive, _inactive_reason(self))
                    continue
            return

    # -- events ----------------------------------------------------------------------
    def apply(self, event: Event) -> None:
        at = event.at
        kind = event.kind
        if kind in SESSION_KINDS and not counts_for_clinician(event):
            self._not_ours(event)
        elif kind in (EventKind.SESSION_ATTENDED, EventKind.SESSION_SCHEDULED):
            self._contact(at)
            if kind is EventKind.SESSION_ATTENDED:
                self.missed_run.clear()
                if self.last_session is None or at > self.last_session:
                    self.last_session = at
                self._consume_booking(event.session_at or at)
                self._leave_outreach(at, "attended a session", event.learned_at)
            else:
                self._booked(event)
        elif kind is EventKind.CLIENT_MESSAGE:
            self._contact(at)
            if self.state in (State.OUTREACH, State.PAUSED, State.INACTIVE):
                self.move(Signal.MESSAGE, at, "the client replied: outreach stops until reviewed")
            else:
                self.move(Signal.MESSAGE, at)
        elif kind in MISSED:
            self._consume_booking(
                event.session_at or at,
                ahead=event.session_at is None and kind is EventKind.SESSION_CANCELLED,
            )
            self.missed_run.append(at)
            word = "cancelled" if kind is EventKind.SESSION_CANCELLED else "no-show"
            self.move(Signal.MISSED, at, f"session {word} ({len(self.missed_run)} in a row)")
            run_complete = len(self.missed_run) >= self.policy.consecutive_missed
            if (
                run_complete
                and self.trigger is not Trigger.ATTENDANCE
                and self.state in (State.ACTIVE, State.OUTREACH, State.PAUSED)
            ):
                if self.state is State.ACTIVE:
                    self.outreach_started_at = at
                self.trigger = Trigger.ATTENDANCE
                self.move(
                    Signal.MISSED_RUN,
                    at,
                    f"{len(self.missed_run)} consecutive cancellations/no-shows: inactive by "
                    "attendance, a check-in is due now",
                )
        elif kind is EventKind.OUTREACH_STARTED:
            self.move(Signal.START_OUTREACH, at, "outreach started by the clinician")
            self.trigger = Trigger.MANUAL
            self.outreach_started_at = at
        elif kind is EventKind.CHECKIN_SENT:
            number = self.next_checkin_number()
            if number is None:
                raise IllegalTransition(
                    self.state.value,
                    Signal.CHECKIN_SENT.value,
                    "The closing check-in is already documented.",
                )
            self.move(Signal.CHECKIN_SENT, at)
            self.checkins.append(at)
            self.checkin_numbers.append(number)
            self.reasons.append(
                f"{_day(at)}: "
                f"{checkin_title(number, self.policy.checkins, attendance=self.attendance).lower()}"
                " documented"
            )
        elif kind is EventKind.NOTE_IN_CHART:
            if event.number is not None:
                self.charted.add(event.number)
        elif kind is EventKind.SNOOZED:
            self.move(Signal.SNOOZE, at)
            if event.until is not None:
                self.snoozed_until[len(self.checkins) + 1] = event.until
        elif kind is EventKind.OUTREACH_PAUSED:
            self.move(Signal.PAUSE, at, "outreach paused by the clinician")
            self.paused_until = event.until
        elif kind is EventKind.OUTREACH_RESUMED:
            self.move(Signal.RESUME, at, "outreach resumed")
            self.resumed_at = at
        elif kind is EventKind.DISCHARGE_OPENED:
            self.move(Signal.OPEN_DISCHARGE, at, "discharge checklist opened by the clinician")
            self.inactive_at = at
            self.discharge_reason = event.label
        elif kind is EventKind.CLASSIFIED:
            self._classify(event)
        elif kind is EventKind.STEP_COMPLETED:
            self._step(event)
        elif kind is EventKind.CCT_DONE:
            before = self.move(Signal.CCT_DONE, at, "CCT marked its part done")
            self.closure = {
                State.DISCHARGED: Closure.ARCHIVED,
                State.CARE_TEAM_REMOVAL: Closure.CARE_TEAM_REMOVED,
                State.REMATCH: Closure.REMATCHED,
            }[before]
        elif kind is EventKind.PROMPTED:
            self.move(Signal.PROMPTED, at)
            if event.prompt:
                self.prompts.setdefault(event.prompt, []).append(at)
        else:  # the episode marker changes nothing (admin notes never get here: INERT_KINDS)
            self.move(Signal.NOTE, at)

    def _contact(self, at: datetime) -> None:
        if self.last_contact is None or at > self.last_contact:
            self.last_contact = at

    def checklist(self) -> ChecklistStatus:
        in_chart = sum(1 for n in self.checkin_numbers if n in self.charted)
        return checklist_status(
            self.steps_done, checkins_documented=in_chart, checkins_sent=len(self.checkins)
        )

    def _consume_booking(self, session_at: datetime, *, ahead: bool = False) -> None:
        """An outcome settles its booking: the one at that time, else the earliest one due
        by then (a platform that reports outcomes without the booked time); a cancellation
        without its session's time (`ahead`) settles the earliest booking."""
        if session_at in self.bookings:
            self.bookings.discard(session_at)
            return
        limit = session_at + timedelta(days=1)
        due = [b for b in self.bookings if ahead or b <= limit]
        if due:
            self.bookings.discard(min(due))

    def _not_ours(self, event: Event) -> None:
        """Recorded, never moving this clinician's episode (and never a miss)."""
        if event.kind is not EventKind.SESSION_SCHEDULED:
            self._consume_booking(
                event.session_at or event.at,
                ahead=event.session_at is None and event.kind is EventKind.SESSION_CANCELLED,
            )
        if event.moved_to is not None and event.moved_to > event.at and not event.provider:
            self.bookings.add(event.moved_to)  # a reschedule moves the booking in one step
        if event.provider:
            if event.kind is EventKind.SESSION_ATTENDED:
                self.other_sessions.append((event.at, event.provider))
            why = "a session with another provider"
        else:
            why = {
                Cancellation.PROVIDER: "session cancelled by the provider (not a miss)",
                Cancellation.DELETED: "appointment deleted (not a miss)",
                Cancellation.RESCHEDULED: "session rescheduled (neither a miss nor a contact)",
            }[event.cancellation or Cancellation.CLIENT]
        self.move(Signal.NOTE, event.at, why)

    def _booked(self, event: Event) -> None:
        at = event.at
        if event.session_at is not None and event.session_at > at:
            self.bookings.add(event.session_at)
        if (
            self.state is State.OUTREACH
            and self.trigger is Trigger.SILENCE
            and not self.checkins
            and self.silence_deadline(at) > event.learned_at
        ):
            self.move(Signal.STALE_OUTREACH, at, "the client booked a session (reported late)")
            self.trigger = None
            self.outreach_started_at = None
            return
        if self.state in _OUTREACH_LIKE:
            self.move(
                Signal.BOOKED,
                at,
                "the client booked a session: outreach waits for that session's outcome",
            )
        else:
            self.move(Signal.BOOKED, at)

    def _leave_outreach(self, at: datetime, what: str, known_at: datetime) -> None:
        if (
            self.state is State.OUTREACH
            and self.trigger is Trigger.SILENCE
            and not self.checkins
            and self.silence_deadline(at) > known_at
        ):
            # Outreach began on stale facts (the contact was reported late) and nothing has
            # been sent yet: quietly go back to active with the silence clock where it belongs.
            self.move(Signal.STALE_OUTREACH, at, f"the client {what} (reported late)")
            self.trigger = None
            self.outreach_started_at = None
            return
        if self.state in _OUTREACH_LIKE:
            self.move(Signal.CONTACT, at, f"the client {what}: outreach stops, back to active care")
            self.closure = Closure.REENGAGED
        else:
            self.move(Signal.CONTACT, at)

    def _classify(self, event: Event) -> None:
        choice = event.classification or Classification.OTHER
        signal = Signal(choice.value)
        words = {
            Classification.CONTINUING: "reply classified: continuing care",
            Classification.MET_GOALS: "reply classified: met their goals (Discharge - Completed)",
            Classification.FIT_CONCERN: "reply classified: fit concern, CCT asked for a rematch",
            Classification.OTHER: "reply reviewed: outreach carries on from where it was",
        }
        self.move(signal, event.at, words[choice])
        self.replies_reviewed += 1
        self.reply_at = None
        if choice is Classification.CONTINUING:
            self.closure = Closure.CONTINUING
        elif choice is Classification.MET_GOALS:
            self.closure = Closure.MET_GOALS
        elif choice is Classification.FIT_CONCERN:
            self.ended_at = event.at
        elif choice is Classification.OTHER and self.state is State.OUTREACH:
            self.resumed_at = event.at

    def _step(self, event: Event) -> None:
        step = event.step
        if step is None:
            raise ValueError("a step_completed event needs its step")
        if step is ChecklistStep.OTHER_PROVIDERS and event.answer == "yes":
            self.steps_done[step] = event.at
            self.other_providers = True
            self.ended_at = event.at
            self.move(
                Signal.OTHER_PROVIDERS,
                event.at,
                "still seen by other providers: CCT removes the clinician from the care team",
            )
            return
        self.move(Signal.STEP, event.at, f"checklist: {step.value.replace('_', ' ')} done")
        self.steps_done[step] = event.at
        if step is ChecklistStep.ATTEMPTS_DOCUMENTED and event.label:
            confirmed = (
                "Re-engagement attempts confirmed with no check-in documented. "
                f"Reason given: {event.label}"
            )
            earlier = self.discharge_reason
            self.discharge_reason = f"{_sentence(earlier)} {confirmed}" if earlier else confirmed
        if step is ChecklistStep.OTHER_PROVIDERS:
            self.other_providers = False
        status = self.checklist()
        if self.state is State.INACTIVE and status.complete:
            self.ended_at = event.at
            self.move(
                Signal.CHECKLIST_DONE,
                event.at,
                "checklist complete: CCT is asked for its chart check and archive",
            )


def unmet_criteria(
    a: Assessment, policy: Policy, zone_date: Callable[[datetime], str]
) -> tuple[str, ...]:
    """What the guide's criteria still lack, in words for the clinician, when the checklist
    is opened by hand (`/care discharge`); empty when they are met. `zone_date` writes a
    date in the clinician's zone."""
    if a.state in (State.INACTIVE, State.DISCHARGED, State.CLOSED):
        return ()
    unmet: list[str] = []
    if a.trigger is Trigger.ATTENDANCE:
        if policy.checkins not in a.checkin_numbers:
            unmet.append(
                f"the final check-in isn't documented yet ({a.checkins_sent} of 2 check-ins "
                "documented on the attendance path)"
            )
    else:
        if a.checkins_sent < policy.checkins:
            unmet.append(f"only {a.checkins_sent} of {policy.checkins} check-ins documented")
        if a.missed_run < policy.consecutive_missed and a.last_contact_at is not None:
            unmet.append(f"last contact was {zone_date(a.last_contact_at)}")
    if a.bookings:
        unmet.append(f"a session is booked for {zone_date(a.bookings[0])}")
    if a.state is State.REPLY_REVIEW:
        unmet.append("the client's reply hasn't been reviewed")
    return tuple(unmet) or ("the guide's waiting time hasn't passed",)


def _day(at: datetime) -> str:
    return at.strftime("%Y-%m-%d")


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else f"{text}."


def checkin_title(number: int, total: int, *, attendance: bool = False) -> str:
    """How prompts, App Home and the chart name a check-in: the closing one is "Final";
    on the attendance path only check-in 1 and the final one are sent ("1 of 2")."""
    if number >= total:
        return "Final check-in"
    if attendance:
        return f"Check-in {number} of 2"
    return f"Check-in {number} of {total}"


def _inactive_reason(fold: _Fold) -> str:
    if fold.trigger is Trigger.ATTENDANCE:
        return (
            f"inactive by attendance and the final check-in had {fold.policy.reply_window_days} "
            "days without an answer: the discharge checklist opens"
        )
    return (
        f"{fold.policy.checkins} check-ins sent and no reply for {fold.policy.no_reply_weeks}+ "
        "weeks: inactive by communication, the discharge checklist opens"
    )


#: Events that change nothing about an episode's state: the fold skips them, so a store may
#: leave them out of the events it loads. Admin notes are efforts all the same: their dates
#: come in `EpisodeHistory.notes` (a store reads them apart, two columns).
INERT_KINDS: frozenset[EventKind] = frozenset({EventKind.ADMIN_NOTE})


def _ordered(events: Iterable[Event]) -> list[Event]:
    # In the order the bot learned them (stable for ties): a session reported late is news
    # when it arrives, while its own date still moves the silence clock.
    return sorted((e for e in events if e.kind not in INERT_KINDS), key=lambda e: e.learned_at)


def fold(history: EpisodeHistory, policy: Policy, hours: WorkingHours, now: datetime) -> _Fold:
    f = _Fold(policy=policy, hours=hours, last_contact=history.baseline_contact_at)
    if history.opened_reason in _FRESH_START:
        f.fresh_start = history.opened_at
    f.last_session = history.baseline_session_at
    f.awaiting = history.awaiting_assignment
    f.bookings.update(b for b in history.booked_sessions)
    if history.baseline_contact_at:
        f.reasons.append(f"{_day(history.baseline_contact_at)}: last client contact on record")
    f.notes_in_events = tuple(
        (note_key(e.label), e.at)
        for e in history.events
        if e.kind is EventKind.ADMIN_NOTE and e.label and e.label.startswith("note")
    )
    for event in _ordered(history.events):
        if event.learned_at > now:
            break
        # A contact at the very deadline wins over it; anything else comes after it.
        f.run_clock(event.learned_at, history.opened_at, inclusive=event.kind not in _CONTACT_KINDS)
        f.apply(event)
    f.run_clock(now, history.opened_at)
    return f


def assess(
    history: EpisodeHistory, policy: Policy, hours: WorkingHours, now: datetime
) -> Assessment:
    """The state of one episode at `now`, why, and what is due (now and next)."""
    f = fold(history, policy, hours, now)
    steps = _steps(f, history, policy, hours)
    due = tuple(s for s in steps if s.due_at <= now)
    later = [s for s in steps if s.due_at > now]
    upcoming = min(later, key=lambda s: s.due_at) if later else None
    live_bookings = sorted(b for b in f.bookings if b > now)
    return Assessment(
        state=f.state,
        trigger=f.trigger,
        closure=f.closure,
        reasons=tuple(f.reasons),
        due=due,
        next=upcoming,
        last_contact_at=f.last_contact,
        last_session_at=f.last_session,
        checkins_sent=len(f.checkins),
        checkin_dates=tuple(f.checkins),
        missed_run=len(f.missed_run),
        outreach_started_at=f.outreach_started_at,
        inactive_at=f.inactive_at,
        checklist=f.checklist(),
        booked_session_at=live_bookings[0] if live_bookings else None,
        bookings=tuple(live_bookings),
        next_checkin_number=f.next_checkin_number()
        if f.state in (State.ACTIVE, State.OUTREACH, State.PAUSED)
        else None,
        held_by_booking=f.hold() if f.state in _OUTREACH_LIKE and f.hold() else None,
        other_sessions=tuple(f.other_sessions),
        discharge_reason=f.discharge_reason,
        checkin_numbers=tuple(f.checkin_numbers),
        notes_written=history.notes,
        notes_in_events=f.notes_in_events,
        as_of=now,
        paused_until=f.paused_until if f.state is State.PAUSED else None,
    )


def _steps(f: _Fold, history: EpisodeHistory, policy: Policy, hours: WorkingHours) -> list[DueStep]:
    steps: list[DueStep] = []

    def once(
        key: str,
        kind: StepKind,
        recipient: Recipient,
        at: datetime,
        *,
        origin: datetime | None = None,
    ) -> None:
        if key in f.prompts:
            return
        due = hours.next_open(at) if recipient is Recipient.CLINICIAN else at
        steps.append(DueStep(key, kind, recipient, due, origin_due_at=origin))

    def nudged(
        key: str,
        kind: StepKind,
        base: datetime,
        *,
        since: datetime | None = None,
        progress: datetime | None = None,
        number: int | None = None,
    ) -> None:
        """A clinician prompt at `base`, re-nudged while unanswered, then escalated to CCT.

        `since` forgets prompts before a snooze, a resume or the start of this outreach;
        `progress` (a checklist step done) restarts the patience but not the count.
        """
        every = f.prompts.get(key, [])
        origin = hours.next_open(base)
        sent = [p for p in every if since is None or p >= since]
        # The attempt counts every prompt of the key, also those a snooze made us forget:
        # key + attempt is the outbox's idempotency key and must never repeat.
        attempt = len(every)
        final = number is not None and number == policy.checkins
        if not sent:
            steps.append(
                DueStep(key, kind, Recipient.CLINICIAN, origin, attempt, number, origin, final)
            )
            return
        last = max([*sent, progress] if progress else sent)
        if len(sent) <= policy.max_nudges:
            due = hours.next_open(f.later(last, policy.nudge_after_days))
            steps.append(
                DueStep(key, kind, Recipient.CLINICIAN, due, attempt, number, origin, final)
            )
        else:
            once(
                f"{key}-escalation",
                StepKind.CCT_ESCALATION,
                Recipient.CCT,
                max(
                    f.later(last, policy.nudge_after_days),
                    f.later(base, policy.escalate_after_days),
                ),
                origin=origin,
            )

    if f.state is not State.CLOSED and history.opened_reason in (
        OpenReason.REENGAGED,
        OpenReason.RETURNED,
        OpenReason.HANDED_OVER,
    ):
        kind = (
            StepKind.REENGAGED_NOTICE
            if history.opened_reason is OpenReason.REENGAGED
            else StepKind.RETURNED_NOTICE
        )
        once(f"notice-{history.opened_reason.value}", kind, Recipient.CLINICIAN, history.opened_at)

    state = f.state
    if f.awaiting:
        return []
    if state is State.ACTIVE:
        steps.append(
            DueStep(
                "checkin-1",
                StepKind.CHECKIN,
                Recipient.CLINICIAN,
                hours.next_open(f.silence_deadline(history.opened_at)),
                0,
                1,
            )
        )
    elif state is State.OUTREACH:
        deadline = f.inactive_deadline()
        number = f.next_checkin_number()
        if number is not None:
            base = f.outreach_started_at or history.opened_at
            if f.checkins:
                base = f.later(f.checkins[-1], policy.outreach_interval_days)
            if f.resumed_at and f.resumed_at > base:
                base = f.resumed_at
            snooze = f.snoozed_until.get(len(f.checkins) + 1)
            if snooze is not None and snooze > base:
                base = snooze
            held = f.hold_ends()
            if held is not None and held > base:
                base = held  # a booked session holds outreach until its outcome
            # On the attendance path the checklist opens instead of a later check-in.
            if deadline is None or base < deadline:
                # Prompts from before this outreach began, a resume or a snooze are history:
                # the patience (and the way to escalation) starts again from there.
                restarts = (snooze, f.resumed_at, f.outreach_started_at)
                since = max((t for t in (*restarts, f.hold()) if t is not None), default=None)
                nudged(f"checkin-{number}", StepKind.CHECKIN, base, since=since, number=number)
        if deadline is not None:
            due = hours.next_open(deadline)
            steps.append(DueStep("checklist", StepKind.CHECKLIST, Recipient.CLINICIAN, due))
    elif state is State.REPLY_REVIEW and f.reply_at is not None:
        nudged(f"classify-{f.replies_reviewed + 1}", StepKind.CLASSIFY_REPLY, f.reply_at)
    elif state is State.INACTIVE and f.inactive_at is not None:
        progress = max(f.steps_done.values(), default=None)
        held = f.hold_ends()
        if held is not None:  # a booked session: the checklist waits for its outcome
            progress = max(progress or held, held)
        nudged("checklist", StepKind.CHECKLIST, f.inactive_at, progress=progress)
    elif state is State.PAUSED and f.paused_until is not None:
        once(
            f"pause-ends-{len(f.checkins)}",
            StepKind.PAUSE_ENDS,
            Recipient.CLINICIAN,
            f.paused_until,
        )
    elif state is State.CARE_TEAM_REMOVAL and f.ended_at is not None:
        once("cct-care-team-removal", StepKind.CCT_CARE_TEAM_REMOVAL, Recipient.CCT, f.ended_at)
    elif state is State.REMATCH and f.ended_at is not None:
        once("cct-rematch", StepKind.CCT_REMATCH, Recipient.CCT, f.ended_at)
    elif state is State.DISCHARGED and f.ended_at is not None:
        once("cct-archive", StepKind.CCT_ARCHIVE, Recipient.CCT, f.ended_at)
    return steps

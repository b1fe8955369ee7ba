"""A pure stand-in for the services: histories built the way the bot builds them.

Platform events and clinician actions arrive at increasing instants; the policy is asked
first and a refused action is dropped (the service would show the refusal and write
nothing); closures that hand over (`SUCCESSOR`) and returns open a new episode; after every
accepted event the tick runs at that instant and records a PROMPTED event per due step.
Every assessment made on the way is kept, so property tests can check each of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.calendar import WorkingHours
from bot.domain.checklist import check_can_complete
from bot.domain.errors import DomainError
from bot.domain.model import (
    ChecklistStep,
    Classification,
    EpisodeHistory,
    Event,
    EventKind,
    OpenReason,
    Policy,
    State,
)
from bot.domain.policy import SUCCESSOR, Assessment, assess, is_return


class Act(StrEnum):
    ATTENDED = "attended"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    SCHEDULED = "scheduled"
    MESSAGE = "message"
    CHECKIN = "checkin"
    PAUSE = "pause"
    RESUME = "resume"
    SNOOZE = "snooze"
    CLASSIFY = "classify"
    STEP = "step"
    CCT_DONE = "cct_done"
    START_OUTREACH = "start_outreach"
    OPEN_DISCHARGE = "open_discharge"
    NOTE = "note"
    FOLLOW = "follow"  # do what the bot is asking for right now
    WAIT_FOR_NEXT = "wait_for_next"  # let the clock run to the next due step and tick


PLATFORM_ACTS = (Act.ATTENDED, Act.CANCELLED, Act.NO_SHOW, Act.SCHEDULED, Act.MESSAGE)


@dataclass(frozen=True)
class Move:
    """One generated step of a run: wait `gap`, then do `act` (with a few knobs)."""

    gap: timedelta
    act: Act
    lag: timedelta = timedelta(0)  # how late the platform reports a session or message
    ahead: timedelta = timedelta(days=7)  # how far ahead a booking is
    classification: Classification = Classification.OTHER
    checklist_step: ChecklistStep = ChecklistStep.NOTES_SIGNED
    answer: str = "no"
    snooze_days: int = 3
    by_platform: bool = False
    in_order: bool = True  # aim a checklist step at the one the checklist asks for


@dataclass(frozen=True)
class Snapshot:
    """One assessment the simulated bot made, with what had been prompted before it."""

    episode: int
    history: EpisodeHistory
    now: datetime
    assessment: Assessment
    prompted_before: frozenset[tuple[str, int]]


@dataclass(frozen=True)
class Accepted:
    """An event the policy accepted, with the episode's state before and after it."""

    episode: int
    event: Event
    before: State
    after: State


@dataclass
class Simulation:
    policy: Policy
    hours: WorkingHours
    now: datetime
    episodes: list[EpisodeHistory] = field(default_factory=list)
    prompted: list[set[tuple[str, int]]] = field(default_factory=list)
    snapshots: list[Snapshot] = field(default_factory=list)
    accepted: list[Accepted] = field(default_factory=list)
    refused: list[tuple[Act, str]] = field(default_factory=list)

    # -- the service's moves -----------------------------------------------------------
    @property
    def current(self) -> EpisodeHistory:
        return self.episodes[-1]

    def open(
        self,
        reason: OpenReason,
        baseline: datetime | None,
        bookings: tuple[datetime, ...] = (),
    ) -> None:
        marker = Event(EventKind.EPISODE_OPENED, self.now, label=reason.value, known_at=self.now)
        self.episodes.append(
            EpisodeHistory(
                opened_at=self.now,
                baseline_contact_at=baseline,
                opened_reason=reason,
                events=(marker,),
                booked_sessions=bookings,
            )
        )
        self.prompted.append(set())

    def assess(self, history: EpisodeHistory | None = None) -> Assessment:
        return assess(history or self.current, self.policy, self.hours, self.now)

    def observe(self) -> Assessment:
        a = self.assess()
        self.snapshots.append(
            Snapshot(
                len(self.episodes) - 1,
                self.current,
                self.now,
                a,
                frozenset(self.prompted[-1]),
            )
        )
        return a

    def submit(self, event: Event) -> bool:
        """Record one event as `Episodes.apply` does; False when the policy refuses it."""
        event = replace(event, known_at=self.now)
        current = self.assess()
        if is_return(current.state, current.closure, event.kind, event):
            self.open(OpenReason.RETURNED, current.last_contact_at, current.bookings)
            current = self.assess()
        extended = replace(self.current, events=(*self.current.events, event))
        after = assess(extended, self.policy, self.hours, self.now)  # may raise DomainError
        self.episodes[-1] = extended
        self.accepted.append(Accepted(len(self.episodes) - 1, event, current.state, after.state))
        successor = SUCCESSOR.get(after.closure) if after.closure else None
        if after.state is State.CLOSED and successor is not None:
            self.open(successor, after.last_contact_at, after.bookings)
        self.tick()
        return True

    def tick(self) -> None:
        """One scheduler pass at `now`: every due step is prompted once (one round)."""
        a = self.observe()
        for due in a.due:
            self.prompted[-1].add((due.key, due.attempt))
            self.episodes[-1] = replace(
                self.current,
                events=(
                    *self.current.events,
                    Event(
                        EventKind.PROMPTED,
                        self.now,
                        prompt=due.key,
                        number=due.number,
                        known_at=self.now,
                    ),
                ),
            )
        if a.due:
            self.observe()

    # -- a generated run -----------------------------------------------------------------
    def play(self, move: Move) -> None:
        if move.act is Act.WAIT_FOR_NEXT:
            upcoming = self.assess().next
            if upcoming is not None:
                self.now = max(self.now, upcoming.due_at) + move.gap % timedelta(hours=2)
            self.tick()
            return
        self.now += move.gap
        try:
            event = self.event_for(move)
            if event is None:
                self.tick()  # nothing to do: the scheduler still runs at this instant
            else:
                self.submit(event)
        except DomainError as refusal:
            self.refused.append((move.act, str(refusal)))
            self.tick()

    def event_for(self, move: Move) -> Event | None:
        now = self.now
        act: Act | None = move.act
        if act is Act.FOLLOW:
            act = self.what_is_asked()
        if act is None:
            return None
        if act in PLATFORM_ACTS and act is not Act.SCHEDULED:
            kind = {
                Act.ATTENDED: EventKind.SESSION_ATTENDED,
                Act.CANCELLED: EventKind.SESSION_CANCELLED,
                Act.NO_SHOW: EventKind.SESSION_NO_SHOW,
                Act.MESSAGE: EventKind.CLIENT_MESSAGE,
            }[act]
            return Event(kind, now - move.lag)
        if act is Act.SCHEDULED:
            return Event(EventKind.SESSION_SCHEDULED, now, session_at=now + move.ahead)
        if act is Act.CHECKIN:
            return Event(EventKind.CHECKIN_SENT, now, number=self.assess().checkins_sent + 1)
        if act is Act.SNOOZE:
            return Event(EventKind.SNOOZED, now, until=now + timedelta(days=move.snooze_days))
        if act is Act.CLASSIFY:
            return Event(EventKind.CLASSIFIED, now, classification=move.classification)
        if act is Act.STEP:
            return self.checklist_event(move.checklist_step, move.answer, move.by_platform)
        return Event(
            {
                Act.PAUSE: EventKind.OUTREACH_PAUSED,
                Act.RESUME: EventKind.OUTREACH_RESUMED,
                Act.CCT_DONE: EventKind.CCT_DONE,
                Act.START_OUTREACH: EventKind.OUTREACH_STARTED,
                Act.OPEN_DISCHARGE: EventKind.DISCHARGE_OPENED,
                Act.NOTE: EventKind.ADMIN_NOTE,
            }[act],
            now,
        )

    def checklist_event(self, which: ChecklistStep, answer: str, by_platform: bool) -> Event:
        current = self.assess()
        if current.state is State.INACTIVE:  # as Checklist.complete_step checks the order
            check_can_complete(current.checklist, which, by_platform=by_platform)
        chosen = answer if which is ChecklistStep.OTHER_PROVIDERS else None
        return Event(EventKind.STEP_COMPLETED, self.now, step=which, answer=chosen)

    def what_is_asked(self) -> Act | None:
        a = self.assess()
        if a.state is State.OUTREACH:
            return Act.CHECKIN
        if a.state is State.REPLY_REVIEW:
            return Act.CLASSIFY
        if a.state in (State.CARE_TEAM_REMOVAL, State.REMATCH, State.DISCHARGED):
            return Act.CCT_DONE
        if a.state is State.PAUSED:
            return Act.RESUME
        if a.state is State.INACTIVE:
            return Act.STEP
        return None


def run(
    policy: Policy,
    hours: WorkingHours,
    start: datetime,
    moves: list[Move],
    *,
    silent_for: timedelta = timedelta(days=2),
    booking_in: timedelta | None = None,
) -> Simulation:
    """Import one client (last contact `silent_for` before `start`) and play the moves."""
    sim = Simulation(policy, hours, start)
    bookings = (start + booking_in,) if booking_in is not None else ()
    sim.open(OpenReason.IMPORTED, start - silent_for, bookings)
    sim.tick()
    for move in moves:
        if move.in_order and move.act in (Act.STEP, Act.FOLLOW):
            wanted = sim.assess().checklist.next_step
            if wanted is not None:
                move = replace(move, checklist_step=wanted)
        sim.play(move)
    return sim
